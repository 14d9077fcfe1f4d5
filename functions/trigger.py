"""The trigger function: EventBridge Scheduler schedules and EventBridge rules start runs through it.

Input (what `infra/` configures as the target input):

- a rule: ``{"trigger": "<name>", "event": <the EventBridge event>}``
- a schedule: ``{"trigger": "<name>", "scheduled_time": "<aws.scheduler.scheduled-time>",
  "execution_id": "<aws.scheduler.execution-id>"}``

EventBridge delivers at least once, so a delivery may repeat. Exactly one run starts per event:

1. the run id (also the execution name) is derived from what identifies the delivery: the event id,
   or the schedule's scheduled time (a retried schedule invocation keeps its scheduled time);
2. the run record is inserted with a conditional write (`RunLedger.create_run`): a duplicate finds
   it and stops, unless the first delivery died before starting the execution;
3. a Standard state machine refuses a second execution with the same name (for 90 days), which
   covers a race between two deliveries of the same event.

Parameters come from the trigger declaration (constants, event fields) and are validated with the
workflow's parameter model; an event that cannot make valid parameters is rejected (logged, no run)
rather than retried, since retrying would not fix it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from functions.runtime import ENV_TABLE, ENV_WORKFLOW, ENV_WORKFLOW_FILE, logger
from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.errors import OrchestrationError, ParameterError
from orchestration.ledger import RunLedger, RunRecord, iso, now_iso
from orchestration.loader import load_workflow
from orchestration.model import Workflow
from orchestration.triggers import EventTrigger, Schedule, event_params, triggers_of

ENV_STATE_MACHINE = "ORCH_STATE_MACHINE_ARN"
MAX_PARAMS_BYTES = 8_192


@dataclass
class TriggerRuntime:
    workflow: Workflow
    ledger: RunLedger
    stepfunctions: Any
    state_machine_arn: str
    definition_hash: str | None = None

    @classmethod
    def from_config(cls, env: Mapping[str, str], *, ledger: RunLedger, stepfunctions: Any) -> TriggerRuntime:
        """Build from a function's environment variables (on AWS: os.environ)."""
        missing = [k for k in (ENV_TABLE, ENV_WORKFLOW_FILE, ENV_STATE_MACHINE) if not env.get(k)]
        if missing:
            raise OrchestrationError(f"environment variable(s) {', '.join(missing)} not set on the trigger function")
        root = Path(env.get("LAMBDA_TASK_ROOT", "."))
        wf = load_workflow(root / env[ENV_WORKFLOW_FILE], env.get(ENV_WORKFLOW))
        return cls(wf, ledger, stepfunctions, env[ENV_STATE_MACHINE], definition_hash(to_json(compile_workflow(wf))))


@lru_cache(maxsize=1)
def _from_env() -> TriggerRuntime:
    import boto3

    env = dict(os.environ)
    return TriggerRuntime.from_config(
        env,
        ledger=RunLedger(env.get(ENV_TABLE, ""), boto3.client("dynamodb")),
        stepfunctions=boto3.client("stepfunctions"),
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_trigger(event, _from_env())


def run_id_for(workflow: str, trigger: str, key: str, moment: datetime | None) -> str:
    """Deterministic run id (= execution name): the same delivery always gets the same id.

    ``s-20261121T060000Z-<hash>`` for a schedule, ``e-<event time>-<hash>`` for an event; the hash
    covers the workflow, the trigger and the delivery key (event id or scheduled time), so ids are
    unique across the workflows sharing a ledger. 1-80 characters of [A-Za-z0-9-_] as Step
    Functions requires.
    """
    digest = hashlib.sha256(f"{workflow}\x00{trigger}\x00{key}".encode()).hexdigest()[:16]
    stamp = (moment or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{'s' if trigger_kind(key) == 'schedule' else 'e'}-{stamp}-{digest}"


def trigger_kind(key: str) -> str:
    return "schedule" if key.startswith("schedule:") else "event"


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_run(payload: Mapping[str, Any], wf: Workflow) -> dict[str, Any]:
    """What a delivery asks for: run id, parameters (unvalidated), logical date and trigger record."""
    name = payload.get("trigger")
    triggers = triggers_of(wf)
    trig = triggers.get(str(name))
    if trig is None:
        known = ", ".join(triggers) or "none"
        raise ParameterError(f"workflow {wf.name!r} has no trigger {name!r} (its triggers: {known}): redeploy")
    if isinstance(trig, Schedule):
        scheduled = _parse_time(payload.get("scheduled_time"))
        if scheduled is None:
            raise ParameterError(
                f"schedule delivery without a valid scheduled_time ({payload.get('scheduled_time')!r})"
            )
        date = iso(scheduled)
        return {
            "run_id": run_id_for(wf.name, str(name), f"schedule:{date}", scheduled),
            "params": dict(trig.params),
            "logical_date": date,
            "trigger": {
                "type": "schedule",
                "name": name,
                "expression": trig.expression,
                "timezone": trig.timezone,
                "scheduled_time": date,
                "execution_id": payload.get("execution_id"),
            },
        }
    assert isinstance(trig, EventTrigger)
    event = payload.get("event")
    if not isinstance(event, Mapping) or not event.get("id"):
        raise ParameterError(f"event delivery for trigger {name!r} has no event with an id: got {event!r}")
    values, missing = event_params(trig, event)
    if missing:
        logger.info("event fields absent; parameters take their defaults", extra={"missing": missing})
    return {
        "run_id": run_id_for(wf.name, str(name), f"event:{event['id']}", _parse_time(event.get("time"))),
        "params": values,
        "logical_date": None,
        "trigger": {
            "type": "event",
            "name": name,
            "event_id": event["id"],
            "source": event.get("source"),
            "detail_type": event.get("detail-type"),
            "time": event.get("time"),
        },
    }


def run_trigger(payload: Mapping[str, Any], rt: TriggerRuntime) -> dict[str, Any]:
    """Start (at most) one run for a delivery. Returns ``{"status": "started" | "duplicate" | "rejected"}``."""
    wf = rt.workflow
    try:
        plan = plan_run(payload, wf)
        values = wf.parse_params(plan["params"])
        size = len(json.dumps(values))
        if size > MAX_PARAMS_BYTES:
            raise ParameterError(f"parameters take {size} bytes as JSON; the limit is {MAX_PARAMS_BYTES}")
    except ParameterError as exc:
        logger.error("delivery rejected: no run started", extra={"workflow": wf.name, "reason": str(exc)})
        return {"status": "rejected", "workflow": wf.name, "error": str(exc)}
    run_id = plan["run_id"]
    record = RunRecord(
        run_id=run_id,
        workflow=wf.name,
        status="QUEUED",
        created_at=now_iso(),
        params=values,
        logical_date=plan["logical_date"],
        trigger=plan["trigger"],
        definition_hash=rt.definition_hash,
    )
    first = rt.ledger.create_run(record)
    if not first:
        existing = rt.ledger.get_run(run_id)
        if existing is not None and (existing.execution_arn or wf.type != "STANDARD"):
            # Already started (or Express, where a second start would not be deduplicated): done.
            logger.info("duplicate delivery ignored", extra={"run_id": run_id})
            return {"status": "duplicate", "run_id": run_id, "workflow": wf.name}
    sfn = rt.stepfunctions
    execution_input = json.dumps({"params": values, "logical_date": plan["logical_date"]}, sort_keys=True)
    try:
        resp = sfn.start_execution(stateMachineArn=rt.state_machine_arn, name=run_id, input=execution_input)
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("execution already started by another delivery", extra={"run_id": run_id})
        return {"status": "duplicate", "run_id": run_id, "workflow": wf.name}
    rt.ledger.set_run_status(run_id, "RUNNING", at=now_iso(), execution_arn=resp["executionArn"])
    logger.info("run started", extra={"run_id": run_id, "trigger": plan["trigger"]})
    return {
        "status": "started" if first else "resumed",
        "run_id": run_id,
        "workflow": wf.name,
        "execution_arn": resp["executionArn"],
    }
