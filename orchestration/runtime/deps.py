"""What a platform function works with (`Runtime`), built once per container from its environment.

On AWS, `lambda_handler(fn)` builds it from `os.environ` and boto3 on the first invocation; the
local runtime and the CloudFormation-on-moto adapter build it with `build_runtime` (or directly)
and call the same library functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.artifacts import ArtifactStore
from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger
from orchestration.loader import load_workflow
from orchestration.model import Workflow
from orchestration.runtime.registry import Env, PlatformFunction

Handler = Callable[[Any], Any]
LambdaHandler = Callable[[Any, Any], Any]
ClientFactory = Callable[[str], Any]  # service name -> boto3 client


@dataclass
class Runtime:
    """Everything a platform function may need; each function uses its own part (see the registry)."""

    ledger: RunLedger
    artifacts: ArtifactStore | None = None
    workflow: Workflow | None = None
    stepfunctions: Any = None
    sns: Any = None
    state_machine_arn: str | None = None
    alert_topic_arn: str | None = None
    state_machines: dict[str, str] = field(default_factory=dict)  # state machine name -> workflow
    definition_hash: str | None = None

    def need_workflow(self) -> Workflow:
        if self.workflow is None:
            raise OrchestrationError("this function was started without a workflow: set its ORCH_WORKFLOW_FILE")
        return self.workflow

    def need_artifacts(self) -> ArtifactStore:
        if self.artifacts is None:
            raise OrchestrationError("this function was started without an artifact bucket: set ORCH_ARTIFACT_BUCKET")
        return self.artifacts

    def workflow_hash(self) -> str:
        """Hash of the workflow's compiled definition (what a run records), computed once."""
        if self.definition_hash is None:
            self.definition_hash = definition_hash(to_json(compile_workflow(self.need_workflow())))
        return self.definition_hash


def build_runtime(fn: PlatformFunction, env: Mapping[str, str], client: ClientFactory) -> Runtime:
    """The Runtime of platform function `fn` from its environment variables and a client factory."""
    missing = [k for k in fn.env if not env.get(k)]
    if missing:
        raise OrchestrationError(f"environment variable(s) {', '.join(missing)} not set on the {fn.name} function")
    clients = {name: client(name) for name in fn.clients}
    workflow = None
    if fn.loads_workflow:
        root = Path(env.get(Env.TASK_ROOT, "."))
        workflow = load_workflow(root / env[Env.WORKFLOW_FILE], env.get(Env.WORKFLOW))
    bucket = env.get(Env.ARTIFACT_BUCKET)
    return Runtime(
        ledger=RunLedger(env[Env.LEDGER_TABLE], clients["dynamodb"]),
        artifacts=ArtifactStore(bucket, clients["s3"]) if bucket and "s3" in clients else None,
        workflow=workflow,
        stepfunctions=clients.get("stepfunctions"),
        sns=clients.get("sns"),
        state_machine_arn=env.get(Env.STATE_MACHINE_ARN) or None,
        alert_topic_arn=env.get(Env.ALERT_TOPIC_ARN) or None,
        state_machines=json.loads(env.get(Env.STATE_MACHINES) or "{}"),
    )


def bind(fn: PlatformFunction, rt: Runtime) -> Handler:
    """`fn`'s work bound to a runtime: event -> result."""
    run = fn.implementation()
    return lambda event: run(event, rt)


def lambda_handler(fn: PlatformFunction) -> LambdaHandler:
    """The Lambda entry point of `fn`: builds the runtime on the first invocation of a container."""
    run = fn.implementation()  # imported at init, not on the first event
    runtimes: list[Runtime] = []

    def handler(event: Any, context: Any) -> Any:
        if not runtimes:
            import boto3

            runtimes.append(build_runtime(fn, os.environ, boto3.client))
        return run(event, runtimes[0])

    return handler
