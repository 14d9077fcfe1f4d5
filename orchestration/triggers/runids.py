"""Run ids derived from what started a run (pure), shared by the trigger function and backfills."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from orchestration.times import iso


def run_id_for(workflow: str, trigger: str, key: str, moment: datetime | None) -> str:
    """Deterministic run id (= execution name): the same delivery always gets the same id.

    ``s-20261121T060000Z-<hash>`` for a schedule, ``e-<event time>-<hash>`` for an event,
    ``w-<upstream end>-<hash>`` for the end of another workflow's run; the hash
    covers the workflow, the trigger and the delivery key (event id or scheduled time), so ids are
    unique across the workflows sharing a ledger. 1-80 characters of [A-Za-z0-9-_] as Step
    Functions requires.
    """
    digest = hashlib.sha256(f"{workflow}\x00{trigger}\x00{key}".encode()).hexdigest()[:16]
    stamp = (moment or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = "s" if key.startswith("schedule:") else "w" if key.startswith("workflow:") else "e"
    return f"{prefix}-{stamp}-{digest}"


def schedule_run_id(workflow: str, schedule: str, scheduled: datetime) -> str:
    """The run id of schedule `schedule`'s firing at `scheduled` (an aware datetime), whoever starts it."""
    return run_id_for(workflow, schedule, f"schedule:{iso(scheduled)}", scheduled)


def batch_run_id(workflow: str, trigger: str, first_event_id: str, first_time: datetime | None) -> str:
    """The run id of a file batch (also the batch's id): ``b-<first event time>-<hash>``, from the
    event that opened it, so a retried delivery of that event names the same batch."""
    return "b" + run_id_for(workflow, trigger, f"batch:{first_event_id}", first_time)[1:]


def upstream_run_id(
    workflow: str, trigger: str, upstream: str, upstream_run: str, repair: int, ended: datetime | None
) -> str:
    """The run id `trigger` gives the end of pass `repair` of run `upstream_run` of workflow `upstream`:
    the same for every delivery of that end, whatever its event id."""
    return run_id_for(workflow, trigger, f"workflow:{upstream}\x00{upstream_run}\x00{repair}", ended)
