"""max_concurrent_runs on the local cloud, with real task code: runs beyond the limit wait QUEUED and
start in arrival order as slots free up (the recorder releases them), or are SKIPPED; no slot leaks."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from orchestration import Param, Workflow
from orchestration.ledger import RunLedger, RunRecord
from orchestration.local import LocalCloud
from orchestration.local.triggering import complete_event, deliver
from orchestration.runtime.concurrency import slots_of
from orchestration.status import RunStatus, is_terminal
from orchestration.triggers import EventTrigger

TASK_TIMEOUT = 5  # seconds; generous: 100 runs share one interpreter (and a loaded machine)


def limited(name: str, limit: int, on_limit: str = "queue") -> Workflow:
    wf = Workflow(
        name,
        params={"seconds": Param(float, default=0.3), "fail": Param(bool, default=False)},
        max_concurrent_runs=limit,
        on_limit=on_limit,
        triggers=[EventTrigger(name="ping", pattern={"source": ["test.ping"]}, params={})],
    )

    @wf.task(timeout_seconds=TASK_TIMEOUT)
    def work(ctx: Any) -> float:
        time.sleep(ctx.params.seconds)
        if ctx.params.fail:
            raise RuntimeError("asked to fail")
        return float(ctx.params.seconds)

    return wf


def deliver_at_once(cloud: LocalCloud, wf: Workflow, count: int) -> list[dict[str, Any]]:
    """`count` events delivered to the trigger at the same moment (one thread each)."""
    barrier = threading.Barrier(count)
    results: list[dict[str, Any]] = [{} for _ in range(count)]

    def one(i: int) -> None:
        event = complete_event({"source": "test.ping", "detail-type": "Ping", "id": f"{wf.name}-{i}", "detail": {}})
        barrier.wait()
        results[i] = deliver(cloud, wf, "ping", event)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def max_overlap(runs: list[RunRecord]) -> int:
    """The most runs RUNNING at one moment, from the ledger's started_at/ended_at (ISO, same format)."""
    marks = sorted(
        [(r.started_at, 1) for r in runs if r.started_at] + [(r.ended_at, -1) for r in runs if r.started_at],
        key=lambda m: (m[0] or "", m[1]),  # an end before a start at the same instant
    )
    most = current = 0
    for _, step in marks:
        current += step
        most = max(most, current)
    return most


def test_three_events_at_once_with_a_limit_of_one_queue_and_finish_in_arrival_order(cloud: LocalCloud) -> None:
    wf = limited("limit_one", 1)
    results = deliver_at_once(cloud, wf, 3)
    # a delivery whose run a concurrent delivery's drain started may still say "queued"
    assert {r["status"] for r in results} <= {"started", "queued"}
    assert [r["status"] for r in results].count("started") <= 1
    ids = [r["run_id"] for r in results]
    seen = [cloud.ledger.get_run_item(wf.name, i) for i in ids]
    # the started run may have ended already: its slot stays taken until the recorder hears of it (wait)
    statuses = sorted(r.status for r in seen if r)
    assert statuses in ([RunStatus.QUEUED, RunStatus.QUEUED, s] for s in (RunStatus.RUNNING, RunStatus.SUCCEEDED))
    with ThreadPoolExecutor(3) as pool:
        finished = list(pool.map(lambda i: cloud.wait(i, workflow=wf.name), ids))
    assert [r.status for r in finished] == [RunStatus.SUCCEEDED] * 3
    by_start = sorted(finished, key=lambda r: r.started_at or "")
    # The queued runs start in arrival order (same millisecond: by run id). The one that took the free
    # slot is whichever delivery reached the queue first, which under load need not be the one whose
    # run record was written first: three deliveries "at once" have no order of their own.
    queued = by_start[1:]
    assert [r.run_id for r in queued] == [r.run_id for r in sorted(queued, key=lambda r: (r.created_at, r.run_id))]
    assert max_overlap(finished) == 1
    assert slots_of(cloud.ledger).holders(wf.name) == set()
    assert slots_of(cloud.ledger).queued(wf.name) == []


def test_skip_mode_records_skipped_with_the_reason(cloud: LocalCloud) -> None:
    wf = limited("limit_skip", 1, on_limit="skip")
    first = cloud.start(wf, {"seconds": 0.5})
    second = cloud.start(wf)
    skipped = cloud.wait(second, workflow=wf.name)
    assert skipped.status == RunStatus.SKIPPED and skipped.execution_arn is None
    assert skipped.error is not None and "max_concurrent_runs=1" in skipped.error and "on_limit='skip'" in skipped.error
    assert cloud.wait(first, workflow=wf.name).status == RunStatus.SUCCEEDED
    again = deliver(cloud, wf, "ping", complete_event({"source": "test.ping", "id": "skip-after", "detail": {}}))
    assert again["status"] == "started"  # the slot was freed by the recorder
    assert cloud.wait(again["run_id"], workflow=wf.name).status == RunStatus.SUCCEEDED
    assert slots_of(cloud.ledger).holders(wf.name) == set()


def abort_as_they_start(cloud: LocalCloud, wf: Workflow, run_ids: list[str], done: threading.Event) -> None:
    """Stop each run's execution once it is under way (moto cannot stop one its thread has not begun)."""
    left = set(run_ids)
    while left and not done.is_set():
        for run_id in sorted(left):
            run = cloud.ledger.get_run_item(wf.name, run_id)
            if run is None or run.execution_arn is None:
                continue
            if len(cloud.sfn.get_execution_history(executionArn=run.execution_arn)["events"]) > 2:
                cloud.sfn.stop_execution(executionArn=run.execution_arn, error="Stopped", cause="test abort")
                left.discard(run_id)
        time.sleep(0.05)


def test_a_hundred_runs_with_failures_timeouts_and_aborts_leave_no_slot_held(cloud: LocalCloud) -> None:
    wf = limited("limit_three", 3)
    rng = random.Random(9)
    kinds = ["ok"] * 73 + ["fail"] * 14 + ["timeout"] * 3 + ["abort"] * 10
    rng.shuffle(kinds)
    params = {
        "ok": {"seconds": 0.0},
        "fail": {"seconds": 0.0, "fail": True},
        "timeout": {"seconds": TASK_TIMEOUT + 0.5},  # beyond the task's timeout_seconds
        "abort": {"seconds": TASK_TIMEOUT - 0.5},  # stopped long before it ends
    }
    ids = [cloud.start(wf, params[kind]) for kind in kinds]
    queued = [cloud.ledger.get_run_item(wf.name, i).status for i in ids].count(RunStatus.QUEUED)  # type: ignore[union-attr]
    assert queued >= 97 - 3  # a few may have ended and freed their slot only once waited for

    done = threading.Event()
    aborts = [run_id for run_id, kind in zip(ids, kinds, strict=True) if kind == "abort"]
    aborter = threading.Thread(target=abort_as_they_start, args=(cloud, wf, aborts, done))
    aborter.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(lambda run_id: cloud.wait(run_id, workflow=wf.name), ids))
    finally:
        done.set()
        aborter.join()
    statuses = {kind: sorted({r.status for r, k in zip(runs, kinds, strict=True) if k == kind}) for kind in params}
    assert statuses == {
        "ok": [RunStatus.SUCCEEDED],
        "fail": [RunStatus.FAILED],
        "timeout": [RunStatus.FAILED],
        "abort": [RunStatus.ABORTED],
    }
    assert all(r.status in {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED} for r in runs)
    assert slots_of(cloud.ledger).holders(wf.name) == set()
    assert slots_of(cloud.ledger).queued(wf.name) == []
    assert max_overlap(runs) <= 3
    # arrival order: two recorders may start neighbours at the same moment, never jump the queue
    started = [r.run_id for r in sorted(runs, key=lambda r: r.started_at or "")]
    assert max(abs(started.index(run_id) - i) for i, run_id in enumerate(ids)) <= 3


def test_a_queued_run_that_ends_before_its_start_is_recorded_keeps_its_start_and_frees_its_slot(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain that starts a queued run records it RUNNING only after its execution has ended (a
    fast run, a slow starter): the run keeps its start time and execution, and its end frees the slot
    even when its waiter saw it ended before its execution was recorded."""
    wf = limited("limit_race", 1)
    original = RunLedger.set_run_status
    ended_unrecorded = threading.Event()

    def slow_starter(self: RunLedger, workflow: str, run_id: str, status: str, **kwargs: Any) -> bool:
        if status == RunStatus.RUNNING and kwargs.get("execution_arn") and workflow == wf.name:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # Finalize records the end first
                run = self.get_run_item(workflow, run_id)
                if run is not None and is_terminal(run.status):
                    break
                time.sleep(0.01)
            ended_unrecorded.set()
            time.sleep(0.5)  # the run's waiter sees it ended without an execution
        return original(self, workflow, run_id, status, **kwargs)

    monkeypatch.setattr(RunLedger, "set_run_status", slow_starter)
    first, second = cloud.start(wf, {"seconds": 0.0}), cloud.start(wf, {"seconds": 0.0})
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda run_id: cloud.wait(run_id, workflow=wf.name), [first, second]))
    assert ended_unrecorded.is_set()
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    assert slots_of(cloud.ledger).holders(wf.name) == set()
    for run_id in (first, second):
        stored = cloud.ledger.get_run_item(wf.name, run_id)
        assert stored is not None and stored.started_at and stored.execution_arn, run_id
