"""Limits on a stack deployed into moto's server, started as `orch run --stack` starts runs
(`start_on_stack`: the trigger function's starter): a pool of 2 across 5 concurrent runs, and a
limit of one across runs that succeed, fail and are stopped, which leaves no slot held."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.pools import Pools
from orchestration.loader import load_workflow
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns
from orchestration.operations.stack_start import start_on_stack
from orchestration.runtime.concurrency import slots_of
from orchestration.status import RunStatus
from tests.functional.test_pools import max_overlap
from tests.infra.conftest import STACK
from tests.infra.on_stack.conftest import REGION
from tests.samples import example

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]


@pytest.fixture
def runs(endpoint: str, deployed: DeployedStack) -> tuple[StackRuns, RunLedger]:
    stack = StackRuns(STACK, session=boto3.Session(region_name=REGION), endpoint_url=endpoint)
    return stack, RunLedger(stack.table, deployed.dynamodb)


def _ended(deployed: DeployedStack, ledger: RunLedger, workflow: str, run_id: str) -> RunRecord:
    """Wait for the run's execution (its end then reaches the recorder, which drains the queue)."""
    deadline = time.monotonic() + 30
    while (item := ledger.get_run_item(workflow, run_id)) is None or item.execution_arn is None:
        assert item is None or item.status == RunStatus.QUEUED, item
        assert time.monotonic() < deadline, f"{run_id} never started"
        time.sleep(0.02)
    deployed.wait(item.execution_arn)
    run = ledger.get_run(workflow, run_id)
    assert run is not None
    return run


def test_a_pool_of_two_runs_at_most_two_tasks_across_five_runs(
    runs: tuple[StackRuns, RunLedger], deployed: DeployedStack
) -> None:
    stack, ledger = runs
    wf = load_workflow(example("warehouse"), "warehouse_loads")
    ids = [f"pool-five-{i}" for i in range(5)]
    with ThreadPoolExecutor(5) as pool:
        started = list(pool.map(lambda run_id: start_on_stack(stack, wf, {}, run_id=run_id), ids))
    assert started == ["started"] * 5
    finals = [_ended(deployed, ledger, wf.name, run_id) for run_id in ids]
    assert [r.status for r in finals] == [RunStatus.SUCCEEDED] * 5
    pooled = {name for name, task in wf.tasks.items() if task.pool}
    attempts = [a for r in finals for a in r.attempts if a.task in pooled]
    assert len(attempts) >= 5 * len(pooled)
    # never beyond the pool; the example's loads take under a millisecond, so their recorded spans
    # rarely overlap (tests/functional/test_pools.py, with tasks that sleep, sees the pool used fully)
    assert 1 <= max_overlap(attempts) <= 2
    state = Pools(ledger.table, deployed.dynamodb).state("warehouse")
    assert state is not None and state.holders == frozenset()


def test_runs_that_succeed_fail_and_are_stopped_leave_no_slot_held(
    runs: tuple[StackRuns, RunLedger], deployed: DeployedStack
) -> None:
    stack, ledger = runs
    wf = load_workflow(example("one_at_a_time"), "cache_refresh")
    kinds = ["ok", "fail", "ok", "abort", "fail", "ok", "abort", "ok", "ok", "fail", "abort", "ok"]
    seconds = {"ok": 0.05, "fail": -1.0, "abort": 30.0}  # time.sleep(-1) raises: the task fails
    ids = [f"limit-mix-{i}" for i in range(len(kinds))]
    statuses = [start_on_stack(stack, wf, {"seconds": seconds[k]}, run_id=r) for k, r in zip(kinds, ids, strict=True)]
    assert statuses == ["started"] + ["queued"] * (len(kinds) - 1)
    finals = []
    for kind, run_id in zip(kinds, ids, strict=True):
        if kind == "abort":
            deadline = time.monotonic() + 30
            while (item := ledger.get_run_item(wf.name, run_id)) is None or item.execution_arn is None:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            deployed.sfn.stop_execution(executionArn=item.execution_arn, error="Test", cause="stopped by the test")
        finals.append(_ended(deployed, ledger, wf.name, run_id))
    expected = {"ok": RunStatus.SUCCEEDED, "fail": RunStatus.FAILED, "abort": RunStatus.ABORTED}
    assert [r.status for r in finals] == [expected[k] for k in kinds]
    spans = sorted((r.started_at or "", r.ended_at or "") for r in finals)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))  # one at a time, in order
    assert [r.run_id for r in sorted(finals, key=lambda r: r.started_at or "")] == ids
    assert slots_of(ledger).holders(wf.name) == set() and slots_of(ledger).queued(wf.name) == []
