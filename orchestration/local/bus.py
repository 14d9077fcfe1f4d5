"""The local cloud's default event bus: events completed as EventBridge does, matched against the
deployed workflows' triggers with moto's EventBridge matcher (prefix, suffix, numeric, anything-but,
exists, wildcard, $or, ...), so a pattern that matches here matches the same events on AWS.

`LocalBus.put_events` is what the recorder publishes run ends to (`runtime.announce`): moto's
EventBridge stores rules but never invokes a Lambda target, so the bus delivers each event to the
matching triggers' functions itself, as a rule's target does on AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.local.aws import ACCOUNT
from orchestration.model import Workflow
from orchestration.protocol import EventDelivery
from orchestration.runtime.log import logger
from orchestration.triggers import EventTrigger, WorkflowTrigger, triggers_of


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
    """(workflow, trigger name) for every event or workflow trigger whose pattern matches the event."""
    found = []
    for wf in workflows:
        for name, trig in triggers_of(wf).items():
            if (
                isinstance(trig, EventTrigger | WorkflowTrigger)
                and trig.event_bus == "default"
                and matches(trig.pattern, event)
            ):
                found.append((wf, name))
    return found


def event_delivery(trigger: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """What a rule's target sends the trigger function: {"trigger", "event"}, as JSON."""
    loaded: dict[str, Any] = json.loads(json.dumps(EventDelivery(trigger=trigger, event=dict(event)).model_dump()))
    return loaded


class LocalBus:
    """`put_events` for the recorder: delivers each event to the matching triggers of the workflows
    `targets()` lists, each with its trigger function (as the local cloud invokes it: the runs it
    starts are followed to their end, so a chain of workflows goes on)."""

    def __init__(self, targets: Callable[[], list[tuple[Workflow, Callable[[Any], Any]]]], *, region: str) -> None:
        self.targets = targets
        self.region = region

    def put_events(self, Entries: list[Mapping[str, Any]]) -> dict[str, Any]:
        ids = []
        for entry in Entries:
            event = complete_event(
                {
                    "source": entry["Source"],
                    "detail-type": entry["DetailType"],
                    "detail": json.loads(entry["Detail"]),
                    "resources": list(entry.get("Resources") or []),
                },
                region=self.region,
            )
            ids.append({"EventId": event["id"]})
            targets = self.targets()
            functions = {wf.name: fn for wf, fn in targets}
            for wf, trigger in matching_triggers([wf for wf, _ in targets], event):
                try:
                    functions[wf.name](event_delivery(trigger, event))
                except Exception:  # as on AWS, a failed delivery does not fail the publisher
                    logger.exception("event delivery failed", extra={"workflow": wf.name, "trigger": trigger})
        return {"FailedEntryCount": 0, "Entries": ids}
