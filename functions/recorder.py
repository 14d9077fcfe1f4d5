"""The recorder function: keeps the run ledger right for what task code cannot see.

It receives Step Functions "Execution Status Change" events (an EventBridge rule on the stack's
state machines) and:

- RUNNING: creates the run record for an execution started outside the trigger function or `orch`
  (e.g. from the console), and stores the execution ARN;
- TIMED_OUT / ABORTED / FAILED: closes the run with that status (a monotonic write: a status the
  finalize step already recorded is kept), creating the record if the run failed before any of
  our code ran (e.g. a bad input);
- FAILED / TIMED_OUT: publishes ONE alert to the SNS topic per failed run. Retries happen inside
  the execution and raise no status-change event; a duplicated EventBridge delivery is absorbed by
  a conditional write (`alerted_at` on the run record) claimed before publishing.

Environment: ORCH_LEDGER_TABLE, ORCH_ALERT_TOPIC_ARN (optional), ORCH_STATE_MACHINES (JSON map of
state machine name -> workflow name, for runs the ledger has never seen).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from functions.runtime import ENV_TABLE, logger
from orchestration.ledger import RunLedger, RunRecord, iso, now_iso

ENV_TOPIC = "ORCH_ALERT_TOPIC_ARN"
ENV_STATE_MACHINES = "ORCH_STATE_MACHINES"
CLOSING = {"FAILED": "FAILED", "TIMED_OUT": "TIMED_OUT", "ABORTED": "ABORTED"}
ALERTING = frozenset({"FAILED", "TIMED_OUT"})


@dataclass
class RecorderRuntime:
    ledger: RunLedger
    sns: Any = None
    topic_arn: str | None = None
    workflows: dict[str, str] = field(default_factory=dict)  # state machine name -> workflow

    @classmethod
    def from_config(cls, env: Mapping[str, str], *, ledger: RunLedger, sns: Any) -> RecorderRuntime:
        return cls(ledger, sns, env.get(ENV_TOPIC) or None, json.loads(env.get(ENV_STATE_MACHINES) or "{}"))


@lru_cache(maxsize=1)
def _from_env() -> RecorderRuntime:
    import boto3

    env = dict(os.environ)
    return RecorderRuntime.from_config(
        env, ledger=RunLedger(env.get(ENV_TABLE, ""), boto3.client("dynamodb")), sns=boto3.client("sns")
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return record_status(event, _from_env())


def _ms_to_iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return iso(datetime.fromtimestamp(value / 1000, UTC))
    return str(value)


def record_status(event: Mapping[str, Any], rt: RecorderRuntime) -> dict[str, Any]:
    detail = event.get("detail") or {}
    status = str(detail.get("status", ""))
    run_id = detail.get("name")
    arn = detail.get("executionArn")
    if not run_id or not status:
        logger.warning("not an execution status change event", extra={"event": dict(event)})
        return {"action": "ignored"}
    machine = str(detail.get("stateMachineArn") or "").rsplit(":", 1)[-1]
    workflow = rt.workflows.get(machine, machine)
    ledger = rt.ledger
    if status != "RUNNING" and status not in CLOSING:
        return {"action": "none", "run_id": run_id, "status": status}  # SUCCEEDED: finalize recorded it
    created = _ensure_run(rt, run_id, workflow, detail, status)
    if status == "RUNNING":
        moved = ledger.set_run_status(run_id, "RUNNING", at=_ms_to_iso(detail.get("startDate")), execution_arn=arn)
        return {"action": "running", "run_id": run_id, "created": created, "moved": moved}
    at = _ms_to_iso(detail.get("stopDate")) or now_iso()
    if arn:
        ledger.set_run_status(run_id, "RUNNING", execution_arn=arn)  # keeps the ARN whatever the status
    moved = ledger.close_run(run_id, CLOSING[status], at=at, error=_close_reason(status, detail))
    alerted = status in ALERTING and _alert_once(rt, run_id, workflow, status, detail)
    return {"action": "closed", "run_id": run_id, "status": status, "moved": moved, "alerted": alerted}


def _close_reason(status: str, detail: Mapping[str, Any]) -> str:
    error, cause = detail.get("error"), detail.get("cause")
    if error and error != "WorkflowFailed":
        return f"{error}: {cause}" if cause else str(error)
    if status == "TIMED_OUT":
        return "States.Timeout: the run exceeded the workflow's timeout_seconds"
    if status == "ABORTED":
        return "Aborted: the execution was stopped"
    return "WorkflowFailed: a task failed and no run-if path handled it"


def _ensure_run(rt: RecorderRuntime, run_id: str, workflow: str, detail: Mapping[str, Any], status: str) -> bool:
    """Create the run record when the ledger has never seen this execution."""
    try:
        start_input = json.loads(detail.get("input") or "{}")
    except (TypeError, ValueError):
        start_input = {}
    if not isinstance(start_input, dict):
        start_input = {}
    started = _ms_to_iso(detail.get("startDate")) or now_iso()
    params = start_input.get("params")
    return rt.ledger.create_run(
        RunRecord(
            run_id=run_id,
            workflow=workflow,
            status="RUNNING",
            created_at=started,
            started_at=started,
            params=params if isinstance(params, dict) else {},
            logical_date=start_input.get("logical_date"),
            trigger={"type": "external", "note": "started outside the trigger function"},
            execution_arn=detail.get("executionArn"),
        )
    )


def _alert_once(rt: RecorderRuntime, run_id: str, workflow: str, status: str, detail: Mapping[str, Any]) -> bool:
    """Claim the run's alert with a conditional write, then publish; False when already alerted."""
    if not rt.topic_arn or rt.sns is None:
        return False
    if not rt.ledger.claim_alert(run_id):
        logger.info("alert already sent for this run", extra={"run_id": run_id})
        return False
    run = rt.ledger.get_run(run_id)
    failed = sorted(n for n, t in (run.tasks if run else {}).items() if t.status in ("FAILED", "UPSTREAM_FAILED"))
    body = {
        "workflow": workflow,
        "run_id": run_id,
        "status": status,
        "error": detail.get("error"),
        "cause": detail.get("cause"),
        "failed_tasks": failed,
        "execution_arn": detail.get("executionArn"),
        "started_at": _ms_to_iso(detail.get("startDate")),
        "stopped_at": _ms_to_iso(detail.get("stopDate")),
        "ledger_error": run.error if run else None,
    }
    try:
        rt.sns.publish(
            TopicArn=rt.topic_arn,
            Subject=f"[orch] {workflow} run {status}"[:100],
            Message=json.dumps(body, indent=2, default=str),
        )
    except Exception:
        # Release the claim so the retried delivery can alert.
        rt.ledger.release_alert(run_id)
        raise
    return True
