"""Pools on the local cloud, with real task code: at most `slots` pooled tasks run at once across
runs and workflows, and a slot is never kept by a task that failed or a run that was stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from orchestration import Pool, Retry, Workflow, WorkflowDefinitionError
from orchestration.ledger import Attempt
from orchestration.ledger.pools import Pools
from orchestration.local import LocalCloud
from orchestration.status import RunStatus, TaskStatus
from orchestration.times import parse_iso

SLEEP = 0.2


def max_overlap(attempts: Iterable[Attempt]) -> int:
    """The most attempts running at one moment, from their ledger start and end timestamps."""
    events: list[tuple[float, int]] = []
    for att in attempts:
        start, end = parse_iso(att.started_at), parse_iso(att.ended_at)
        assert start is not None and end is not None, att
        events += [(start.timestamp(), 1), (end.timestamp(), -1)]
    running = peak = 0
    for _, step in sorted(events):  # at equal times an end (-1) sorts before a start
        running += step
        peak = max(peak, running)
    return peak


def three_pooled(name: str, pool: Pool | str, declare: Pool) -> Workflow:
    """extract -> transform -> load, each pooled, each sleeping SLEEP seconds."""
    wf = Workflow(name)

    @wf.task(pool=declare)
    def extract() -> int:
        time.sleep(SLEEP)
        return 1

    @wf.task(pool=pool)
    def transform(extract: int) -> int:
        time.sleep(SLEEP)
        return extract + 1

    @wf.task(pool=pool)
    def load(transform: int) -> int:
        time.sleep(SLEEP)
        return transform + 1

    return wf


def pooled_attempts(cloud: LocalCloud, runs: list[tuple[str, str]], tasks: set[str]) -> list[Attempt]:
    out: list[Attempt] = []
    for workflow, run_id in runs:
        run = cloud.ledger.get_run(workflow, run_id)
        assert run is not None
        out += [a for a in run.attempts if a.task in tasks]
    return out


def pool_items(cloud: LocalCloud, pool: str) -> tuple[frozenset[str], int]:
    pools = Pools(cloud.table_name, cloud.dynamodb)
    state = pools.state(pool)
    return (state.holders if state else frozenset()), len(pools.waiters(pool))


def test_a_pool_of_two_never_runs_more_than_two_tasks_across_five_runs(cloud: LocalCloud) -> None:
    pool = Pool("warehouse", slots=2)
    wf = three_pooled("pooled_five", "warehouse", pool)
    run_ids = [cloud.start(wf) for _ in range(5)]
    finals = [cloud.wait(r, workflow=wf.name) for r in run_ids]
    assert [r.status for r in finals] == [RunStatus.SUCCEEDED] * 5
    attempts = pooled_attempts(cloud, [(wf.name, r) for r in run_ids], {"extract", "transform", "load"})
    assert len(attempts) == 15
    assert max_overlap(attempts) == 2  # the pool is used fully, and never beyond
    assert pool_items(cloud, "warehouse") == (frozenset(), 0)


def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def slow_one(name: str, pool: Pool, seconds: float) -> Workflow:
    wf = Workflow(name)

    @wf.task(pool=pool)
    def work() -> str:
        time.sleep(seconds)
        return "done"

    return wf


def held_until(name: str, pool: Pool, release: threading.Event) -> Workflow:
    """One pooled task that runs until the test sets `release` (no timing guesses)."""
    wf = Workflow(name)

    @wf.task(pool=pool)
    def work() -> str:
        assert release.wait(30), "never released"
        return "done"

    return wf


def execution_of(cloud: LocalCloud, workflow: str, run_id: str) -> str:
    run = cloud.ledger.get_run_item(workflow, run_id)
    assert run is not None and run.execution_arn is not None
    return run.execution_arn


def test_a_task_failing_after_its_retries_frees_its_slot(cloud: LocalCloud) -> None:
    pool = Pool("retried", slots=1)
    wf = Workflow("pooled_failing")

    @wf.task(pool=pool, retry=Retry(max_attempts=2, interval_seconds=1))
    def flaky() -> None:
        raise RuntimeError("always broken")

    failed = cloud.run(wf)
    assert failed.status == RunStatus.FAILED
    assert failed.tasks["flaky"].status == TaskStatus.FAILED and failed.tasks["flaky"].attempts == 3
    assert pool_items(cloud, "retried") == (frozenset(), 0)  # held across the retries, freed at the end
    assert cloud.run(slow_one("pooled_after_failure", pool, 0.0)).status == RunStatus.SUCCEEDED


def test_a_run_stopped_while_holding_a_slot_frees_it(cloud: LocalCloud) -> None:
    pool, release = Pool("stopped_holder", slots=1), threading.Event()
    holder, waiter = held_until("pooled_holder", pool, release), slow_one("pooled_next", pool, 0.0)
    try:
        first = cloud.start(holder)
        wait_until(lambda: len(pool_items(cloud, "stopped_holder")[0]) == 1)
        second = cloud.start(waiter)
        wait_until(lambda: pool_items(cloud, "stopped_holder")[1] == 1)  # queued behind the holder
        cloud.sfn.stop_execution(executionArn=execution_of(cloud, holder.name, first), error="Stopped")
        assert cloud.wait(first, workflow=holder.name).status == RunStatus.ABORTED  # the recorder frees its slot
        assert cloud.wait(second, workflow=waiter.name).status == RunStatus.SUCCEEDED
        assert not release.is_set()  # the stopped run's task code still runs: its slot was freed all the same
        assert pool_items(cloud, "stopped_holder") == (frozenset(), 0)
    finally:
        release.set()


def test_a_run_stopped_while_waiting_does_not_block_the_others(cloud: LocalCloud) -> None:
    pool, release = Pool("stopped_waiter", slots=1), threading.Event()
    holder, quick = held_until("pooled_busy", pool, release), slow_one("pooled_quick", pool, 0.0)
    try:
        first = cloud.start(holder)
        wait_until(lambda: len(pool_items(cloud, "stopped_waiter")[0]) == 1)
        dead = cloud.start(quick)
        wait_until(lambda: pool_items(cloud, "stopped_waiter")[1] == 1)
        cloud.sfn.stop_execution(executionArn=execution_of(cloud, quick.name, dead), error="Stopped")
        assert cloud.wait(dead, workflow=quick.name).status == RunStatus.ABORTED
        third = cloud.start(quick)  # queued behind the stopped run's waiter
        wait_until(lambda: pool_items(cloud, "stopped_waiter")[1] == 2)
    finally:
        release.set()
    assert cloud.wait(first, workflow=holder.name).status == RunStatus.SUCCEEDED
    assert cloud.wait(third, workflow=quick.name).status == RunStatus.SUCCEEDED  # the dead waiter was skipped
    assert pool_items(cloud, "stopped_waiter") == (frozenset(), 0)


def test_two_workflows_share_a_pool(cloud: LocalCloud) -> None:
    pool = Pool("shared", slots=2)
    first, second = three_pooled("pooled_first", pool, pool), three_pooled("pooled_second", "shared", pool)
    runs = [(wf, cloud.start(wf)) for _ in range(3) for wf in (first, second)]
    assert [cloud.wait(r, workflow=wf.name).status for wf, r in runs] == [RunStatus.SUCCEEDED] * 6
    attempts = pooled_attempts(cloud, [(wf.name, r) for wf, r in runs], {"extract", "transform", "load"})
    assert len(attempts) == 18 and max_overlap(attempts) == 2


@pytest.mark.parametrize("mode", ["auto", "distributed"])  # auto runs this short list inline
def test_each_item_of_a_for_each_takes_a_slot(cloud: LocalCloud, mode: str) -> None:
    pool = Pool("items", slots=2)
    wf = Workflow(f"pooled_for_each_{mode}")

    @wf.task
    def numbers() -> list[int]:
        return list(range(6))

    @wf.task(for_each=numbers, pool=pool, mode=mode)
    def square(item: int) -> int:
        time.sleep(SLEEP)
        return item * item

    @wf.task
    def total(square: list[int]) -> int:
        return sum(square)

    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED and run.tasks["total"].output == 55
    items = pooled_attempts(cloud, [(wf.name, run.run_id)], {"square"})
    assert len(items) == 6 and max_overlap(items) == 2
    assert pool_items(cloud, "items") == (frozenset(), 0)


def test_a_failed_for_each_frees_its_items_slots(cloud: LocalCloud) -> None:
    pool = Pool("failing_items", slots=1)
    wf = Workflow("pooled_for_each_failing")

    @wf.task
    def numbers() -> list[int]:
        return list(range(4))

    @wf.task(for_each=numbers, pool=pool)
    def check(item: int) -> int:
        if item == 1:
            raise ValueError("bad item 1")
        return item

    run = cloud.run(wf)
    assert run.status == RunStatus.FAILED and run.tasks["check"].status == TaskStatus.FAILED
    assert pool_items(cloud, "failing_items") == (frozenset(), 0)


def test_a_pool_declared_with_two_slot_counts_is_refused(cloud: LocalCloud) -> None:
    cloud.deploy(slow_one("pooled_two_slots", Pool("clash", slots=2), 0.0))
    with pytest.raises(WorkflowDefinitionError) as err:
        cloud.deploy(slow_one("pooled_three_slots", Pool("clash", slots=3), 0.0))
    assert "slots=2 in workflow 'pooled_two_slots'" in str(err.value)
    assert "slots=3 in workflow 'pooled_three_slots'" in str(err.value)


def test_a_waiter_whose_wake_fails_keeps_its_place_and_is_woken_by_the_retry(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendTaskSuccess for an admitted waiter fails once (throttled): the slot goes back, the waiter
    keeps its place, the failed call's retry wakes it; nothing is left waiting or held."""
    from orchestration.runtime import pool as pool_runtime

    pool, release = Pool("throttled", slots=1), threading.Event()
    holder, waiter = held_until("pooled_throttle_holder", pool, release), slow_one("pooled_throttle_next", pool, 0.0)
    original, failed = pool_runtime._wake, threading.Event()

    def throttled(rt: Any, token: str) -> bool:
        if waiting.is_set() and not failed.is_set():  # the first wake of the queued waiter
            failed.set()
            raise RuntimeError("ThrottlingException: rate exceeded")
        return original(rt, token)

    waiting = threading.Event()
    monkeypatch.setattr(pool_runtime, "_wake", throttled)
    first = cloud.start(holder)
    wait_until(lambda: pool_items(cloud, "throttled")[0] != frozenset())
    second = cloud.start(waiter)
    wait_until(lambda: pool_items(cloud, "throttled")[1] == 1)  # queued behind the holder
    waiting.set()
    release.set()
    assert cloud.wait(first, workflow=holder.name, timeout_seconds=60).status == RunStatus.SUCCEEDED
    assert cloud.wait(second, workflow=waiter.name, timeout_seconds=60).status == RunStatus.SUCCEEDED
    assert failed.is_set()
    assert pool_items(cloud, "throttled") == (frozenset(), 0)
