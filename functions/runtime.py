"""What every handler needs: the workflow, the run ledger and the artifact store.

On AWS a handler builds it once per container from environment variables; the local runtime
builds it directly and calls the same handler functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.artifacts import ArtifactStore
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger
from orchestration.loader import load_workflow
from orchestration.model import Workflow

ENV_TABLE = "ORCH_LEDGER_TABLE"
ENV_BUCKET = "ORCH_ARTIFACT_BUCKET"
ENV_WORKFLOW_FILE = "ORCH_WORKFLOW_FILE"
ENV_WORKFLOW = "ORCH_WORKFLOW"

logger = Logger(service="orchestration", level=os.environ.get("ORCH_LOG_LEVEL", "INFO"))


@dataclass
class Runtime:
    ledger: RunLedger
    artifacts: ArtifactStore
    workflow: Workflow | None = None
    stepfunctions: Any = None  # boto3 client, used by the join function


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise OrchestrationError(f"environment variable {name} is not set on this function")
    return value


@lru_cache(maxsize=1)
def from_env() -> Runtime:
    import boto3

    workflow = None
    if os.environ.get(ENV_WORKFLOW_FILE):
        root = Path(os.environ.get("LAMBDA_TASK_ROOT", "."))
        workflow = load_workflow(root / os.environ[ENV_WORKFLOW_FILE], os.environ.get(ENV_WORKFLOW))
    return Runtime(
        ledger=RunLedger(_require(ENV_TABLE), boto3.client("dynamodb")),
        artifacts=ArtifactStore(_require(ENV_BUCKET), boto3.client("s3")),
        workflow=workflow,
        stepfunctions=boto3.client("stepfunctions"),
    )
