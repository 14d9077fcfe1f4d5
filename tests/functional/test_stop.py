"""Stopping a local run ends it at once, as StopExecution does on AWS, even while a join waits."""

from __future__ import annotations

import time

from orchestration import Workflow
from orchestration.local import LocalCloud
from orchestration.status import ExecutionStatus, RunStatus, TaskStatus


def n_shape(slow_seconds: float) -> Workflow:
    """a -> c, a -> d, b -> d: d waits (a join) for a, which is slow."""
    wf = Workflow("stop_while_joining")

    @wf.task
    def a() -> str:
        time.sleep(slow_seconds)
        return "a"

    @wf.task
    def b() -> str:
        return "b"

    @wf.task
    def c(a: str) -> str:
        return a

    @wf.task
    def d(a: str, b: str) -> str:
        return a + b

    return wf


def test_a_run_stopped_while_a_task_waits_on_a_join_ends_aborted(cloud: LocalCloud) -> None:
    wf = n_shape(slow_seconds=1.0)
    run_id = cloud.start(wf)
    run = cloud.ledger.get_run_item(wf.name, run_id)
    assert run is not None and run.execution_arn is not None
    time.sleep(0.4)  # b is done and d waits for a's signal
    cloud.sfn.stop_execution(executionArn=run.execution_arn, error="Stopped", cause="by an operator")
    deadline = time.monotonic() + 15
    status = ExecutionStatus.RUNNING
    while time.monotonic() < deadline:
        status = cloud.sfn.describe_execution(executionArn=run.execution_arn)["status"]
        if status != ExecutionStatus.RUNNING:
            break
        time.sleep(0.05)
    assert status == ExecutionStatus.ABORTED  # not left RUNNING by the waiting join
    record = cloud.wait(run_id)
    assert record.status == RunStatus.ABORTED
    assert record.tasks["d"].status != TaskStatus.SUCCEEDED
