"""Batched file arrival in the trigger function: files go into a batch; one run starts per batch.

An event delivery of a batched trigger adds its object key to the trigger's open batch (or opens
one, setting its timer), in one transaction with a marker of the event, so a repeated delivery
adds nothing (`ledger.batches`). A batch is due when no file arrived for `quiet_seconds` or
`max_wait_seconds` after its first file; it is full at `max_files` (or when the next key would
not fit the key list's byte budget). Whoever finds it due or full closes it, conditionally on what
it read (a file added meanwhile makes the close fail and the batch stay open), and starts its run
under the batch's id through `start_run`, so the run starts exactly once, within the workflow's
`max_concurrent_runs`:

- the delivery that fills a batch closes it at once; a delivery finding the open batch due closes
  it first and opens the next one;
- the batch's timer (`runtime.timers`, a `BatchFlush` to this function) fires when the batch would
  be due if nothing more arrived; finding that files arrived meanwhile, it sets the next timer at
  the new due time (one timer per quiet window, not per file). A timer that fires twice, late or
  for a closed batch does nothing more than (re)start the closed batch's run, a duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import OrchestrationError, ParameterError
from orchestration.ledger.batches import Batches, ClosedBatch, OpenBatch
from orchestration.model import Workflow
from orchestration.protocol import BatchFlush, EventDelivery, TriggerResult
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.redact import check_params, describe, field_problems
from orchestration.runtime.starter import start_triggered
from orchestration.runtime.timers import Timer, set_timer
from orchestration.times import iso, parse_iso
from orchestration.triggers import EventTrigger, event_value, triggers_of
from orchestration.triggers.batching import BATCH_KEYS_BYTES, ITEM_PATH, Batch, key_bytes
from orchestration.triggers.runids import batch_run_id

ATTEMPTS = 8  # adds and closes racing other deliveries: each retry reads the batch again
EARLY_SECONDS = 1.0  # a timer fires on a whole second: a batch due within this is due


def batched_trigger(payload: Any, wf: Workflow) -> tuple[str, EventTrigger, Batch] | None:
    """(name, trigger, batch) when `payload` is a delivery for a batched trigger of `wf`."""
    name = payload.get("trigger") if isinstance(payload, Mapping) else None
    trig = triggers_of(wf).get(str(name))
    if isinstance(trig, EventTrigger) and isinstance(trig.batch, Batch):
        return str(name), trig, trig.batch
    return None


def run_batch(payload: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Add a delivered file to its batch, or (a `BatchFlush`) close a due batch; returns a `TriggerResult`."""
    wf = rt.need_workflow()
    found = batched_trigger(payload, wf)
    assert found is not None, "run_trigger sends only batched triggers' deliveries here"
    name, trig, batch = found
    work = _Batching(rt, wf, name, trig, batch)
    try:
        if BatchFlush.key("batch") in payload:
            return work.flush(BatchFlush.model_validate(payload).batch)
        return work.add(EventDelivery.model_validate(payload))
    except PydanticValidationError as exc:
        error = f"delivery for trigger {name!r} is malformed: {field_problems(exc)}"
    except ParameterError as exc:
        error = str(exc)
    logger.error("delivery rejected: no file batched", extra={"workflow": wf.name, "reason": error})
    return _result("rejected", wf, error=error)


def _result(status: str, wf: Workflow, **fields: Any) -> dict[str, Any]:
    return TriggerResult.model_validate({"status": status, "workflow": wf.name, **fields}).model_dump(exclude_none=True)


def _time(value: str) -> datetime:
    moment = parse_iso(value)
    assert moment is not None, f"a batch item holds an unreadable time ({describe(value)})"
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Batching:
    def __init__(self, rt: Runtime, wf: Workflow, name: str, trig: EventTrigger, batch: Batch) -> None:
        self.rt, self.wf, self.name, self.trig, self.batch = rt, wf, name, trig, batch
        self.batches = Batches(rt.ledger.table, rt.ledger.client)

    # -- when a batch closes ----------------------------------------------------------------

    def due_at(self, open_: OpenBatch) -> datetime:
        """When the batch is due if no more files arrive: quiet after its last, or its max wait."""
        quiet = _time(open_.last_at) + timedelta(seconds=self.batch.quiet_seconds)
        return min(quiet, _time(open_.first_at) + timedelta(seconds=self.batch.max_wait_seconds))

    def due_reason(self, open_: OpenBatch, now: datetime) -> str | None:
        """Why the batch should be closed at `now` ("max_wait", "quiet"), or None."""
        soon = now + timedelta(seconds=EARLY_SECONDS)
        if _time(open_.first_at) + timedelta(seconds=self.batch.max_wait_seconds) <= soon:
            return "max_wait"
        if _time(open_.last_at) + timedelta(seconds=self.batch.quiet_seconds) <= soon:
            return "quiet"
        return None

    def full(self, open_: OpenBatch, key: str | None = None) -> bool:
        """No room for another file (or for `key`, unless the batch holds it already)."""
        if key is not None and key in open_.keys:
            return False
        room = BATCH_KEYS_BYTES - open_.nbytes
        return len(open_.keys) >= self.batch.max_files or room < key_bytes(key or "")

    # -- deliveries -------------------------------------------------------------------------

    def add(self, delivery: EventDelivery) -> dict[str, Any]:
        event = delivery.event
        if not isinstance(event, Mapping) or not event.get("id"):
            raise ParameterError(f"event delivery for trigger {self.name!r} has no event with an id")
        try:
            key = event_value(event, ITEM_PATH)
        except KeyError:
            key = None
        if not isinstance(key, str) or not key:
            got = describe(key)
            raise ParameterError(f"event of trigger {self.name!r} has no object key at {ITEM_PATH} (got {got})")
        size = key_bytes(key)
        if size > BATCH_KEYS_BYTES:
            raise ParameterError(f"object key of {size} bytes as JSON exceeds a batch's {BATCH_KEYS_BYTES}")
        event_id = str(event["id"])
        for _ in range(ATTEMPTS):
            now = datetime.now(UTC)
            open_ = self.batches.open_batch(self.wf.name, self.name)
            if open_ is not None:
                reason = self.due_reason(open_, now) or ("full" if self.full(open_, key) else None)
                if reason is not None:  # its timer has not closed it yet, or it is full: close it first
                    self.close(open_, reason, now)
                    continue
                outcome = self.batches.add(
                    self.wf.name,
                    self.name,
                    open_,
                    event_id,
                    key,
                    size,
                    max_files=self.batch.max_files,
                    budget=BATCH_KEYS_BYTES,
                    at=iso(now),
                )
                batch_id = open_.batch_id
            else:
                moment = parse_iso(event.get("time"))
                first = moment.astimezone(UTC) if moment and moment.tzinfo else now
                batch_id = batch_run_id(self.wf.name, self.name, event_id, first)
                outcome = self.batches.create(self.wf.name, self.name, batch_id, event_id, key, size, iso(now))
                if outcome == "added":
                    self.arm(self.batches.open_batch(self.wf.name, self.name), now)
            if outcome == "duplicate":
                return self.settle(event_id, now)
            if outcome == "added":
                logger.info("file batched", extra={"batch": batch_id, "trigger": self.name})
                latest = self.batches.open_batch(self.wf.name, self.name)
                if latest is not None and latest.batch_id == batch_id and self.full(latest):
                    return self.close(latest, "full", now) or _result("batched", self.wf, batch=batch_id)
                return _result("batched", self.wf, batch=batch_id)
        raise OrchestrationError(f"could not add a file to a batch of trigger {self.name!r} after {ATTEMPTS} tries")

    def settle(self, event_id: str, now: datetime) -> dict[str, Any]:
        """A repeated delivery: finish what its first delivery may have left undone (the batch's timer,
        or the run of the batch it closed), add nothing."""
        batch_id = self.batches.batch_of_event(self.wf.name, self.name, event_id)
        open_ = self.batches.open_batch(self.wf.name, self.name)
        if open_ is not None and open_.batch_id == batch_id:
            self.arm(open_, now)
        elif batch_id is not None:
            closed = self.batches.closed_batch(self.wf.name, self.name, batch_id)
            if closed is not None:
                self.start(closed)
        logger.info("duplicate delivery ignored", extra={"batch": batch_id})
        return _result("duplicate", self.wf, batch=batch_id)

    def flush(self, batch_id: str) -> dict[str, Any]:
        """The batch's timer fired: close it if it is due, else set the timer for its new due time."""
        for _ in range(ATTEMPTS):
            now = datetime.now(UTC)
            open_ = self.batches.open_batch(self.wf.name, self.name)
            if open_ is None or open_.batch_id != batch_id:
                closed = self.batches.closed_batch(self.wf.name, self.name, batch_id)
                if closed is None:
                    return _result("duplicate", self.wf, batch=batch_id)
                return self.start(closed)  # closed already: its run is a duplicate unless its closer died
            reason = self.due_reason(open_, now)
            if reason is None:
                self.arm(open_, now)
                return _result("batched", self.wf, batch=batch_id)
            started = self.close(open_, reason, now)
            if started is not None:
                return started
        raise OrchestrationError(f"could not close batch {batch_id} of trigger {self.name!r} after {ATTEMPTS} tries")

    # -- timers, closing, the run -----------------------------------------------------------

    def arm(self, open_: OpenBatch | None, now: datetime) -> None:
        """Set the timer for the batch's due time (on a whole second, never in the past)."""
        if open_ is None:
            return
        if self.rt.function_arn is None:
            raise OrchestrationError("the trigger function does not know its own ARN: a batch timer cannot target it")
        due = self.due_at(open_)
        at = datetime.fromtimestamp(math.ceil(max(due, now + timedelta(seconds=1)).timestamp()), UTC)
        flush = BatchFlush(trigger=self.name, batch=open_.batch_id).model_dump()
        set_timer(self.rt, Timer(f"batch/{self.wf.name}/{open_.batch_id}/{iso(due)}", at, self.rt.function_arn, flush))

    def close(self, open_: OpenBatch, reason: str, now: datetime) -> dict[str, Any] | None:
        """Close the batch as read and start its run; None when it changed or closed meanwhile."""
        if not self.batches.close(self.wf.name, self.name, open_, reason, iso(now)):
            return None
        closed = ClosedBatch(open_.batch_id, tuple(sorted(open_.keys)), open_.first_at, open_.last_at, reason, iso(now))
        logger.info("batch closed", extra={"batch": closed.batch_id, "files": len(closed.keys), "reason": reason})
        return self.start(closed)

    def start(self, closed: ClosedBatch) -> dict[str, Any]:
        """Start the run of a closed batch (a duplicate when it was started before)."""
        params = {**dict(self.trig.constants), self.batch.files_param: list(closed.keys)}
        try:
            check_params(self.wf, params)
            started = start_triggered(
                self.rt,
                run_id=closed.batch_id,
                params=params,
                trigger={
                    "type": "file_batch",
                    "name": self.name,
                    "files": len(closed.keys),
                    "first": closed.first_at,
                    "last": closed.last_at,
                    "reason": closed.reason,
                },
            )
        except ParameterError as exc:
            logger.error("batch rejected: no run started", extra={"batch": closed.batch_id, "reason": str(exc)})
            return _result("rejected", self.wf, error=str(exc), batch=closed.batch_id)
        if started.status != "duplicate":
            logger.info(f"run {started.status}", extra={"run_id": started.run_id, "files": len(closed.keys)})
        return _result(started.status, self.wf, run_id=started.run_id, execution_arn=started.execution_arn)
