"""A run started outside orch's starter (a backfill on the stack) is recorded with the trigger and
definition hash its execution input carries, whether the recorder or Finalize records it first."""

from __future__ import annotations

import json
from typing import Any

from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud
from orchestration.runtime.deps import Runtime
from orchestration.runtime.recorder import record_status
from orchestration.runtime.registry import Env, state_machines_of

TRIGGER = {"type": "backfill", "schedule": "daily", "scheduled_time": "2026-11-02T05:00:00.000Z", "backfill_id": "b-1"}


def _running(run_id: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    detail = {
        "name": run_id,
        "status": "RUNNING",
        "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:orch-x:{run_id}",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orch-x",
        "startDate": 1_790_000_000_000,
        "input": json.dumps(execution_input),
    }
    return {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": detail}


def test_the_recorder_records_the_trigger_of_the_input(cloud: LocalCloud) -> None:
    rt = Runtime(cloud.ledger, state_machines={"orch-x": "x"})
    start = {"params": {"a": 1}, "logical_date": TRIGGER["scheduled_time"], "trigger": TRIGGER, "definition_hash": "h1"}
    assert record_status(_running("bf-1", start), rt)["created"] is True
    run = cloud.ledger.get_run("x", "bf-1")
    assert run is not None and (run.trigger, run.definition_hash, run.logical_date) == (
        TRIGGER,
        "h1",
        TRIGGER["scheduled_time"],
    )
    assert run.started_at == "2026-09-21T14:13:20.000Z"
    # an input without them still reads as before
    record_status(_running("plain-1", {"params": {}}), rt)
    plain = cloud.ledger.get_run("x", "plain-1")
    assert plain is not None and plain.trigger["type"] == "external" and plain.definition_hash is None


def test_a_run_finalize_recorded_first_gets_its_trigger_and_start(cloud: LocalCloud) -> None:
    rt = Runtime(cloud.ledger, state_machines={"orch-x": "x"})
    at = "2026-09-21T14:20:00.000Z"
    cloud.ledger.create_run(RunRecord(run_id="bf-2", workflow="x", status="RUNNING", created_at=at, started_at=at))
    cloud.ledger.set_run_status("x", "bf-2", "SUCCEEDED", at=at)
    start = {"params": {}, "trigger": TRIGGER, "definition_hash": "h2"}
    assert record_status(_running("bf-2", start), rt)["created"] is False
    run = cloud.ledger.get_run("x", "bf-2")
    assert run is not None and (run.status, run.trigger, run.definition_hash) == ("SUCCEEDED", TRIGGER, "h2")
    assert run.started_at == "2026-09-21T14:13:20.000Z"  # the execution's start, not Finalize's
    # a second delivery changes nothing
    record_status(_running("bf-2", {**start, "trigger": {"type": "other"}}), rt)
    assert cloud.ledger.get_run("x", "bf-2").trigger == TRIGGER  # type: ignore[union-attr]


def test_the_recorder_ignores_state_machines_that_are_not_its_workflows(cloud: LocalCloud) -> None:
    """Its rule matches the stack's name prefix (`orch-`): the backfill's machine (`orch--backfill`) and
    another stack's (`orch-dev-x`) are not its workflows, whose names its environment lists."""
    env = {Env.STATE_MACHINE_PREFIX: "orch-", Env.WORKFLOWS: "x,y"}
    rt = Runtime(cloud.ledger, state_machines=state_machines_of(env))
    assert rt.state_machines == {"orch-x": "x", "orch-y": "y"}
    for machine in ("orch--backfill", "orch-dev-x"):
        event = _running("other-1", {"params": {}})
        event["detail"]["stateMachineArn"] = f"arn:aws:states:us-east-1:123456789012:stateMachine:{machine}"
        assert record_status(event, rt) == {"action": "ignored", "state_machine": machine}
    assert cloud.ledger.get_run("x", "other-1") is None and cloud.ledger.get_run("dev-x", "other-1") is None
    assert record_status(_running("mine-1", {"params": {}}), rt)["created"] is True
