"""The trigger function, the recorder and `orch trigger` / `orch schedule`, on the local cloud (no synth)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.local.triggering import complete_event, deliver, fire, matches, matching_triggers
from orchestration.runtime.deps import Runtime
from orchestration.runtime.recorder import record_status
from orchestration.runtime.trigger import run_id_for, run_trigger
from tests.samples import S3_EVENT, example

FILE = str(example("file_arrival"))


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_workflow(FILE)


def test_same_event_delivered_three_times_starts_one_run(cloud: LocalCloud, wf: Any) -> None:
    event = complete_event({**S3_EVENT, "id": "dup-1"})
    results = [deliver(cloud, wf, "csv_arrived", event) for _ in range(3)]
    assert [r["status"] for r in results] == ["started", "duplicate", "duplicate"]
    assert len({r["run_id"] for r in results}) == 1
    run = cloud.wait(results[0]["run_id"])
    assert run.status == "SUCCEEDED"
    assert run.params == {"bucket": "my-landing-bucket", "key": "incoming/x.csv", "priority": 5}
    executions = cloud.sfn.list_executions(stateMachineArn=cloud.deploy(wf).state_machine_arn)["executions"]
    assert [e["name"] for e in executions].count(results[0]["run_id"]) == 1


def test_a_delivery_whose_first_attempt_died_before_starting_is_resumed(cloud: LocalCloud, wf: Any) -> None:
    """The record exists (conditional write won) but no execution: the retry starts it, once."""
    from orchestration.ledger import RunRecord
    from orchestration.times import iso

    event = complete_event({**S3_EVENT, "id": "crashed-1"})
    run_id = run_id_for(wf.name, "csv_arrived", "event:crashed-1", datetime(2026, 11, 21, 8, 30, tzinfo=UTC))
    died = iso(datetime.now(UTC) - timedelta(minutes=1))  # Lambda retries an async delivery a minute later
    cloud.ledger.create_run(RunRecord(run_id=run_id, workflow=wf.name, status="QUEUED", created_at=died))
    first = deliver(cloud, wf, "csv_arrived", event)
    second = deliver(cloud, wf, "csv_arrived", event)
    assert (first["status"], first["run_id"]) == ("resumed", run_id)
    assert second["status"] == "duplicate"
    assert cloud.wait(run_id).status == "SUCCEEDED"


def test_schedule_runs_get_the_scheduled_time_as_logical_date(cloud: LocalCloud, wf: Any) -> None:
    when = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    first, again = fire(cloud, wf, "weekday_morning", when), fire(cloud, wf, "weekday_morning", when)
    assert first["status"] == "started" and again["status"] == "duplicate"
    assert first["run_id"].startswith("s-20261124T050000Z-")
    run = cloud.wait(first["run_id"])
    assert run.logical_date == "2026-11-24T05:00:00.000Z"
    assert run.trigger["scheduled_time"] == "2026-11-24T05:00:00.000Z"
    assert run.params["key"] == "daily/summary.csv"
    other = fire(cloud, wf, "weekday_morning", datetime(2026, 11, 25, 5, 0, tzinfo=UTC))
    assert other["status"] == "started" and other["run_id"] != first["run_id"]


def test_event_fields_that_make_bad_parameters_are_rejected_without_a_run(cloud: LocalCloud, wf: Any) -> None:
    event = complete_event(
        {
            "source": "com.example.reports",
            "detail-type": "ReportRequested",
            "id": "bad-1",
            "detail": {"key": "r.csv", "priority": "urgent", "requested_by": "ann"},
        }
    )
    result = deliver(cloud, wf, "report_requested", event)
    assert result["status"] == "rejected"
    assert "priority" in result["error"]
    missing = deliver(cloud, wf, "report_requested", complete_event({"id": "bad-2", "detail": {"priority": 5}}))
    assert missing["status"] == "rejected" and "'key' is required" in missing["error"]


def test_unknown_trigger_and_malformed_deliveries_are_rejected(cloud: LocalCloud, wf: Any) -> None:
    dep = cloud.deploy(wf)
    rt = Runtime(cloud.ledger, workflow=wf, stepfunctions=cloud.sfn, state_machine_arn=dep.state_machine_arn)
    assert run_trigger({"trigger": "nope", "event": S3_EVENT}, rt)["status"] == "rejected"
    assert run_trigger({"trigger": "csv_arrived", "event": {"detail": {}}}, rt)["status"] == "rejected"
    assert run_trigger({"trigger": "weekday_morning", "scheduled_time": "soon"}, rt)["status"] == "rejected"


def test_run_ids_are_deterministic_valid_execution_names() -> None:
    a = run_id_for("wf", "t", "event:abc", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert a == run_id_for("wf", "t", "event:abc", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert a != run_id_for("wf2", "t", "event:abc", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert a.startswith("e-20260102T030405Z-") and len(a) <= 80
    assert all(c.isalnum() or c in "-_" for c in a)


def test_recorder_closes_runs_and_alerts_once(cloud: LocalCloud) -> None:
    class Topic:
        def __init__(self) -> None:
            self.published: list[dict[str, Any]] = []

        def publish(self, **kwargs: Any) -> None:
            self.published.append(kwargs)

    topic = Topic()
    rt = Runtime(
        cloud.ledger,
        sns=topic,
        alert_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts",
        state_machines={"orch-x": "x"},
    )
    detail = {
        "name": "rec-1",
        "status": "TIMED_OUT",
        "executionArn": "arn:aws:states:::execution:orch-x:rec-1",
        "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orch-x",
        "startDate": 1_790_000_000_000,
        "stopDate": 1_790_000_360_000,
        "input": json.dumps({"params": {"a": 1}}),
        "error": "States.Timeout",
        "cause": "execution timed out",
    }
    event = {"source": "aws.states", "detail-type": "Step Functions Execution Status Change", "detail": detail}
    first, second = record_status(event, rt), record_status(event, rt)
    assert first["alerted"] is True and second["alerted"] is False
    assert len(topic.published) == 1 and "TIMED_OUT" in topic.published[0]["Subject"]
    run = cloud.ledger.get_run_by_id("rec-1")
    assert run is not None and (run.status, run.workflow, run.params) == ("TIMED_OUT", "x", {"a": 1})
    assert run.error == "States.Timeout: execution timed out"
    # A late RUNNING event never moves the run backwards; SUCCEEDED is left to the finalize step.
    record_status({**event, "detail": {**detail, "status": "RUNNING"}}, rt)
    assert cloud.ledger.get_run_by_id("rec-1").status == "TIMED_OUT"  # type: ignore[union-attr]
    assert record_status({**event, "detail": {**detail, "status": "SUCCEEDED"}}, rt)["action"] == "none"
    assert record_status({"detail": {}}, rt)["action"] == "ignored"


# -- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"detail": {"key": [{"prefix": "in/"}]}}, {"detail": {"key": "in/a"}}, True),
        ({"detail": {"key": [{"prefix": "in/"}]}}, {"detail": {"key": "out/a"}}, False),
        ({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, {"detail": {"n": 5}}, True),
        ({"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}, {"detail": {"n": 6}}, False),
        ({"detail": {"n": [{"numeric": [">", 0]}]}}, {"detail": {"n": "7"}}, False),
        ({"detail": {"who": [{"anything-but": ["bot"]}]}}, {"detail": {"who": "ann"}}, True),
        ({"detail": {"who": [{"anything-but": ["bot"]}]}}, {"detail": {"who": "bot"}}, False),
        ({"detail": {"who": [{"anything-but": ["bot"]}]}}, {"detail": {}}, False),
        ({"detail": {"flag": [{"exists": False}]}}, {"detail": {}}, True),
        ({"detail": {"flag": [{"exists": True}]}}, {"detail": {}}, False),
        ({"detail": {"key": [{"wildcard": "in/*.csv"}]}}, {"detail": {"key": "in/x/y.csv"}}, True),
        ({"detail": {"key": [{"wildcard": "in/*.csv"}]}}, {"detail": {"key": "in/x.json"}}, False),
        ({"source": ["a", "b"]}, {"source": "b"}, True),
    ],
)
def test_patterns_have_eventbridge_semantics(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, complete_event(event)) is expected


def test_matching_triggers_finds_the_workflow(wf: Any) -> None:
    found = matching_triggers([wf], complete_event(S3_EVENT))
    assert [(w.name, n) for w, n in found] == [("file_arrival", "csv_arrived")]
    assert matching_triggers([wf], complete_event({"source": "elsewhere"})) == []
