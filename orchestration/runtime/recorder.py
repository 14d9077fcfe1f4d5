"""The recorder function: keeps the run ledger right for what task code cannot see.

It receives Step Functions "Execution Status Change" events (an EventBridge rule on the stack's
state machines; a repair's execution, `<run_id>.r<n>`, acts on its run's pass n) and:

- RUNNING: creates the run record for an execution started outside the trigger function or `orch`
  (e.g. from the console; a child run's, linked to its parent, if its parent did not record it; a
  backfill run's on the stack, with the trigger and definition hash its input holds), and stores
  the execution ARN;
- TIMED_OUT / ABORTED / FAILED: closes the run with that status (a monotonic write: a status the
  finalize step already recorded is kept), creating the record if the run failed before any of
  our code ran (e.g. a bad input);
- any end: frees the pool slots the run still holds (a run stopped or timed out inside a pooled
  task) and hands them to waiting tasks (`runtime.pool.release_run`);
- FAILED / TIMED_OUT: publishes ONE alert to the SNS topic per failed run (and per failed repair).
  Retries happen inside the execution and raise no status-change event; a duplicated EventBridge
  delivery is absorbed by a conditional write (`alerted_at` on the run record) claimed before publishing;
- every terminal status (SUCCEEDED too): releases the run's slot of a workflow with
  `max_concurrent_runs` and starts its oldest queued runs that now fit (`concurrency.release`);
  the run of a continuous chain gets its next run scheduled (`continuous.chain_next`);
  and when some `on_workflow` trigger listens to the workflow, publishes the run's (or repair
  pass's) end with its ledger status to EventBridge (`announce.announce_end`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchestration.ledger import RunRecord
from orchestration.ledger.starts import adopt_start
from orchestration.protocol import ExecutionInput, StatusChangeDetail, parse_execution_name
from orchestration.runtime import metrics
from orchestration.runtime.announce import announce_end
from orchestration.runtime.children import close_unstarted, running_children
from orchestration.runtime.concurrency import release
from orchestration.runtime.continuous import chain_next
from orchestration.runtime.deps import Runtime
from orchestration.runtime.lineage import emit_run
from orchestration.runtime.log import logger
from orchestration.runtime.pool import release_run
from orchestration.runtime.redact import describe
from orchestration.status import ALERTING, CLOSING, TERMINAL_EXECUTION, ExecutionStatus, RunStatus, is_failed_like
from orchestration.times import iso, ms_between, now_iso


def _ms_to_iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return iso(datetime.fromtimestamp(value / 1000, UTC))
    return str(value)


def _detail(event: Any) -> StatusChangeDetail | None:
    raw = event.get("detail") if isinstance(event, Mapping) else None
    try:
        detail = StatusChangeDetail.model_validate(raw or {})
    except PydanticValidationError:
        return None
    return detail if detail.name and detail.status else None


def record_status(event: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    detail = _detail(event)
    if detail is None or detail.name is None or detail.status is None:
        logger.warning("not an execution status change event", extra={"event": describe(event)})
        return {"action": "ignored"}
    status, arn = detail.status, detail.executionArn
    start = _start_input(detail)
    if start.part is not None:  # a part of a split workflow: its parent's execution is the run's
        return {"action": "ignored", "part": start.part}
    run_id, repair = (start.repair.run_id, start.repair.number) if start.repair else parse_execution_name(detail.name)
    machine = str(detail.stateMachineArn or "").rsplit(":", 1)[-1]
    if rt.state_machines and machine not in rt.state_machines:  # the rule matches a name prefix: not ours
        return {"action": "ignored", "state_machine": machine}
    workflow = rt.state_machines.get(machine, machine)
    ledger = rt.ledger
    freed = release_run(rt, workflow, run_id) if status in TERMINAL_EXECUTION and rt.pools.get(workflow) else 0
    if status == ExecutionStatus.SUCCEEDED:  # finalize recorded it
        released = _release(rt, workflow, run_id, repair)
        announced = announce_end(rt, workflow, run_id, repair, detail.stateMachineArn)
        lineage = emit_run(rt, workflow, run_id, repair)
        return {
            "action": "none",
            "run_id": run_id,
            "status": status,
            "freed": freed,
            "announced": announced,
            **released,
            **lineage,
        }
    if status != ExecutionStatus.RUNNING and status not in CLOSING:
        return {"action": "none", "run_id": run_id, "status": status}
    created = repair == 0 and _ensure_run(rt, run_id, workflow, detail, start)  # a repair's run exists
    if status == ExecutionStatus.RUNNING:
        moved = ledger.set_run_status(
            workflow, run_id, RunStatus.RUNNING, at=_ms_to_iso(detail.startDate), execution_arn=arn, repair=repair
        )
        lineage = emit_run(rt, workflow, run_id, repair, starting=True)  # a repeat sends the same START
        return {"action": "running", "run_id": run_id, "created": created, "moved": moved, **lineage}
    at = _ms_to_iso(detail.stopDate) or now_iso()
    if arn:  # keeps the ARN whatever the status
        ledger.set_run_status(workflow, run_id, RunStatus.RUNNING, execution_arn=arn, repair=repair)
    reason = _close_reason(status, detail)
    children = running_children(ledger, workflow, run_id)  # read before the close ends their attempts
    moved = ledger.close_run(workflow, run_id, CLOSING[status], at=at, error=reason, repair=repair)
    close_unstarted(ledger, children, at=at, parent_status=CLOSING[status])
    if moved:  # no finalize step recorded this outcome (nor an earlier delivery of this event)
        metrics.run_ended(workflow, CLOSING[status], duration_ms=ms_between(_ms_to_iso(detail.startDate), at))
    alerted = status in ALERTING and _alert_once(rt, run_id, workflow, repair, status, detail)
    released = _release(rt, workflow, run_id, repair)
    announced = announce_end(rt, workflow, run_id, repair, detail.stateMachineArn)
    closed = {"action": "closed", "run_id": run_id, "status": status, "moved": moved, "alerted": alerted}
    return {**closed, "freed": freed, "announced": announced, **released, **emit_run(rt, workflow, run_id, repair)}


def _release(rt: Runtime, workflow: str, run_id: str, repair: int) -> dict[str, Any]:
    """Free the ended run's slot and start queued runs (a repair holds no slot); the run of a
    continuous chain has its next run scheduled (`continuous.chain_next`)."""
    if repair != 0:
        return {}
    started = release(rt.ledger, rt.stepfunctions, workflow, run_id)
    return {**({"dequeued": sorted(started)} if started else {}), **chain_next(rt, workflow, run_id)}


def _close_reason(status: str, detail: StatusChangeDetail) -> str:
    error, cause = detail.error, detail.cause
    if error and error != "WorkflowFailed":
        return f"{error}: {cause}" if cause else str(error)
    if status == ExecutionStatus.TIMED_OUT:
        return "States.Timeout: the run exceeded the workflow's timeout_seconds"
    if status == ExecutionStatus.ABORTED:
        return "Aborted: the execution was stopped"
    return "WorkflowFailed: a task failed and no run-if path handled it"


def _start_input(detail: StatusChangeDetail) -> ExecutionInput:
    """The execution's input as far as it is ours (a start input of another shape reads as empty)."""
    try:
        raw = json.loads(detail.input or "{}")
    except ValueError:
        raw = {}
    known = {k: raw[k] for k in ExecutionInput.model_fields if k in raw} if isinstance(raw, dict) else {}
    try:
        return ExecutionInput.model_validate(known)
    except PydanticValidationError:  # the run is still recorded
        return ExecutionInput()


def _ensure_run(rt: Runtime, run_id: str, workflow: str, detail: StatusChangeDetail, start: ExecutionInput) -> bool:
    """Create the run record when the ledger has never seen this execution."""
    started = _ms_to_iso(detail.startDate) or now_iso()
    parent = start.parent  # a child run: its parent's run_workflow task records it first, normally
    trigger: dict[str, Any] = {"type": "external", "note": "started outside the trigger function"}
    if parent is not None:
        trigger = {"type": "workflow", **{f"parent_{k}": v for k, v in parent.model_dump().items()}}
    elif start.trigger:  # e.g. a backfill run on the stack, started by the backfill state machine
        trigger = dict(start.trigger)
    created = rt.ledger.create_run(
        RunRecord(
            run_id=run_id,
            workflow=workflow,
            status=RunStatus.RUNNING,
            created_at=started,
            started_at=started,
            params=start.params,
            logical_date=start.logical_date,
            trigger=trigger,
            execution_arn=detail.executionArn,
            parent_run_id=parent.run_id if parent else None,
            parent_workflow=parent.workflow if parent else None,
            parent_task=parent.task if parent else None,
            definition_hash=start.definition_hash,
        )
    )
    if not created and start.trigger and parent is None:  # finalize recorded the run first: complete it
        adopt_start(
            rt.ledger, workflow, run_id, trigger=trigger, definition_hash=start.definition_hash, started_at=started
        )
    return created


def _alert_once(rt: Runtime, run_id: str, workflow: str, repair: int, status: str, detail: StatusChangeDetail) -> bool:
    """Claim the alert of the run's pass with a conditional write, then publish; False when already alerted."""
    if not rt.alert_topic_arn or rt.sns is None:
        return False
    if not rt.ledger.claim_alert(workflow, run_id, repair):
        logger.info("alert already sent for this run", extra={"run_id": run_id})
        return False
    run = rt.ledger.get_run(workflow, run_id)
    failed = sorted(n for n, t in (run.tasks if run else {}).items() if is_failed_like(t.status))
    body = {
        "workflow": workflow,
        "run_id": run_id,
        "repair": repair,
        "status": status,
        "error": detail.error,
        "cause": detail.cause,
        "failed_tasks": failed,
        "execution_arn": detail.executionArn,
        "started_at": _ms_to_iso(detail.startDate),
        "stopped_at": _ms_to_iso(detail.stopDate),
        "ledger_error": run.error if run else None,
    }
    try:
        rt.sns.publish(
            TopicArn=rt.alert_topic_arn,
            Subject=f"[orch] {workflow} run {status}"[:100],
            Message=json.dumps(body, indent=2, default=str),
        )
    except Exception:
        # Release the claim so the retried delivery can alert.
        rt.ledger.release_alert(workflow, run_id, repair)
        raise
    return True
