"""The finalize function: last state of every run. Records each task's final status (including
tasks the state machine skipped, which no task code saw) and the run outcome in the ledger, and
returns that summary, which becomes the execution's output."""

from __future__ import annotations

from typing import Any

from functions.runtime import Runtime, from_env
from orchestration.ledger import RunRecord, now_iso
from orchestration.outcome import run_outcome


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_finalize(event, from_env())


def run_finalize(event: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    run = event["run"]
    run_id = run["run_id"]
    results: dict[str, dict[str, Any]] = event["tasks"]
    statuses = {name: str(r.get("status")) for name, r in results.items()}
    status = run_outcome(statuses, event.get("leaves", []))
    at = now_iso()
    # A run started outside `orch` / the trigger function (e.g. from the console) has no record yet.
    rt.ledger.create_run(
        RunRecord(
            run_id=run_id,
            workflow=run["workflow"],
            status="RUNNING",
            created_at=at,
            started_at=at,
            params=run.get("params") or {},
            logical_date=run.get("logical_date"),
        )
    )
    records = rt.ledger.finalize_tasks(
        run_id, {name: {"status": r.get("status"), "error": r.get("error")} for name, r in results.items()}, at
    )
    failed = sorted(n for n, s in statuses.items() if s in ("FAILED", "UPSTREAM_FAILED"))
    error = None if status != "FAILED" else "tasks failed: " + ", ".join(failed)
    rt.ledger.set_run_status(run_id, status, at=at, error=error)
    # Also the execution's output: the run's summary, as the ledger now holds it.
    return {
        "status": status,
        "error": error,
        "tasks": {name: {**rec.as_dict(), "items": rec.items} for name, rec in records.items()},
    }
