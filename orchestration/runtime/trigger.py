"""The trigger function: EventBridge Scheduler schedules and EventBridge rules start runs through it.

Input: a `ScheduleDelivery` (``{"trigger", "scheduled_time", "execution_id", "attempt"}``) or an
`EventDelivery` (``{"trigger", "event"}``), as infra configures the targets; a batched trigger's
deliveries and its timers' `BatchFlush` go to `runtime.batching`.
An `on_workflow`
trigger's event is the recorder's `RunEnded` event of the upstream run.

EventBridge delivers at least once, so a delivery may repeat. Exactly one run starts per event:
the run id (also the execution name) is derived from what identifies the delivery (the event id,
the schedule's scheduled time, which a retried invocation keeps, or the upstream run and pass), and
`start_run` writes the run record conditionally and starts the execution under that name (see `starter`).

Parameters come from the trigger declaration (constants, event fields) and are validated with the
workflow's parameter model; an event that cannot make valid parameters is rejected (logged, no run)
rather than retried, since retrying would not fix it. Rejections name the fields and describe the
values by type and size (`redact.describe`): event values never reach the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import OrchestrationError, ParameterError
from orchestration.model import Workflow
from orchestration.protocol import EventDelivery, RunEnded, ScheduleDelivery, TriggerResult
from orchestration.runtime.batching import batched_trigger, run_batch
from orchestration.runtime.continuous import run_continuous
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.redact import check_params, describe, field_problems
from orchestration.runtime.registry import Env
from orchestration.runtime.starter import start_triggered
from orchestration.times import iso, parse_iso
from orchestration.triggers import (
    Continuous,
    EventTrigger,
    Schedule,
    WorkflowTrigger,
    event_params,
    triggers_of,
    upstream_params,
)
from orchestration.triggers.runids import run_id_for, schedule_run_id, upstream_run_id
from orchestration.triggers.schedules import rate_interval_start


@dataclass(frozen=True)
class PlannedRun:
    """What a delivery asks for: run id, parameters (unvalidated), logical date, trigger record."""

    run_id: str
    params: dict[str, Any]
    logical_date: str | None
    trigger: dict[str, Any]


def _aware(value: Any) -> datetime | None:
    """The time in UTC; None when absent, unparseable or beyond the calendar once in UTC."""
    moment = parse_iso(value)
    if moment is None:
        return None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00
        return None


def plan_run(payload: Mapping[str, Any], wf: Workflow) -> PlannedRun:
    """Read a delivery; ParameterError when it does not fit the workflow's triggers."""
    name = payload.get("trigger") if isinstance(payload, Mapping) else None
    triggers = triggers_of(wf)
    trig = triggers.get(str(name))
    if trig is None:
        known = ", ".join(triggers) or "none"
        raise ParameterError(
            f"workflow {wf.name!r} has no trigger named by this delivery (got {describe(name)}; "
            f"its triggers: {known}): redeploy"
        )
    if isinstance(trig, Continuous):  # `run_trigger` hands its deliveries to `runtime.continuous`
        raise ParameterError(f"trigger {name!r} is continuous: its runs follow one another, none is planned")
    try:
        if isinstance(trig, Schedule):
            return _plan_schedule(wf, trig, ScheduleDelivery.model_validate(payload))
        if isinstance(trig, WorkflowTrigger):
            return _plan_upstream(wf, trig, EventDelivery.model_validate(payload))
        assert isinstance(trig, EventTrigger)
        return _plan_event(wf, trig, EventDelivery.model_validate(payload))
    except PydanticValidationError as exc:
        raise ParameterError(f"delivery for trigger {name!r} is malformed: {field_problems(exc)}") from None


def _plan_schedule(wf: Workflow, trig: Schedule, delivery: ScheduleDelivery) -> PlannedRun:
    scheduled = _aware(delivery.scheduled_time)
    if scheduled is None:
        got = describe(delivery.scheduled_time)
        raise ParameterError(f"schedule delivery without a valid ISO 8601 scheduled_time (got {got})")
    fired = iso(scheduled)
    if trig.rate is not None:  # the epoch-grid interval, as a backfill plans it (not the creation grid)
        scheduled = rate_interval_start(trig.rate, scheduled)
    date = iso(scheduled)
    return PlannedRun(
        run_id=schedule_run_id(wf.name, delivery.trigger, scheduled),
        params=dict(trig.params),
        logical_date=date,
        trigger={
            "type": "schedule",
            "name": delivery.trigger,
            "expression": trig.expression,
            "timezone": trig.timezone,
            "scheduled_time": fired,
            "execution_id": delivery.execution_id,
        },
    )


def _plan_event(wf: Workflow, trig: EventTrigger, delivery: EventDelivery) -> PlannedRun:
    event = delivery.event
    if not isinstance(event, Mapping) or not event.get("id"):
        raise ParameterError(f"event delivery for trigger {delivery.trigger!r} has no event with an id")
    values, missing = event_params(trig, event)
    if missing:
        logger.info("event fields absent; parameters take their defaults", extra={"missing": missing})
    return PlannedRun(
        run_id=run_id_for(wf.name, delivery.trigger, f"event:{event['id']}", _aware(event.get("time"))),
        params=values,
        logical_date=None,
        trigger={
            "type": "event",
            "name": delivery.trigger,
            "event_id": event["id"],
            "source": event.get("source"),
            "detail_type": event.get("detail-type"),
            "time": event.get("time"),
        },
    )


def _plan_upstream(wf: Workflow, trig: WorkflowTrigger, delivery: EventDelivery) -> PlannedRun:
    event = delivery.event if isinstance(delivery.event, Mapping) else {}
    try:
        ended = RunEnded.model_validate(event.get("detail"))
    except PydanticValidationError as exc:
        raise ParameterError(f"event for trigger {delivery.trigger!r} is no run end: {field_problems(exc)}") from None
    if (
        ended.workflow != trig.upstream
        or ended.status not in trig.statuses
        or (ended.repair and not trig.include_repairs)
    ):
        raise ParameterError(
            f"trigger {delivery.trigger!r} waits for {trig.upstream} runs ending {', '.join(map(str, trig.statuses))}"
            f"{'' if trig.include_repairs else ' (no repairs)'}, got a {ended.workflow} run ending {ended.status} "
            f"(pass {ended.repair}): check the rule's pattern"
        )
    return PlannedRun(
        run_id=upstream_run_id(
            wf.name, delivery.trigger, ended.workflow, ended.run_id, ended.repair, _aware(ended.ended_at)
        ),
        params=upstream_params(trig, ended),
        logical_date=ended.logical_date,
        trigger={
            "type": "workflow",
            "name": delivery.trigger,
            "upstream_workflow": ended.workflow,
            "upstream_run_id": ended.run_id,
            "upstream_repair": ended.repair,
            "status": ended.status,
            "event_id": event.get("id"),
        },
    )


def run_trigger(payload: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Start (at most) one run for a delivery; returns a `TriggerResult`."""
    wf = rt.need_workflow()
    if rt.state_machine_arn is None:
        raise OrchestrationError(f"the trigger function has no state machine: set {Env.STATE_MACHINE_ARN}")
    if batched_trigger(payload, wf) is not None:  # a file batch: runs start when batches close
        return run_batch(payload, rt)
    name = payload.get("trigger") if isinstance(payload, Mapping) else None
    trig = triggers_of(wf).get(str(name))
    try:
        if isinstance(trig, Continuous):  # a watchdog firing or a chain timer (`runtime.continuous`)
            return run_continuous(payload, rt, str(name), trig)
        plan = plan_run(payload, wf)
        check_params(wf, plan.params)
        started = start_triggered(
            rt, run_id=plan.run_id, params=plan.params, logical_date=plan.logical_date, trigger=plan.trigger
        )
    except PydanticValidationError as exc:
        error = f"delivery for trigger {name!r} is malformed: {field_problems(exc)}"
        logger.error("delivery rejected: no run started", extra={"workflow": wf.name, "reason": error})
        return TriggerResult(status="rejected", workflow=wf.name, error=error).model_dump(exclude_none=True)
    except ParameterError as exc:
        logger.error("delivery rejected: no run started", extra={"workflow": wf.name, "reason": str(exc)})
        return TriggerResult(status="rejected", workflow=wf.name, error=str(exc)).model_dump(exclude_none=True)
    if started.status == "duplicate":
        logger.info("duplicate delivery ignored", extra={"run_id": started.run_id})
        return TriggerResult(status="duplicate", workflow=wf.name, run_id=started.run_id).model_dump(exclude_none=True)
    logger.info(f"run {started.status}", extra={"run_id": started.run_id, "trigger": plan.trigger})
    return TriggerResult(
        status=started.status, workflow=wf.name, run_id=started.run_id, execution_arn=started.execution_arn
    ).model_dump(exclude_none=True)
