"""Entry points: a platform function's `Runtime` from its environment, and its Lambda handler.

On AWS, `lambda_handler(fn)` builds the runtime from `os.environ` and boto3 on the first
invocation of a container; the CloudFormation-on-moto adapter builds it with `build_runtime` from
the deployed function's own environment; the local runtime binds functions with `bind`.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from orchestration.artifacts import ArtifactStore
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger
from orchestration.loader import load_workflow
from orchestration.runtime.deps import Runtime
from orchestration.runtime.registry import Env, PlatformFunction

Handler = Callable[[Any], Any]
LambdaHandler = Callable[[Any, Any], Any]
ClientFactory = Callable[[str], Any]  # service name -> boto3 client


def implementation(fn: PlatformFunction) -> Callable[[Any, Runtime], Any]:
    """The library function doing `fn`'s work (imported on demand: each Lambda loads only its own)."""
    module, _, attr = fn.run.partition(":")
    work: Callable[[Any, Runtime], Any] = getattr(importlib.import_module(module), attr)
    return work


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
        pools=json.loads(env.get(Env.POOLS) or "{}"),
    )


def bind(fn: PlatformFunction, rt: Runtime) -> Handler:
    """`fn`'s work bound to a runtime: event -> result."""
    run = implementation(fn)
    return lambda event: run(event, rt)


def lambda_handler(fn: PlatformFunction) -> LambdaHandler:
    """The Lambda entry point of `fn`: builds the runtime on the first invocation of a container."""
    run = implementation(fn)  # imported at init, not on the first event
    runtimes: list[Runtime] = []

    def handler(event: Any, context: Any) -> Any:
        if not runtimes:
            import boto3

            runtimes.append(build_runtime(fn, os.environ, boto3.client))
        return run(event, runtimes[0])

    return handler
