"""What every handler needs: the workflow, the run ledger and the artifact store.

On AWS a handler builds it once per container from environment variables; the local runtime
builds it directly and calls the same handler functions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def runtime_from(env: Mapping[str, str], *, dynamodb: Any, s3: Any, stepfunctions: Any) -> Runtime:
    """Build a Runtime from a function's environment variables and the given boto3 clients."""

    def need(name: str) -> str:
        value = env.get(name)
        if not value:
            raise OrchestrationError(f"environment variable {name} is not set on this function")
        return value

    workflow = None
    if env.get(ENV_WORKFLOW_FILE):
        root = Path(env.get("LAMBDA_TASK_ROOT", "."))
        workflow = load_workflow(root / env[ENV_WORKFLOW_FILE], env.get(ENV_WORKFLOW))
    return Runtime(
        ledger=RunLedger(need(ENV_TABLE), dynamodb),
        artifacts=ArtifactStore(need(ENV_BUCKET), s3),
        workflow=workflow,
        stepfunctions=stepfunctions,
    )


@lru_cache(maxsize=1)
def from_env() -> Runtime:
    """The Runtime of this Lambda container, built once."""
    import boto3

    return runtime_from(
        os.environ,
        dynamodb=boto3.client("dynamodb"),
        s3=boto3.client("s3"),
        stepfunctions=boto3.client("stepfunctions"),
    )
