"""The platform functions, in one registry (pure: no AWS SDK).

Each entry says where its Lambda entry point is, which environment variables it reads, which AWS
clients its runtime needs and which library function does its work. infra/ deploys from it, the
local runtime and the CloudFormation-on-moto adapter answer invocations from it, and the thin
entry points in `functions/` are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass


class Env:
    """Names of the environment variables the platform functions read."""

    LEDGER_TABLE = "ORCH_LEDGER_TABLE"
    ARTIFACT_BUCKET = "ORCH_ARTIFACT_BUCKET"
    WORKFLOW_FILE = "ORCH_WORKFLOW_FILE"  # relative to the code asset root
    WORKFLOW = "ORCH_WORKFLOW"
    STATE_MACHINE_ARN = "ORCH_STATE_MACHINE_ARN"
    ALERT_TOPIC_ARN = "ORCH_ALERT_TOPIC_ARN"
    STATE_MACHINES = "ORCH_STATE_MACHINES"  # JSON: state machine name -> workflow name
    LOG_LEVEL = "ORCH_LOG_LEVEL"
    TASK_ROOT = "LAMBDA_TASK_ROOT"  # set by Lambda: where the code asset is unpacked
    SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"


SERVICE = "orchestration"  # Powertools service name: the logger's name too


@dataclass(frozen=True)
class PlatformFunction:
    name: str
    handler: str  # Lambda handler path inside the code asset
    run: str  # "module:function" doing the work: (event, Runtime) -> result
    env: tuple[str, ...]  # required environment variables
    optional_env: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()  # boto3 clients the runtime needs
    loads_workflow: bool = False  # the function imports the user's workflow file


TASK = PlatformFunction(
    name="task",
    handler="functions.task.handler",
    run="orchestration.runtime.task:run_task",
    env=(Env.LEDGER_TABLE, Env.ARTIFACT_BUCKET, Env.WORKFLOW_FILE, Env.WORKFLOW),
    clients=("dynamodb", "s3"),
    loads_workflow=True,
)
JOIN = PlatformFunction(
    name="join",
    handler="functions.join.handler",
    run="orchestration.runtime.join:run_join",
    env=(Env.LEDGER_TABLE,),
    clients=("dynamodb", "stepfunctions"),
)
FINALIZE = PlatformFunction(
    name="finalize",
    handler="functions.finalize.handler",
    run="orchestration.runtime.finalize:run_finalize",
    env=(Env.LEDGER_TABLE,),
    clients=("dynamodb",),
)
TRIGGER = PlatformFunction(
    name="trigger",
    handler="functions.trigger.handler",
    run="orchestration.runtime.trigger:run_trigger",
    env=(Env.LEDGER_TABLE, Env.WORKFLOW_FILE, Env.WORKFLOW, Env.STATE_MACHINE_ARN),
    clients=("dynamodb", "stepfunctions"),
    loads_workflow=True,
)
RECORDER = PlatformFunction(
    name="recorder",
    handler="functions.recorder.handler",
    run="orchestration.runtime.recorder:record_status",
    env=(Env.LEDGER_TABLE,),
    optional_env=(Env.ALERT_TOPIC_ARN, Env.STATE_MACHINES),
    clients=("dynamodb", "sns"),
)

FUNCTIONS: tuple[PlatformFunction, ...] = (TASK, JOIN, FINALIZE, TRIGGER, RECORDER)
BY_HANDLER = {f.handler: f for f in FUNCTIONS}


def by_handler(handler: str) -> PlatformFunction:
    try:
        return BY_HANDLER[handler]
    except KeyError:
        known = ", ".join(sorted(BY_HANDLER))
        raise LookupError(f"no platform function has the handler {handler!r} (known: {known})") from None
