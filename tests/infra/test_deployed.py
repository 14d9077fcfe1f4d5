"""End to end from the synthesized template: deployed into an in-process moto (CloudFormation), then
runs through the deployed state machines with the real task runtime, events through the deployed
rules' patterns to the trigger function, schedules firing, and the recorder keeping the ledger right.
The moto gaps are bridged by orchestration/local/cfn_adapter.py only."""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration.ledger import RunLedger
from orchestration.ledger.pools import Pools
from orchestration.local.cfn_adapter import DeployedStack
from tests.infra.conftest import STACK, Synth, resources

pytestmark = pytest.mark.infra

CSV_EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "id": "7b4e1a52-0000-4000-8000-000000000001",
    "time": "2026-11-21T08:30:00Z",
    "detail": {"bucket": {"name": "my-landing-bucket"}, "object": {"key": "incoming/2026/orders.csv", "size": 10}},
}


@pytest.fixture(scope="module")
def deployed(synth: Synth) -> Iterator[DeployedStack]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("orchestration").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto: "AWS::Scheduler::Schedule ... not supported" etc.
        with DeployedStack(synth.assembly, STACK) as stack:
            yield stack


@pytest.fixture(scope="module")
def ledger(deployed: DeployedStack) -> RunLedger:
    (table,) = [v for k, v in deployed.resources.items() if k in resources(deployed.template, "AWS::DynamoDB::Table")]
    return RunLedger(table, deployed.dynamodb)


@pytest.fixture(scope="module")
def alerts(deployed: DeployedStack) -> Any:
    """An SQS queue subscribed to the failure-alert topic; returns a function draining it."""
    sqs = deployed.session.client("sqs")
    url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    (topic,) = [v for k, v in deployed.resources.items() if k in resources(deployed.template, "AWS::SNS::Topic")]
    deployed.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def drain() -> list[dict[str, Any]]:
        out = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(json.loads(m["Body"])["Message"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    return drain


def _start(deployed: DeployedStack, workflow: str, run_id: str, params: dict[str, Any]) -> str:
    resp = deployed.sfn.start_execution(
        stateMachineArn=deployed.state_machine_arn(workflow),
        name=run_id,
        input=json.dumps({"params": params, "logical_date": None}),
    )
    return str(resp["executionArn"])


def test_the_deployed_machine_is_the_compiled_definition_with_real_arns(deployed: DeployedStack) -> None:
    arn = deployed.state_machine_arn("daily_etl")
    definition = deployed.sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    assert "${" not in definition
    assert f"arn:aws:lambda:us-east-1:123456789012:function:{STACK}-" in definition


def test_a_run_through_the_deployed_state_machine(deployed: DeployedStack, ledger: RunLedger) -> None:
    execution = _start(deployed, "daily_etl", "deployed-etl-1", {"rows": 40})
    desc = deployed.wait(execution)
    assert desc["status"] == "SUCCEEDED", desc
    run = ledger.get_run_by_id("deployed-etl-1")
    assert run is not None and run.status == "SUCCEEDED"  # created and closed by the finalize function
    assert {n: t.status for n, t in run.tasks.items()} == dict.fromkeys(
        ["extract", "transform", "load", "quality_check", "publish"], "SUCCEEDED"
    )


def test_a_join_releases_through_the_deployed_join_function(deployed: DeployedStack, ledger: RunLedger) -> None:
    execution = _start(deployed, "n_shape", "deployed-n-1", {"scale": 0.0})
    assert deployed.wait(execution)["status"] == "SUCCEEDED"
    run = ledger.get_run_by_id("deployed-n-1")
    assert run is not None and run.status == "SUCCEEDED" and len(run.tasks) == 5


def test_a_pooled_run_takes_and_frees_its_slots_through_the_deployed_pool_function(
    deployed: DeployedStack, ledger: RunLedger
) -> None:
    execution = _start(deployed, "warehouse_loads", "deployed-pool-1", {})
    assert deployed.wait(execution)["status"] == "SUCCEEDED"
    run = ledger.get_run_by_id("deployed-pool-1")
    assert run is not None and run.status == "SUCCEEDED" and run.tasks["refresh_views"].output == 3023
    pools = Pools(ledger.table, deployed.dynamodb)
    state = pools.state("warehouse")
    assert state is not None and state.slots == 2 and state.holders == frozenset() and pools.waiters("warehouse") == []
    actions = [e.get("action") for name, e in deployed.invocations if name.startswith(f"{STACK}-") and "Pool" in name]
    assert actions.count("acquire") == 4 and actions.count("release") == 4  # 3 loads and the refresh


def test_an_event_through_the_deployed_rule_starts_one_run(deployed: DeployedStack, ledger: RunLedger) -> None:
    results = [deployed.put_event(CSV_EVENT) for _ in range(3)]  # at-least-once: delivered three times
    assert [len(r) for r in results] == [1, 1, 1]  # the csv_arrived rule matched each time
    statuses = [r[0]["result"]["status"] for r in results]
    assert statuses == ["started", "duplicate", "duplicate"]
    run_id = results[0][0]["result"]["run_id"]
    assert {r[0]["result"]["run_id"] for r in results} == {run_id}
    runs = [r for r in ledger.list_runs("file_arrival", limit=50) if r.trigger.get("event_id") == CSV_EVENT["id"]]
    assert len(runs) == 1
    executions = deployed.sfn.list_executions(stateMachineArn=deployed.state_machine_arn("file_arrival"))["executions"]
    assert [e["name"] for e in executions].count(run_id) == 1
    deployed.wait(results[0][0]["result"]["execution_arn"])
    run = ledger.get_run_by_id(run_id)
    assert run is not None and run.status == "SUCCEEDED"
    assert run.params == {"bucket": "my-landing-bucket", "key": "incoming/2026/orders.csv", "priority": 5}
    assert run.trigger["type"] == "event" and run.trigger["name"] == "csv_arrived"
    assert run.logical_date is None


def test_an_event_the_patterns_do_not_match_starts_nothing(deployed: DeployedStack) -> None:
    before = len(deployed.invocations)
    detail = {**CSV_EVENT["detail"], "object": {"key": "incoming/a.json"}}
    wrong_suffix = {**CSV_EVENT, "id": "other-1", "detail": detail}
    low_priority = {
        "source": "com.example.reports",
        "detail-type": "ReportRequested",
        "id": "rep-0",
        "detail": {"key": "r.csv", "priority": 2, "requested_by": "ann"},
    }
    load_test = {**low_priority, "id": "rep-1", "detail": {"key": "r.csv", "priority": 9, "requested_by": "load-test"}}
    for event in (wrong_suffix, low_priority, load_test):
        assert deployed.put_event(event) == []
    assert len(deployed.invocations) == before


def test_a_custom_event_maps_its_fields_to_parameters(deployed: DeployedStack, ledger: RunLedger) -> None:
    event = {
        "source": "com.example.reports",
        "detail-type": "ReportRequested",
        "id": "rep-2",
        "detail": {"key": "reports/q4.csv", "priority": 7, "requested_by": "ann"},
    }
    (delivery,) = deployed.put_event(event)
    result = delivery["result"]
    assert result["status"] == "started"
    deployed.wait(result["execution_arn"])
    run = ledger.get_run_by_id(result["run_id"])
    assert run is not None and run.status == "SUCCEEDED"
    assert run.params == {"bucket": "my-landing-bucket", "key": "reports/q4.csv", "priority": 7}


def test_a_schedule_firing_runs_with_its_scheduled_time(deployed: DeployedStack, ledger: RunLedger) -> None:
    (logical,) = deployed.schedules()
    when = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    first = deployed.fire_schedule(logical, when)
    again = deployed.fire_schedule(logical, when, attempt=2)  # the Scheduler's retry of the same firing
    assert first["status"] == "started"
    assert (again["status"], again["run_id"]) == ("duplicate", first["run_id"])
    deployed.wait(first["execution_arn"])
    run = ledger.get_run_by_id(first["run_id"])
    assert run is not None and run.status == "SUCCEEDED"
    assert run.logical_date == "2026-11-23T05:00:00.000Z"
    assert run.params["key"] == "daily/summary.csv"
    assert run.trigger["type"] == "schedule" and run.trigger["name"] == "weekday_morning"
    load = next(a for a in run.attempts if a.task == "load")
    assert load.status == "SUCCEEDED"


def test_a_failed_run_alerts_once(deployed: DeployedStack, ledger: RunLedger, alerts: Any) -> None:
    alerts()
    execution = _start(deployed, "daily_etl", "deployed-etl-fail", {"rows": 3, "min_rows": 50})
    assert deployed.wait(execution)["status"] == "FAILED"  # wait() also emits the status change once
    deployed.emit_status_change(execution)  # EventBridge delivers it again
    run = ledger.get_run_by_id("deployed-etl-fail")
    assert run is not None and run.status == "FAILED"
    messages = alerts()
    assert len(messages) == 1
    assert messages[0]["run_id"] == "deployed-etl-fail" and messages[0]["workflow"] == "daily_etl"
    assert "quality_check" in messages[0]["failed_tasks"]


def test_the_recorder_closes_an_aborted_run_and_records_unknown_executions(
    deployed: DeployedStack, ledger: RunLedger, alerts: Any
) -> None:
    alerts()
    execution = _start(deployed, "n_shape", "deployed-abort", {"scale": 0.3})
    deployed.emit_status_change(execution)  # RUNNING: the run was started from "the console"
    run = ledger.get_run_by_id("deployed-abort")
    assert run is not None and run.trigger["type"] == "external" and run.execution_arn == execution
    for _ in range(500):  # moto's interpreter cannot stop an execution before its thread has started it
        if len(deployed.sfn.get_execution_history(executionArn=execution)["events"]) > 2:
            break
        time.sleep(0.01)
    deployed.sfn.stop_execution(executionArn=execution, error="Stopped", cause="by an operator")
    assert deployed.wait(execution)["status"] == "ABORTED"
    run = ledger.get_run_by_id("deployed-abort")
    assert run is not None and run.status == "ABORTED"
    assert alerts() == []  # an abort is an operator's decision, not a failure to page about


def test_a_parent_runs_its_deployed_child(deployed: DeployedStack, ledger: RunLedger) -> None:
    """The parent's placeholder holds the child's state machine ARN; the child run is linked."""
    execution = _start(deployed, "nightly", "deployed-parent-1", {"day": "2026-01-02"})
    assert deployed.wait(execution)["status"] == "SUCCEEDED"
    run = ledger.get_run_by_id("deployed-parent-1")
    assert run is not None and run.tasks["publish_day"].status == "SUCCEEDED"
    child = ledger.get_run_by_id("deployed-parent-1-publish_day-1")
    assert child is not None and child.status == "SUCCEEDED" and child.workflow == "publish"
    assert (child.parent_run_id, child.parent_task) == ("deployed-parent-1", "publish_day")


def test_three_events_with_a_limit_of_one_queue_and_all_finish_in_arrival_order(
    deployed: DeployedStack, ledger: RunLedger
) -> None:
    from orchestration.ledger.slots import Slots

    events = [
        {
            "source": "com.example.cache",
            "detail-type": "RefreshRequested",
            "id": f"refresh-{i}",
            "detail": {"region": r},
        }
        for i, r in enumerate(["eu", "us", "ap"])
    ]
    results = [deployed.put_event(e)[0]["result"] for e in events]
    assert [r["status"] for r in results] == ["started", "queued", "queued"]
    ids = [r["run_id"] for r in results]
    first, *queued = [ledger.get_run_item("cache_refresh", i) for i in ids]
    # the first may have ended already: its slot stays taken until the recorder hears of the end
    assert first is not None and first.status in ("RUNNING", "SUCCEEDED")
    assert [(r.status, r.execution_arn) for r in queued if r] == [("QUEUED", None)] * 2
    for run_id in ids:  # each end reaches the recorder (wait emits it), which starts the next queued run
        run = ledger.get_run_item("cache_refresh", run_id)
        assert run is not None and run.execution_arn is not None, run
        assert deployed.wait(run.execution_arn)["status"] == "SUCCEEDED"
    runs = [ledger.get_run_item("cache_refresh", i) for i in ids]
    assert [r.status for r in runs if r] == ["SUCCEEDED"] * 3
    assert [r.params["region"] for r in runs if r] == ["eu", "us", "ap"]
    starts = [r.started_at or "" for r in runs if r]
    ends = [r.ended_at or "" for r in runs if r]
    assert starts == sorted(starts) and all(ends[i] <= starts[i + 1] for i in range(2))  # one at a time
    assert Slots(ledger.table, deployed.dynamodb).holders("cache_refresh") == set()


def test_a_file_batch_sets_its_timer_in_the_stack_s_group_targeting_its_trigger(
    deployed: DeployedStack, ledger: RunLedger
) -> None:
    """Two files for the batched trigger of examples/file_batches.py: the deployed trigger function
    batches them and sets one timer in the stack's timer group, at the end of the quiet window (300 s),
    targeting itself; fired (as Scheduler would), it reaches the trigger function with the batch,
    which, the window not having passed yet in real time, starts nothing and sets the next timer."""
    from orchestration.local.timers import LocalTimers
    from orchestration.runtime.timers import parse_at

    keys = ["batches/a.csv", "batches/b.csv"]
    results = []
    for i, key in enumerate(keys):
        event = {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "id": f"batch-file-{i}",
            "time": "2026-11-21T09:00:00Z",
            "detail": {"bucket": {"name": "my-landing-bucket"}, "object": {"key": key, "size": 10, "etag": f"e{i}"}},
        }
        results += [r["result"] for r in deployed.put_event(event) if "filebatches" in r["rule"].lower()]
    assert [r["status"] for r in results] == ["batched", "batched"] and len({r["batch"] for r in results}) == 1
    batch = results[0]["batch"]
    (group,) = [deployed.resources[k] for k in deployed.of_type("AWS::Scheduler::ScheduleGroup")]
    [(name, due)] = LocalTimers(deployed.scheduler, {}, group=group).pending()
    timer = deployed.scheduler.get_schedule(Name=name, GroupName=group)
    trigger = timer["Target"]["Arn"]
    assert trigger.rsplit(":", 1)[-1] in deployed.handlers  # the workflow's trigger function
    assert json.loads(timer["Target"]["Input"]) == {"trigger": "csv_batch", "batch": batch}
    assert timedelta(seconds=250) < due - datetime.now(UTC) <= timedelta(seconds=301)
    assert parse_at(timer["ScheduleExpression"]) == due and timer["ActionAfterCompletion"] == "DELETE"
    calls = len(deployed.invocations)
    assert deployed.fire_timers(datetime.now(UTC)) == []  # not due yet
    assert deployed.fire_timers(due) == [name]
    deadline = time.monotonic() + 10
    while not any(e == {"trigger": "csv_batch", "batch": batch} for _, e in deployed.invocations[calls:]):
        assert time.monotonic() < deadline, "the timer never reached the trigger function"
        time.sleep(0.02)
    assert ledger.get_run_item("file_batches", batch) is None  # still quiet for less than 300 s: no run yet
