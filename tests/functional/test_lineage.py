"""Lineage end to end on the local cloud: a run's OpenLineage events, as the recorder writes them to
the run's lineage.jsonl in the local store, against the datasets its tasks declared and reported."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from orchestration import Retry, Workflow
from orchestration.local import LocalCloud
from orchestration.operations.local_store import LocalStore

pytest.importorskip("openlineage.client", reason="openlineage-python is not installed: pip install -e '.[dev]'")

from orchestration.lineage.events import run_uuid, task_run_uuid

NAMESPACE = "orchestration"


def sales(fail_report: bool) -> Workflow:
    wf = Workflow("sales")
    tries: list[int] = []

    @wf.task(reads=["s3://raw-bucket/orders/2026/"], writes=["warehouse.orders"], retry=Retry(1, interval_seconds=1))
    def load(ctx: Any) -> int:
        ctx.lineage.read("crm.public.customers")  # reported at run time, as well as declared
        tries.append(1)
        if len(tries) == 1:
            raise ConnectionError("the bucket was slow")
        return 3

    @wf.task(reads=["warehouse.orders"], writes=["s3://reports-bucket/daily/report.csv"])
    def report(ctx: Any, load: int) -> int:
        ctx.lineage.wrote("warehouse.report_index")
        if fail_report:
            raise ValueError("the report bucket is read-only")
        return load

    return wf


def events_of(store: LocalStore, workflow: str, run_id: str) -> list[dict[str, Any]]:
    path = store.lineage_file(workflow, run_id)
    return [json.loads(line) for line in path.read_text().splitlines()]


def datasets(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in entries]


def by_job(events: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """job name -> [(eventType, runId)] in emission order."""
    jobs: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        jobs.setdefault(e["job"]["name"], []).append((e["eventType"], e["run"]["runId"]))
    return jobs


def test_a_run_emits_start_and_complete_for_itself_and_each_attempt_with_its_datasets(
    tmp_path: Path, quiet_logs: None
) -> None:
    store = LocalStore(tmp_path / "orch")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        run = cloud.run(sales(fail_report=False), run_id="sales-ok")
    assert run.status == "SUCCEEDED"
    events = events_of(store, "sales", "sales-ok")
    top = run_uuid("sales", "sales-ok")
    load1, load2 = (task_run_uuid("sales", "sales-ok", "load", n) for n in (1, 2))
    report1 = task_run_uuid("sales", "sales-ok", "report", 1)
    assert by_job(events) == {
        "sales": [("START", top), ("COMPLETE", top)],
        "sales.load": [("START", load1), ("FAIL", load1), ("START", load2), ("COMPLETE", load2)],
        "sales.report": [("START", report1), ("COMPLETE", report1)],
    }
    assert {e["job"]["namespace"] for e in events} == {NAMESPACE}
    assert all(uuid.UUID(e["run"]["runId"]) for e in events)
    for e in events:
        ours = e["run"]["facets"]["orchestration"]
        assert ours["runId"] == "sales-ok" and ours["workflow"] == "sales"
        if e["job"]["name"] == "sales":
            assert "parent" not in e["run"]["facets"] and e["inputs"] == e["outputs"] == []
            continue
        parent = e["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == top and parent["job"] == {
            "namespace": NAMESPACE,
            "name": "sales",
            "facets": {},
        }
        assert e["job"]["name"] == f"sales.{ours['task']}"
        assert e["run"]["runId"] == task_run_uuid("sales", "sales-ok", ours["task"], ours["attempt"])
        if ours["task"] == "load":  # declared first, then reported
            assert datasets(e["inputs"]) == [("s3://raw-bucket", "orders/2026/"), ("crm", "public.customers")]
            assert datasets(e["outputs"]) == [("warehouse", "orders")]
        else:
            assert datasets(e["inputs"]) == [("warehouse", "orders")]
            assert datasets(e["outputs"]) == [
                ("s3://reports-bucket", "daily/report.csv"),
                ("warehouse", "report_index"),
            ]
    failed = next(e for e in events if e["eventType"] == "FAIL")
    assert "ConnectionError: the bucket was slow" in failed["run"]["facets"]["errorMessage"]["message"]
    times = [e["eventTime"] for e in events if e["job"]["name"] == "sales"]
    assert times == [run.started_at, run.ended_at]


def test_a_failed_run_emits_fail_and_the_same_ids_when_emitted_again(tmp_path: Path, quiet_logs: None) -> None:
    store = LocalStore(tmp_path / "orch")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        run = cloud.run(sales(fail_report=True), run_id="sales-bad")
        assert run.status == "FAILED"
        events = events_of(store, "sales", "sales-bad")
        jobs = by_job(events)
        assert [t for t, _ in jobs["sales"]] == ["START", "FAIL"]
        assert [t for t, _ in jobs["sales.report"]] == ["START", "FAIL"]
        end = events[-1]
        assert end["job"]["name"] == "sales" and "report" in end["run"]["facets"]["errorMessage"]["message"]
        # the recorder hearing of the end again (a duplicated EventBridge delivery) re-sends the same events
        from orchestration.runtime.lineage import emit_run

        assert emit_run(cloud._recorder_runtime(), "sales", "sales-bad", 0) == {"lineage": len(events)}
    again = events_of(store, "sales", "sales-bad")[len(events) :]
    assert again == events


def test_the_start_is_sent_as_the_run_starts_and_again_identical_at_its_end(tmp_path: Path, quiet_logs: None) -> None:
    from orchestration.local.aws import status_change_event
    from orchestration.runtime.recorder import record_status

    hold = threading.Event()
    wf = Workflow("slow_sales")

    @wf.task(writes=["warehouse.orders"])
    def load() -> int:
        assert hold.wait(20)
        return 1

    store = LocalStore(tmp_path / "orch")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        cloud.start(wf, run_id="slow-1")
        started = cloud.ledger.get_run_item("slow_sales", "slow-1")
        assert started is not None and started.execution_arn is not None
        desc = cloud.sfn.describe_execution(executionArn=started.execution_arn)
        # what the recorder does on AWS when EventBridge tells it the execution is RUNNING
        record_status(
            status_change_event(started.execution_arn, {**desc, "status": "RUNNING"}), cloud._recorder_runtime()
        )
        [early] = events_of(store, "slow_sales", "slow-1")
        assert (early["eventType"], early["job"]["name"]) == ("START", "slow_sales")
        assert early["run"]["runId"] == run_uuid("slow_sales", "slow-1")
        hold.set()
        assert cloud.wait("slow-1").status == "SUCCEEDED"
    events = events_of(store, "slow_sales", "slow-1")
    assert events[1] == early  # the full set at the end starts with the same START (one run to a backend)
    assert [e["eventType"] for e in events[1:]] == ["START", "START", "COMPLETE", "COMPLETE"]


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, self.headers.get("Authorization"), body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_deployed_recorder_posts_the_events_to_the_endpoint_with_its_api_key(
    tmp_path: Path, quiet_logs: None
) -> None:
    from orchestration.lineage import LineageTarget
    from orchestration.runtime.deps import Runtime
    from orchestration.runtime.lineage import emit_run

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with LocalCloud(secrets={"lineage/api-key": "k-123"}, echo_task_output=False) as cloud:
            cloud.run(sales(fail_report=False), run_id="sales-http")
            url = f"http://127.0.0.1:{server.server_address[1]}"
            target = LineageTarget(namespace="prod", url=url, api_key_secret="lineage/api-key")
            sent = emit_run(Runtime(ledger=cloud.ledger, lineage=target), "sales", "sales-http", 0)
    finally:
        server.shutdown()
    assert sent == {"lineage": 8} and len(Collector.received) == 8
    assert {(path, auth) for path, auth, _ in Collector.received} == {("/api/v1/lineage", "Bearer k-123")}
    bodies = [body for _, _, body in Collector.received]
    assert [(b["job"]["namespace"], b["job"]["name"], b["eventType"]) for b in bodies][:2] == [
        ("prod", "sales", "START"),
        ("prod", "sales.load", "START"),
    ]
