"""What starts runs and what the platform hears of them: the trigger function's deliveries and
results, Step Functions' status-change detail, and the run-end events the recorder publishes (pure;
re-exported by `orchestration.protocol`, the one contract)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict

from orchestration.payload import Payload
from orchestration.status import ExecutionStatus, RunStatus

# -- triggers ----------------------------------------------------------------------------------------


class ScheduleDelivery(Payload):
    """What an EventBridge Scheduler schedule sends the trigger function."""

    trigger: str
    scheduled_time: str | None = None
    execution_id: str | None = None
    attempt: str | int | None = None


class EventDelivery(Payload):
    """What an EventBridge rule sends the trigger function: the whole event."""

    trigger: str
    event: Any = None


class ChainDelivery(Payload):
    """What a continuous chain's timer sends the trigger function: start the chain's run `run_id`."""

    trigger: str
    run_id: str


class BatchFlush(Payload):
    """What a batched trigger's timer sends the trigger function: close the batch if it is due."""

    trigger: str
    batch: str  # the batch id (its run's id)


class TriggerResult(Payload):
    # "waiting"/"paused": a continuous chain has a run going or due (the watchdog starts none), or is paused
    # "batched": a file joined a batch (its run starts when the batch closes)
    status: Literal["started", "resumed", "duplicate", "rejected", "queued", "skipped", "waiting", "paused", "batched"]
    workflow: str
    run_id: str | None = None
    execution_arn: str | None = None
    error: str | None = None
    batch: str | None = None  # "batched": the open batch the file went to (its run's id once it closes)


class StatusChangeDetail(Payload):
    """`detail` of the "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    executionArn: str | None = None  # AWS field names
    stateMachineArn: str | None = None
    name: str | None = None
    status: ExecutionStatus | None = None
    startDate: int | float | str | None = None  # epoch milliseconds
    stopDate: int | float | str | None = None
    input: str | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None


STATUS_CHANGE_SOURCE = "aws.states"
STATUS_CHANGE_DETAIL_TYPE = "Step Functions Execution Status Change"


RUN_EVENT_SOURCE = "orchestration"  # the events the recorder publishes (`on_workflow` triggers match them)
RUN_ENDED_DETAIL_TYPE = "Workflow Run Ended"


class RunEnded(Payload):
    """`detail` of the event the recorder publishes when a run, or a repair pass of it, ends, for
    `on_workflow` triggers: ids and statuses only, never parameters or outputs."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # a newer recorder may add fields

    workflow: str
    run_id: str
    status: RunStatus
    repair: int = 0  # the pass that ended: 0 the run itself, n its n-th repair
    logical_date: str | None = None
    ended_at: str | None = None
