"""What a workflow declares: `Schedule`, `EventTrigger` and `WorkflowTrigger`, and how each is named on its workflow."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestration.triggers.batching import Batch
from orchestration.triggers.continuous import Continuous
from orchestration.triggers.upstream import WorkflowTrigger

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule that starts the workflow.

    >>> Schedule(cron="0 6 ? * MON-FRI *", timezone="Europe/Paris", params={"rows": 100})
    >>> Schedule(rate="15 minutes", flexible_window_minutes=5)
    """

    cron: str | None = None  # EventBridge cron body, 6 fields: "0 6 * * ? *"
    rate: str | None = None  # "1 hour", "15 minutes", "1 day"
    timezone: str = "UTC"
    flexible_window_minutes: int | None = None  # None: fire exactly on time
    retry_attempts: int = 3  # delivery retries to the trigger function (0-185)
    max_event_age_seconds: int = 3_600  # give up delivering after this long (60-86400)
    params: Mapping[str, Any] = field(default_factory=dict)  # constant parameter values
    name: str | None = None
    enabled: bool = True
    description: str = ""

    kind = "schedule"

    @property
    def expression(self) -> str:
        """The Scheduler expression: ``cron(...)`` or ``rate(...)``."""
        return f"cron({self.cron.strip()})" if self.cron else f"rate({(self.rate or '').strip()})"


@dataclass(frozen=True)
class EventTrigger:
    """An EventBridge rule: every event matching `pattern` starts one run.

    `params` maps a workflow parameter to a path in the event (``"$.detail.order_id"``);
    `constants` gives fixed parameter values. Other parameters take their defaults.
    """

    pattern: Mapping[str, Any]
    params: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    event_bus: str = "default"
    description: str = ""
    batch: Batch | None = None  # group files into one run (`triggers.batching`)

    kind = "event"


Trigger = Schedule | EventTrigger | Continuous | WorkflowTrigger


def on_s3_object_created(
    bucket: str,
    *,
    prefix: str | None = None,
    suffix: str | None = None,
    params: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    name: str | None = None,
    batch: Batch | None = None,
) -> EventTrigger:
    """File arrival: an S3 "Object Created" event for `bucket`, keys filtered by prefix and/or suffix.

    The bucket must send events to EventBridge (S3 console: Properties > Amazon EventBridge > On,
    or ``aws s3api put-bucket-notification-configuration --bucket B
    --notification-configuration '{"EventBridgeConfiguration": {}}'``). Map the object key to a
    parameter with ``params={"key": "$.detail.object.key"}``; or, with ``batch=Batch(...)``, start one
    run per batch of files, its keys in a list parameter (see `orchestration.triggers.batching`).
    """
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if prefix and suffix:
        # A list of filters is an OR; prefix AND suffix on one field needs a wildcard filter.
        escape = str.maketrans({"*": "\\*", "\\": "\\\\"})
        detail["object"] = {"key": [{"wildcard": f"{prefix.translate(escape)}*{suffix.translate(escape)}"}]}
    elif prefix:
        detail["object"] = {"key": [{"prefix": prefix}]}
    elif suffix:
        detail["object"] = {"key": [{"suffix": suffix}]}
    return EventTrigger(
        pattern={"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
        params=dict(params or {}),
        constants=dict(constants or {}),
        name=name,
        description=f"s3://{bucket}/{prefix or ''}*{suffix or ''} created",
        batch=batch,
    )


def declared(wf: Workflow) -> list[Any]:
    """The raw trigger declarations of a workflow: its `schedule` first, then `triggers`."""
    raw_schedule = getattr(wf, "schedule", None)
    raw_triggers = getattr(wf, "triggers", None) or ()
    out: list[Any] = [] if raw_schedule is None else [raw_schedule]
    if isinstance(raw_triggers, Schedule | EventTrigger | Continuous | WorkflowTrigger):
        raw_triggers = [raw_triggers]
    out.extend(raw_triggers if isinstance(raw_triggers, list | tuple) else [raw_triggers])
    return out


def named_declarations(wf: Workflow) -> Iterator[tuple[str, Trigger]]:
    """Each valid declaration with its name: its own ``name=``, else ``schedule``, ``event``, then
    ``schedule_2``, ``event_2``, ... (duplicates included); a `Continuous` is ``continuous``, a
    `WorkflowTrigger` ``workflow``, ``workflow_2``, ..."""
    counts = {"schedule": 0, "event": 0, "continuous": 0, "workflow": 0}
    for trig in declared(wf):
        if isinstance(trig, Schedule | EventTrigger | Continuous | WorkflowTrigger):
            counts[trig.kind] += 1
            number = counts[trig.kind]
            yield trig.name or (trig.kind if number == 1 else f"{trig.kind}_{number}"), trig


def triggers_of(wf: Workflow) -> dict[str, Trigger]:
    """Valid declarations by name (``schedule``, ``event``, then ``schedule_2``, ``event_2``, ...)."""
    named: dict[str, Trigger] = {}
    for name, trig in named_declarations(wf):
        named.setdefault(name, trig)
    return named


def describe(trig: Trigger) -> str:
    """One line for listings: ``cron(0 6 * * ? *) Europe/Paris`` or the pattern."""
    if isinstance(trig, Schedule):
        window = f", flexible {trig.flexible_window_minutes} min" if trig.flexible_window_minutes else ""
        return f"{trig.expression} {trig.timezone}{window}"
    if isinstance(trig, Continuous):
        return f"continuous, min_interval {trig.min_interval}"
    if isinstance(trig, WorkflowTrigger):
        repairs = ", repairs too" if trig.include_repairs else ""
        return f"after a {trig.upstream} run ends {' or '.join(map(str, trig.statuses))}{repairs}"
    return json.dumps(dict(trig.pattern), sort_keys=True)
