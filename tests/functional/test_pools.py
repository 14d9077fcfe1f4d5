"""Pools on the local cloud, with real task code: at most `slots` pooled tasks run at once across
runs and workflows, and a slot is never kept by a task that failed or a run that was stopped."""

from __future__ import annotations

import time
from collections.abc import Iterable

from orchestration import Pool, Workflow
from orchestration.ledger import Attempt
from orchestration.ledger.pools import Pools
from orchestration.local import LocalCloud
from orchestration.status import ExecutionStatus, RunStatus, TaskStatus
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
