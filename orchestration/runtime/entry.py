"""Entry points: a platform function's `Runtime` from its environment, and its Lambda handler.

On AWS, `lambda_handler(fn)` builds the runtime from `os.environ` and boto3 on the first
invocation of a container; the CloudFormation-on-moto adapter builds it with `build_runtime` from
the deployed function's own environment; the local runtime binds functions with `bind`.

Both log with the run id as correlation id (`log.correlated`). On Lambda the handler also logs the
Lambda context (cold start, request id), traces the invocation with X-Ray (AWS calls only; neither
the event, the response nor an error's message goes into a trace) and prints its metrics as EMF.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from orchestration.artifacts import ArtifactStore
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger
from orchestration.loader import load_workflow
from orchestration.runtime import metrics
from orchestration.runtime.deps import Runtime
from orchestration.runtime.lineage import target_from_env
from orchestration.runtime.log import correlated, logger
from orchestration.runtime.registry import SERVICE, Env, PlatformFunction, state_machines_of

Handler = Callable[[Any], Any]
LambdaHandler = Callable[[Any, Any], Any]
ClientFactory = Callable[[str], Any]  # service name -> boto3 client
# X-Ray subsegments for AWS SDK calls only: a task's own HTTP calls (URLs may carry data) are not traced.
TRACED_MODULES = ("botocore",)


def implementation(fn: PlatformFunction) -> Callable[[Any, Runtime], Any]:
    """The library function doing `fn`'s work (imported on demand: each Lambda loads only its own)."""
    module, _, attr = fn.run.partition(":")
    work: Callable[[Any, Runtime], Any] = getattr(importlib.import_module(module), attr)
    return work


class LazyClient:
    """A client made on first use: a first invocation makes only the clients it calls (about 50 ms
    each; a task whose outputs stay in the state never makes its S3 client)."""

    def __init__(self, make: ClientFactory, service: str) -> None:
        self._make, self.service = make, service
        self._client: Any = None
        self._lock = threading.Lock()  # boto3's default session must not make clients concurrently

    def __getattr__(self, attr: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make(self.service)
        return getattr(self._client, attr)


def build_runtime(fn: PlatformFunction, env: Mapping[str, str], client: ClientFactory) -> Runtime:
    """The Runtime of platform function `fn` from its environment variables and a client factory
    (each client made on first use)."""
    missing = [k for k in fn.env if not env.get(k)]
    if missing:
        raise OrchestrationError(f"environment variable(s) {', '.join(missing)} not set on the {fn.name} function")
    clients = {name: LazyClient(client, name) for name in fn.clients}
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
        state_machines=state_machines_of(env),
        pools=json.loads(env.get(Env.POOLS) or "{}"),
        scheduler=clients.get("scheduler"),
        timer_group=env.get(Env.TIMER_GROUP) or None,
        timer_role_arn=env.get(Env.TIMER_ROLE_ARN) or None,
        notify_topic_arn=env.get(Env.NOTIFY_TOPIC_ARN) or None,
        lineage=target_from_env(env),
        watchdog_schedule=env.get(Env.WATCHDOG_SCHEDULE) or None,
        events=clients.get("events"),
        upstreams=frozenset(json.loads(env.get(Env.UPSTREAMS) or "[]")),
    )


def bind(fn: PlatformFunction, rt: Runtime) -> Handler:
    """`fn`'s work bound to a runtime: event -> result."""
    run = implementation(fn)

    def handler(event: Any) -> Any:
        with correlated(event):
            return run(event, rt)

    return handler


def lambda_handler(fn: PlatformFunction) -> LambdaHandler:
    """The Lambda entry point of `fn`: builds the X-Ray tracer and the runtime on the first invocation
    of a container (the Tracer imports aws-xray-sdk, about 140 ms: kept out of the function's init)."""
    run = implementation(fn)  # imported at init, not on the first event
    runtimes: list[Runtime] = []
    traced: list[LambdaHandler] = []

    def invoke(event: Any, context: Any) -> Any:
        if not runtimes:
            import boto3

            runtimes.append(build_runtime(fn, os.environ, boto3.client))
            runtimes[0].function_arn = getattr(context, "invoked_function_arn", None)
            metrics.set_sink(metrics.to_stdout)  # CloudWatch Logs turns the EMF documents into metrics
        with correlated(event):
            return run(event, runtimes[0])

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Any, context: Any) -> Any:
        if not traced:
            from aws_lambda_powertools import Tracer  # needs aws-xray-sdk: in the Powertools layer

            # botocore is patched before the runtime's clients exist: their calls are traced
            tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
            traced.append(tracer.capture_lambda_handler(invoke, capture_response=False, capture_error=False))
        return traced[0](event, context)

    wrapped: LambdaHandler = handler
    return wrapped
