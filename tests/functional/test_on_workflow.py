"""`on_workflow` on the local cloud: a run's end, published by the recorder, starts the downstream
workflows whose statuses match, through their trigger functions, exactly once per upstream pass."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration import Param, Workflow, on_workflow
from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud
from orchestration.local.aws import status_change_event
from orchestration.runtime.recorder import record_status
from orchestration.status import RunStatus


def upstream() -> Workflow:
    wf = Workflow("extract", params={"fail": Param(bool, default=False)})

    @wf.task()
    def pull(ctx: Any) -> int:
        if ctx.params.fail:
            raise RuntimeError("source down")
        return 1

    return wf


def downstream(
    name: str, statuses: list[str], *, include_repairs: bool = False, limit: int | None = None, seconds: float = 0
) -> Workflow:
    wf = Workflow(
        name,
        params={
            "upstream_run": Param(str, default=""),
            "outcome": Param(str, default=""),
            "team": Param(str),
            "seconds": Param(float, default=0),
        },
        triggers=[
            on_workflow(
                "extract",
                statuses,
                params={"upstream_run": "run_id", "outcome": "status"},
                constants={"team": "data", "seconds": seconds},
                include_repairs=include_repairs,
            )
        ],
        max_concurrent_runs=limit,
    )

    @wf.task()
    def load(ctx: Any) -> str:
        time.sleep(ctx.params.seconds)
        return str(ctx.params.upstream_run)

    return wf


@pytest.fixture(scope="module")
def chain(quiet_logs: None) -> Iterator[tuple[LocalCloud, Workflow, Workflow, Workflow]]:
    a = upstream()
    b = downstream("load_ok", ["succeeded"])
    c = downstream("page_on_failure", ["FAILED", "timed_out"])
    with LocalCloud() as cloud:
        for wf in (a, b, c):
            cloud.deploy(wf)
        yield cloud, a, b, c


def runs_of(
    cloud: LocalCloud, workflow: str, after: str | None = None, timeout: float = 10.0, count: int = 1
) -> list[RunRecord]:
    """The workflow's runs (started after upstream run `after` when given) once `count` exist, each
    waited for to its end, oldest first (locally a run's end is recorded when it is waited for:
    that is what frees a slot for a queued run)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in cloud.ledger.list_runs(workflow) if after is None or r.params["upstream_run"] == after]
        if len(found) >= count or time.monotonic() > deadline:
            return [cloud.wait(r.run_id, workflow=workflow) for r in reversed(found)]
        time.sleep(0.02)


def test_a_succeeded_run_starts_the_succeeded_listener_once_with_its_run_id(chain: Any) -> None:
    cloud, a, b, c = chain
    upstream_run = cloud.run(a, logical_date=datetime(2026, 11, 20, tzinfo=UTC))
    assert upstream_run.status == RunStatus.SUCCEEDED
    [started] = runs_of(cloud, b.name, upstream_run.run_id)
    assert started.status == RunStatus.SUCCEEDED
    assert started.params == {"upstream_run": upstream_run.run_id, "outcome": "SUCCEEDED", "team": "data", "seconds": 0}
    assert started.logical_date == upstream_run.logical_date  # the chain processes the same interval
    assert started.run_id.startswith("w-")
    assert started.trigger | {"event_id": None} == {
        "type": "workflow",
        "name": "workflow",
        "upstream_workflow": "extract",
        "upstream_run_id": upstream_run.run_id,
        "upstream_repair": 0,
        "status": "SUCCEEDED",
        "event_id": None,
    }
    assert runs_of(cloud, c.name, upstream_run.run_id, timeout=0.2) == []  # it waits for failures only


def test_a_failed_run_starts_only_the_failure_listener(chain: Any) -> None:
    cloud, a, b, c = chain
    failed = cloud.run(a, {"fail": True})
    assert failed.status == RunStatus.FAILED
    [paged] = runs_of(cloud, c.name, failed.run_id)
    assert paged.params["outcome"] == "FAILED" and paged.status == RunStatus.SUCCEEDED
    assert runs_of(cloud, b.name, failed.run_id, timeout=0.2) == []


def test_a_duplicated_recorder_delivery_starts_one_run(chain: Any) -> None:
    cloud, a, b, _ = chain
    done = cloud.run(a)
    assert done.execution_arn is not None
    desc = cloud.sfn.describe_execution(executionArn=done.execution_arn)
    for _ in range(2):  # EventBridge delivers the status change again: the recorder publishes again
        result = record_status(status_change_event(done.execution_arn, desc), cloud._recorder_runtime())
        assert result["announced"] is True
    assert len(runs_of(cloud, b.name, done.run_id, timeout=1.0, count=2)) == 1


def test_a_repair_starts_a_run_only_with_include_repairs(chain: Any) -> None:
    cloud, a, _, _ = chain
    plain = downstream("after_runs", ["succeeded"])
    repairs = downstream("after_repairs_too", ["succeeded"], include_repairs=True)
    for wf in (plain, repairs):
        cloud.deploy(wf)
    failed = cloud.run(a, {"fail": True})
    assert failed.status == RunStatus.FAILED
    repaired = cloud.repair(failed.run_id, params={"fail": False})
    assert repaired.status == RunStatus.SUCCEEDED
    [after] = runs_of(cloud, repairs.name, failed.run_id)
    assert after.trigger["upstream_repair"] == 1 and after.params["upstream_run"] == failed.run_id
    assert runs_of(cloud, plain.name, failed.run_id, timeout=0.2) == []


def test_the_listener_respects_its_max_concurrent_runs(chain: Any) -> None:
    cloud, a, _, _ = chain
    b = downstream("one_at_a_time", ["succeeded"], limit=1, seconds=0.5)
    cloud.deploy(b)
    ends = [cloud.run(a) for _ in range(3)]
    started = runs_of(cloud, b.name, count=3)
    assert sorted(r.params["upstream_run"] for r in started) == sorted(r.run_id for r in ends)
    assert {r.status for r in started} == {RunStatus.SUCCEEDED}
    spans = sorted((r.started_at or "", r.ended_at or "") for r in started)
    for (_, ended), (began, _) in itertools.pairwise(spans):
        assert began >= ended  # the one slot: never two at once, the others waited QUEUED


def test_a_chain_of_three_workflows_goes_on_by_itself(chain: Any) -> None:
    """x_extract -> x_load -> x_report: the downstream runs are followed inside the cloud (as the
    recorder hears every end on AWS), so nothing but the first run needs waiting for."""
    cloud = chain[0]
    a = Workflow("x_extract")
    a.task(name="pull")(lambda: 1)
    b = Workflow("x_load", triggers=[on_workflow(a)])
    b.task(name="copy")(lambda: 1)
    c = Workflow(
        "x_report", params={"loaded": Param(str, default="")}, triggers=[on_workflow(b, params={"loaded": "run_id"})]
    )
    c.task(name="mail")(lambda: 1)
    for wf in (a, b, c):
        cloud.deploy(wf)
    first = cloud.run(a)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        reports = cloud.ledger.list_runs("x_report")
        if reports and reports[0].status == RunStatus.SUCCEEDED:
            break
        time.sleep(0.05)
    [load] = cloud.ledger.list_runs("x_load")
    [report] = cloud.ledger.list_runs("x_report")
    assert load.trigger["upstream_run_id"] == first.run_id and load.status == RunStatus.SUCCEEDED
    assert report.params["loaded"] == load.run_id and report.status == RunStatus.SUCCEEDED
