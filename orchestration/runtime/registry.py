"""The platform functions, in one registry (pure: no AWS SDK).

Each entry says where its Lambda entry point is, which environment variables it reads, which AWS
clients its runtime needs and which library function does its work. infra/ deploys from it, the
local runtime and the CloudFormation-on-moto adapter answer invocations from it, and the thin
entry points in `functions/` are built from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class Env:
    """Names of the environment variables the platform functions read."""

    LEDGER_TABLE = "ORCH_LEDGER_TABLE"
    ARTIFACT_BUCKET = "ORCH_ARTIFACT_BUCKET"
    WORKFLOW_FILE = "ORCH_WORKFLOW_FILE"  # relative to the code asset root
    WORKFLOW = "ORCH_WORKFLOW"
    STATE_MACHINE_ARN = "ORCH_STATE_MACHINE_ARN"
    ALERT_TOPIC_ARN = "ORCH_ALERT_TOPIC_ARN"
    # The recorder's workflows: comma-separated names, each with the state machine <prefix><name>
    # (a list, not a map: Lambda allows 4 KB of environment, and a stack may hold 200 workflows).
    WORKFLOWS = "ORCH_WORKFLOWS"
    STATE_MACHINE_PREFIX = "ORCH_STATE_MACHINE_PREFIX"
    POOLS = "ORCH_POOLS"  # JSON: workflow name -> the pools its tasks use (the recorder frees their slots)
    LINEAGE_URL = "ORCH_LINEAGE_URL"  # the OpenLineage endpoint the recorder sends run events to
    LINEAGE_API_KEY_SECRET = "ORCH_LINEAGE_API_KEY_SECRET"  # name of the secret holding its API key
    LINEAGE_NAMESPACE = "ORCH_LINEAGE_NAMESPACE"  # the OpenLineage namespace of the jobs
    UPSTREAMS = "ORCH_UPSTREAMS"  # JSON list: workflows whose run ends the recorder publishes (on_workflow)
    LOG_LEVEL = "ORCH_LOG_LEVEL"
    TIMER_GROUP = "ORCH_TIMER_GROUP"  # the schedule group of one-time timers (`runtime.timers`)
    TIMER_ROLE_ARN = "ORCH_TIMER_ROLE_ARN"  # the role Scheduler assumes to invoke a timer's target
    NOTIFY_TOPIC_ARN = "ORCH_NOTIFY_TOPIC_ARN"  # the stack's notification topic (email destinations)
    WATCHDOG_SCHEDULE = "ORCH_WATCHDOG_SCHEDULE"  # a continuous workflow's watchdog schedule: paused when DISABLED
    TASK_ROOT = "LAMBDA_TASK_ROOT"  # set by Lambda: where the code asset is unpacked
    SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"


SERVICE = "orchestration"  # Powertools service name: the logger's name too


@dataclass(frozen=True)
class PlatformFunction:
    """A platform function: its entry point is `functions/<name>.py`'s `handler`, its work the function
    `work` of `orchestration/runtime/<name>.py`, called as work(event, Runtime)."""

    name: str
    work: str
    env: tuple[str, ...]  # required environment variables
    clients: tuple[str, ...]  # boto3 clients the runtime needs
    optional_env: tuple[str, ...] = ()
    loads_workflow: bool = False  # the function imports the user's workflow file

    @property
    def handler(self) -> str:
        """The Lambda handler path inside the code asset."""
        return f"functions.{self.name}.handler"

    @property
    def run(self) -> str:
        """``module:function`` doing the work."""
        return f"orchestration.runtime.{self.name}:{self.work}"


_WORKFLOW = (Env.WORKFLOW_FILE, Env.WORKFLOW)
TASK = PlatformFunction(
    "task", "run_task", (Env.LEDGER_TABLE, Env.ARTIFACT_BUCKET, *_WORKFLOW), ("dynamodb", "s3"), loads_workflow=True
)
# A run_workflow task's function: the steps around its child runs (it imports the parent's workflow file).
SUBFLOW = PlatformFunction("subflow", "run_subflow", TASK.env, TASK.clients, loads_workflow=True)
JOIN = PlatformFunction("join", "run_join", (Env.LEDGER_TABLE,), ("dynamodb", "stepfunctions"))
FINALIZE = PlatformFunction("finalize", "run_finalize", (Env.LEDGER_TABLE,), ("dynamodb",))
TRIGGER = PlatformFunction(
    "trigger",
    "run_trigger",
    (Env.LEDGER_TABLE, *_WORKFLOW, Env.STATE_MACHINE_ARN),
    ("dynamodb", "stepfunctions", "scheduler"),  # scheduler: the watchdog's state, batched triggers' timers
    (Env.WATCHDOG_SCHEDULE, Env.TIMER_GROUP, Env.TIMER_ROLE_ARN),
    loads_workflow=True,
)
RECORDER = PlatformFunction(
    "recorder",
    "record_status",
    (Env.LEDGER_TABLE,),
    ("dynamodb", "sns", "stepfunctions", "scheduler", "events"),
    (
        Env.ALERT_TOPIC_ARN,
        Env.WORKFLOWS,
        Env.STATE_MACHINE_PREFIX,
        Env.POOLS,
        Env.UPSTREAMS,
        Env.TIMER_GROUP,
        Env.TIMER_ROLE_ARN,
        Env.LINEAGE_URL,
        Env.LINEAGE_API_KEY_SECRET,
        Env.LINEAGE_NAMESPACE,
    ),
)
# Pools: takes and frees slots, releases waiting tasks (SendTaskSuccess).
POOL = PlatformFunction("pool", "run_pool", (Env.LEDGER_TABLE,), ("dynamodb", "stepfunctions"))

# A workflow's notifications (`notify=`): it loads the workflow file for its declarations.
NOTIFIER = PlatformFunction(
    "notifier",
    "run_notifier",
    (Env.LEDGER_TABLE, *_WORKFLOW),
    ("dynamodb", "sns", "scheduler"),
    (Env.NOTIFY_TOPIC_ARN, Env.TIMER_GROUP, Env.TIMER_ROLE_ARN),
    loads_workflow=True,
)

FUNCTIONS: tuple[PlatformFunction, ...] = (TASK, SUBFLOW, JOIN, FINALIZE, TRIGGER, RECORDER, POOL, NOTIFIER)
BY_HANDLER = {f.handler: f for f in FUNCTIONS}


def state_machines_of(env: Mapping[str, str]) -> dict[str, str]:
    """State machine name -> workflow name, from the recorder's environment (Env.WORKFLOWS)."""
    prefix = env.get(Env.STATE_MACHINE_PREFIX, "")
    return {f"{prefix}{name}": name for name in env.get(Env.WORKFLOWS, "").split(",") if name}


def by_handler(handler: str) -> PlatformFunction:
    try:
        return BY_HANDLER[handler]
    except KeyError:
        known = ", ".join(sorted(BY_HANDLER))
        raise LookupError(f"no platform function has the handler {handler!r} (known: {known})") from None
