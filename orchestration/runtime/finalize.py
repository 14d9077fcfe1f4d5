"""The finalize function: last state of every run. Records each task's final status (including
tasks the state machine skipped, which no task code saw) and the run outcome in the ledger, and
returns that summary, which becomes the execution's output: with each task's recorded output when
they fit in CARRIED_OUTPUTS_BYTES, so a reader of the execution need not read the attempts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.ledger import RunRecord
from orchestration.protocol import STATE_BUDGET_BYTES, FinalizeEvent, FinalizeResult, PartOutcome, TaskSummary
from orchestration.runtime import metrics
from orchestration.runtime.deps import Runtime
from orchestration.runtime.redact import parsed
from orchestration.status import RunStatus, is_failed_like, run_outcome
from orchestration.times import ms_between, now_iso

# The execution's output stays under Step Functions' payload limit (262,144 bytes) with room for
# the Lambda response around it: outputs are carried only while the result stays this small.
CARRIED_OUTPUTS_BYTES = STATE_BUDGET_BYTES


def run_finalize(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    event = parsed(FinalizeEvent.model_validate, payload, "the finalize step's input")
    run = event.run
    statuses = {name: r.status for name, r in event.tasks.items()}
    status = run_outcome(statuses, event.leaves)
    at = now_iso()
    if event.part is not None:  # a part of a split workflow: its tasks; the parent records the run
        outcomes = {name: {"status": r.status, "error": r.error, "output": r.output} for name, r in event.tasks.items()}
        rt.ledger.finalize_tasks(run.workflow, run.run_id, outcomes, at, own=True)
        return PartOutcome(status=status, error=_failed(statuses)).model_dump(mode="json")
    if event.parts is not None:  # the parent of a split workflow: the worst of its parts' outcomes
        status = next((s for s in SPLIT_OUTCOMES if any(p.status == s for p in event.parts)), RunStatus.SUCCEEDED)
    # A run started outside `orch` / the trigger function (e.g. from the console) has no record yet.
    rt.ledger.create_run(
        RunRecord(
            run_id=run.run_id,
            workflow=run.workflow,
            status=RunStatus.RUNNING,
            created_at=at,
            started_at=at,
            params=run.params,
            logical_date=run.logical_date,
        )
    )
    outcomes = {name: {"status": r.status, "error": r.error, "output": r.output} for name, r in event.tasks.items()}
    records = rt.ledger.finalize_tasks(run.workflow, run.run_id, outcomes, at) if outcomes else {}
    error = None if status != RunStatus.FAILED else _failed(statuses)
    if event.parts is not None and status == RunStatus.FAILED:
        error = "; ".join(p.error for p in event.parts if p.status == RunStatus.FAILED and p.error)
    if rt.ledger.set_run_status(run.workflow, run.run_id, status, at=at, error=error, repair=run.repair):
        metrics.run_ended(run.workflow, status, duration_ms=_duration_ms(rt, run.workflow, run.run_id, run.repair, at))
    # Also the execution's output: the run's summary, as the ledger now holds it.
    tasks = {name: TaskSummary.model_validate(rec, from_attributes=True) for name, rec in records.items()}
    # (a split workflow's parent has no task results: its parts recorded them)
    result = FinalizeResult(status=status, error=error, tasks=tasks, outputs=event.parts is None)
    if len(result.model_dump_json().encode()) > CARRIED_OUTPUTS_BYTES:
        bare = {name: summary.model_copy(update={"output": None}) for name, summary in tasks.items()}
        result = FinalizeResult(status=status, error=error, tasks=bare)
    return result.model_dump(mode="json")


SPLIT_OUTCOMES = (RunStatus.FAILED, RunStatus.SUCCEEDED_WITH_FAILURES)  # the worst first


def _failed(statuses: Mapping[str, str]) -> str | None:
    failed = sorted(n for n, s in statuses.items() if is_failed_like(s))
    return "tasks failed: " + ", ".join(failed) if failed else None


def _duration_ms(rt: Runtime, workflow: str, run_id: str, repair: int, ended_at: str) -> int | None:
    """The run's duration from its recorded start (None for a repair pass: the start is the first pass's)."""
    record = rt.ledger.get_run_item(workflow, run_id) if repair == 0 else None
    return ms_between(record.started_at, ended_at) if record else None
