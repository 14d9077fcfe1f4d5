"""Events at the calendar's extremes and of unexpected JSON types, through the trigger function
(`run_trigger` on the local cloud) and `orch trigger --event`: a run that ends, or a rejection with
its reason; never a traceback, never a run left open."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.local.triggering import complete_event, deliver, trigger_runtime
from orchestration.runtime.trigger import run_trigger
from tests.hostile.conftest import open_runs
from tests.samples import S3_EVENT, example, s3_object_created

FILE = str(example("file_arrival"))


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_workflow(FILE)


TIMES = [
    ("year_1", "0001-01-01T00:00:00Z"),
    ("year_1_east_offset", "0001-01-01T00:00:00+05:00"),
    ("year_9999", "9999-12-31T23:59:59Z"),
    ("year_9999_west_offset", "9999-12-31T23:59:59-05:00"),
    ("not_iso", "yesterday at noon"),
    ("rfc_2822", "Sat, 21 Nov 2026 08:30:00 GMT"),
    ("number", 1763713800),
    ("float", 1.5e300),
    ("negative", -1),
    ("null", None),
    ("list", ["2026-11-21T08:30:00Z"]),
    ("object", {"at": "2026-11-21T08:30:00Z"}),
    ("bool", True),
    ("empty", ""),
    ("feb_30", "2026-02-30T00:00:00Z"),
    ("leap_second", "2016-12-31T23:59:60Z"),
]


@pytest.mark.parametrize(("case", "time"), TIMES, ids=[c[0] for c in TIMES])
def test_event_times_at_the_extremes(cloud: LocalCloud, wf: Any, case: str, time: Any) -> None:
    event = complete_event({**s3_object_created(event_id=f"time-{case}"), "time": time})
    result = deliver(cloud, wf, "csv_arrived", event)
    assert result["status"] == "started", result
    run = cloud.wait(result["run_id"])
    assert run.status == "SUCCEEDED"
    assert len(run.run_id) <= 80
    assert result["run_id"] not in open_runs(cloud)


BAD_EVENTS = [
    ("event_list", [1, 2], "event"),
    ("event_string", "hello", "event"),
    ("event_null", None, "event"),
    ("event_number", 42, "event"),
    ("no_id", {"source": "aws.s3"}, "id"),
    ("id_null", {"id": None}, "id"),
    ("id_empty", {"id": ""}, "id"),
    ("detail_list", {"id": "d-list", "detail": [1]}, "key"),
    ("detail_string", {"id": "d-str", "detail": "x"}, "key"),
    ("object_key_number", {"id": "d-num", "detail": {"bucket": {"name": "b"}, "object": {"key": 7}}}, "key"),
    ("object_key_object", {"id": "d-obj", "detail": {"object": {"key": {"a": 1}}}}, "key"),
    ("object_key_list", {"id": "d-lst", "detail": {"object": {"key": ["a"]}}}, "key"),
    ("object_key_null", {"id": "d-nul", "detail": {"object": {"key": None}}}, "key"),
]


@pytest.mark.parametrize(("case", "event", "says"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_events_of_unexpected_json_types_are_rejected_with_the_reason(
    cloud: LocalCloud, wf: Any, case: str, event: Any, says: str
) -> None:
    before = set(open_runs(cloud))
    result = run_trigger({"trigger": "csv_arrived", "event": event}, trigger_runtime(cloud, wf))
    assert result["status"] == "rejected", result
    assert says in result["error"]
    assert "run_id" not in result
    assert set(open_runs(cloud)) == before


WEIRD_DELIVERIES = [
    ("payload_list", [1]),
    ("payload_string", "x"),
    ("payload_null", None),
    ("trigger_number", {"trigger": 5, "event": {}}),
    ("trigger_list", {"trigger": ["csv_arrived"], "event": {}}),
    ("schedule_time_year_0", {"trigger": "weekday_morning", "scheduled_time": "0000-01-01T00:00:00Z"}),
    ("schedule_time_number", {"trigger": "weekday_morning", "scheduled_time": 12}),
    ("schedule_time_overflow", {"trigger": "weekday_morning", "scheduled_time": "9999-12-31T23:59:59-12:00"}),
]


@pytest.mark.parametrize(("case", "payload"), WEIRD_DELIVERIES, ids=[c[0] for c in WEIRD_DELIVERIES])
def test_malformed_deliveries_are_rejected(cloud: LocalCloud, wf: Any, case: str, payload: Any) -> None:
    result = run_trigger(payload, trigger_runtime(cloud, wf))
    assert result["status"] == "rejected", result
    assert result["error"]


def test_concurrent_duplicate_deliveries_are_reported_as_duplicates(cloud: LocalCloud, wf: Any) -> None:
    event = complete_event({**S3_EVENT, "id": "concurrent-dup"})
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        results.append(deliver(cloud, wf, "csv_arrived", event))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [r["status"] for r in results]
    assert statuses.count("duplicate") == 5, statuses  # one delivery started the run; the others say so
    assert len({r["run_id"] for r in results}) == 1
    assert cloud.wait(results[0]["run_id"]).status == "SUCCEEDED"
    executions = cloud.sfn.list_executions(stateMachineArn=cloud.deploy(wf).state_machine_arn)["executions"]
    assert [e["name"] for e in executions].count(results[0]["run_id"]) == 1
