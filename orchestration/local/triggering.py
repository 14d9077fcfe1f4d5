"""Local triggers: match an EventBridge event against workflows' declared patterns and start the
matching runs through the same trigger function code that runs on AWS (on a LocalCloud).

Events and matching (moto's EventBridge matcher) are in `local.bus`, re-exported here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.local.bus import complete_event, event_delivery, matches, matching_triggers
from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow
from orchestration.protocol import ScheduleDelivery
from orchestration.runtime.deps import Runtime
from orchestration.runtime.trigger import plan_run, run_trigger
from orchestration.triggers import Continuous, triggers_of

__all__ = ["complete_event", "deliver", "fire", "matches", "matching_triggers", "trigger_runtime"]


def deliver(cloud: LocalCloud, wf: Workflow, trigger: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """What the rule's target does on AWS: invoke the trigger function with {"trigger", "event"}."""
    return _run_trigger(cloud, wf, event_delivery(trigger, event))


def fire(cloud: LocalCloud, wf: Workflow, trigger: str, scheduled_time: datetime) -> dict[str, Any]:
    """What a schedule's target does on AWS when it fires at `scheduled_time`."""
    stamp = scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    delivery = ScheduleDelivery(trigger=trigger, scheduled_time=stamp, execution_id=f"local-{uuid.uuid4()}")
    return _run_trigger(cloud, wf, delivery.model_dump(exclude_none=True))


def _run_trigger(cloud: LocalCloud, wf: Workflow, payload: dict[str, Any]) -> dict[str, Any]:
    """Deliver to the trigger function; a run this delivery already started in an earlier command
    (kept in the cloud's local store) is put back into the cloud first, so it is a duplicate there too."""
    if cloud.store is not None:
        try:
            planned = plan_run(payload, wf)
        except OrchestrationError:
            planned = None  # the trigger function rejects the delivery and says why
        if planned is not None and cloud.store.has(wf.name, planned.run_id):
            cloud.store.load(cloud, wf.name, planned.run_id)
    return run_trigger(payload, trigger_runtime(cloud, wf))


def trigger_runtime(cloud: LocalCloud, wf: Workflow) -> Runtime:
    """The trigger function's runtime for `wf`, deployed in the local cloud."""
    return cloud.deploy(wf).trigger


def continuous_trigger(wf: Workflow) -> str | None:
    """The name of the workflow's continuous trigger, if it has one."""
    return next((name for name, trig in triggers_of(wf).items() if isinstance(trig, Continuous)), None)


def start_chain(cloud: LocalCloud, wf: Workflow, *, at: datetime | None = None) -> dict[str, Any]:
    """Fire the workflow's watchdog as its schedule does on AWS (through its trigger function):
    it starts the chain unless a run of it is going or due. Returns the `TriggerResult`."""
    name = continuous_trigger(wf)
    if name is None:
        raise OrchestrationError(
            f"workflow {wf.name!r} has no continuous trigger: add triggers=[continuous(min_interval=...)]"
        )
    dep = cloud.deploy(wf)
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    delivery = ScheduleDelivery(trigger=name, scheduled_time=stamp, execution_id=f"local-{uuid.uuid4()}")
    assert dep.trigger.function_arn is not None
    result: dict[str, Any] = cloud.adapter.handlers[dep.trigger.function_arn](delivery.model_dump(exclude_none=True))
    return result
