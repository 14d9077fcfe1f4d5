"""A split workflow (parts started by a parent) runs as the same workflow unsplit: same task
statuses and outputs on random DAGs with failures, data edges and run-if rules; a repair re-runs
only what needs it."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration import RunIf, Workflow
from orchestration.local import LocalCloud
from orchestration.status import RunStatus, TaskStatus

FAILING = {"on": True}  # the failing tasks fail while this is on (off for the repair)


def random_workflow(seed: int, n: int = 14, name: str = "split") -> tuple[Workflow, set[str]]:
    rng = random.Random(seed)
    wf = Workflow(f"{name}{seed}")
    failing: set[str] = set()
    for i in range(n):
        name = f"t{i:02d}"
        ups = sorted(rng.sample([f"t{j:02d}" for j in range(i)], k=min(i, rng.randint(0, 3))))
        data = [u for u in ups if rng.random() < 0.6]
        fails = rng.random() < 0.15
        if fails:
            failing.add(name)
        # the task returns what it received, so outputs crossing parts are compared too
        source = (
            f"def {name}({', '.join(data)}):\n"
            f"    if {fails} and FAILING['on']:\n"
            f"        raise RuntimeError('{name} fails on purpose')\n"
            f"    return [{name!r}, {', '.join(data)}]\n"
        )
        scope: dict[str, Any] = {"FAILING": FAILING}
        exec(source, scope)  # a task whose parameters name its data upstreams
        run_if = rng.choice(
            [RunIf.ALL_SUCCESS, RunIf.ALL_SUCCESS, RunIf.ALL_DONE, RunIf.NONE_FAILED, RunIf.AT_LEAST_ONE_FAILED]
        )
        wf.task(name=name, after=[u for u in ups if u not in data], run_if=run_if if ups else RunIf.ALL_SUCCESS)(
            scope[name]
        )
    return wf, failing


@pytest.fixture(scope="module")
def cloud(quiet_logs: None) -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        yield c


def deploy(cloud: LocalCloud, wf: Workflow, part_tasks: int | None) -> Workflow:
    cloud.part_tasks = part_tasks  # workflows deploy split into parts of at most this many tasks
    cloud.deploy(wf)
    return wf


def outcome(run: Any) -> dict[str, tuple[str, Any]]:
    return {name: (t.status, t.output) for name, t in sorted(run.tasks.items())}


@pytest.mark.parametrize("seed", range(4))
def test_a_split_run_ends_as_the_unsplit_one(cloud: LocalCloud, seed: int) -> None:
    whole = deploy(cloud, random_workflow(seed, name="whole")[0], None)
    split = deploy(cloud, random_workflow(seed)[0], 5)
    assert sum(placeholder.startswith("part_") for placeholder in cloud.deployments[split.name].function_arns) == 3
    FAILING["on"] = True
    expected, got = cloud.run(whole), cloud.run(split)
    assert outcome(got) == outcome(expected)
    assert got.status == expected.status


def test_a_repair_of_a_split_run_reruns_only_what_failed_or_was_skipped(cloud: LocalCloud) -> None:
    wf, failing = random_workflow(11, n=16)
    deploy(cloud, wf, 5)
    assert failing
    FAILING["on"] = True
    first = cloud.run(wf)
    assert first.status == RunStatus.FAILED or any(t.status == TaskStatus.FAILED for t in first.tasks.values())
    done = {n for n, t in first.tasks.items() if t.status == TaskStatus.SUCCEEDED}
    FAILING["on"] = False
    repaired = cloud.repair(first.run_id)
    assert repaired.status == RunStatus.SUCCEEDED, {n: t.status for n, t in repaired.tasks.items()}
    assert all(repaired.tasks[n].attempts == first.tasks[n].attempts for n in done)  # not run again
    rerun = {n for n, t in first.tasks.items() if t.status == TaskStatus.FAILED}
    assert rerun and all(repaired.tasks[n].attempts > first.tasks[n].attempts for n in rerun if n in failing)
    assert not any(t.status == TaskStatus.FAILED for t in repaired.tasks.values())


def test_a_split_run_with_the_longest_run_id_starts_its_parts_and_repairs(cloud: LocalCloud) -> None:
    """Run ids (and repair execution names) may take all 80 characters an execution name allows:
    the parts' execution names still fit, and differ between a run and its repair."""
    wf, _ = random_workflow(11, n=16, name="long")
    deploy(cloud, wf, 5)
    run_id = "r" * 80
    FAILING["on"] = True
    first = cloud.run(wf, run_id=run_id)
    assert first.run_id == run_id and first.tasks and all(t.status != TaskStatus.PENDING for t in first.tasks.values())
    FAILING["on"] = False
    repaired = cloud.repair(run_id)
    assert repaired.status == RunStatus.SUCCEEDED
    arn = cloud.deployments[wf.name].state_machine_arn
    names = [
        e["name"]
        for part in range(1, 4)
        for e in cloud.sfn.list_executions(stateMachineArn=f"{arn}-part{part}")["executions"]
    ]
    assert len(names) == 6 and len(set(names)) == 6 and max(map(len, names)) <= 80


def test_a_part_that_does_not_finish_stops_the_others_and_fails_the_run(cloud: LocalCloud) -> None:
    """A part stopped mid-run (as a part that fails to start or times out): the parts waiting on its
    joins are stopped too, instead of waiting forever, and the run ends FAILED."""
    held, release = threading.Event(), threading.Event()
    wf = Workflow("stopped_part")

    @wf.task
    def first() -> int:  # part 1: held until its execution is stopped
        held.set()
        release.wait(30)
        return 1

    @wf.task
    def second(first: int) -> int:  # part 2: waits on part 1 through a join
        return first + 1

    @wf.task
    def third(second: int) -> int:  # part 3
        return second + 1

    deploy(cloud, wf, 1)
    run_id = cloud.start(wf)
    assert held.wait(30)
    arn = cloud.deployments[wf.name].state_machine_arn
    (part1,) = cloud.sfn.list_executions(stateMachineArn=f"{arn}-part1")["executions"]
    cloud.sfn.stop_execution(executionArn=part1["executionArn"])
    release.set()
    t0 = time.monotonic()
    run = cloud.wait(run_id, timeout_seconds=60)
    assert time.monotonic() - t0 < 30
    assert run.status == RunStatus.FAILED and run.error and "States." in run.error
    # the other parts are stopped; each ends ABORTED once the state it was in returns (as on AWS)
    deadline = time.monotonic() + 10
    for part in (2, 3):
        (execution,) = cloud.sfn.list_executions(stateMachineArn=f"{arn}-part{part}")["executions"]
        while cloud.sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert cloud.sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "ABORTED"
    assert run.tasks["third"].status != TaskStatus.SUCCEEDED
