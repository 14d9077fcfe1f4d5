"""Local triggers: match an EventBridge event against workflows' declared patterns and start the
matching runs through the same trigger function code that runs on AWS (on a LocalCloud).

Pattern matching is moto's EventBridge matcher (prefix, suffix, numeric, anything-but, exists,
wildcard, $or, ...), so a pattern that matches here matches the same events on AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.local.aws import ACCOUNT
from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow
from orchestration.protocol import EventDelivery, ScheduleDelivery
from orchestration.runtime.deps import Runtime
from orchestration.runtime.trigger import plan_run, run_trigger
from orchestration.triggers import Continuous, EventTrigger, triggers_of


def complete_event(event: Mapping[str, Any], *, region: str = "us-east-1") -> dict[str, Any]:
    """Fill the envelope fields EventBridge adds (id, time, account, region, ...) when absent."""
    if not isinstance(event, Mapping):
        raise OrchestrationError(
            f"an EventBridge event is a JSON object, got {type(event).__name__}: write "
            '{"source": "...", "detail-type": "...", "detail": {...}}'
        )
    return {
        "version": "0",
        "id": f"local-{uuid.uuid4()}",
        "detail-type": "",
        "source": "",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {},
        **dict(event),
    }


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(dict(pattern))).matches_event(dict(event)))  # type: ignore[arg-type]


def matching_triggers(workflows: Iterable[Workflow], event: Mapping[str, Any]) -> list[tuple[Workflow, str]]:
    """(workflow, trigger name) for every event trigger whose pattern matches the event."""
    found = []
    for wf in workflows:
        for name, trig in triggers_of(wf).items():
            if isinstance(trig, EventTrigger) and trig.event_bus == "default" and matches(trig.pattern, event):
                found.append((wf, name))
    return found


def deliver(cloud: LocalCloud, wf: Workflow, trigger: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """What the rule's target does on AWS: invoke the trigger function with {"trigger", "event"}."""
    payload = json.loads(json.dumps(EventDelivery(trigger=trigger, event=dict(event)).model_dump()))
    return _run_trigger(cloud, wf, payload)


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
