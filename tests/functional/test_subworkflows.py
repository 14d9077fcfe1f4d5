"""A parent workflow runs child workflows locally: both runs in the ledger, linked; failures, retries,
timeouts and stops of the child reach the parent as for any task."""

from __future__ import annotations

import json
import time
from typing import Any

from orchestration import Param, Retry, RunIf, Workflow
from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud
from orchestration.local.aws import status_change_event
from orchestration.runtime.deps import Runtime
from orchestration.runtime.recorder import record_status

child = Workflow("child_load", params={"day": str, "rows": int, "mode": Param(str, default="full")})


@child.task
def load(ctx: Any) -> int:
    if ctx.params.rows < 0:
        raise ValueError("negative rows")
    time.sleep(ctx.params.rows / 1000)  # rows=1500: a child slower than its parent's timeout
    return int(ctx.params.rows)


received: dict[str, Any] = {}  # run id -> what the parent's downstream task received


def parent_workflow(name: str, *, retry: int = 0, timeout_seconds: int | None = None) -> Workflow:
    wf = Workflow(name, params={"day": str, "rows": int})

    @wf.task
    def extract(ctx: Any) -> int:
        return int(ctx.params.rows)

    wf.run_workflow(
        "sub",
        workflow=child,
        params={"day": wf.param("day"), "rows": extract},
        retry=Retry(max_attempts=retry, interval_seconds=30),
        timeout_seconds=timeout_seconds,
    )

    @wf.task(run_if=RunIf.ALL_DONE)
    def report(ctx: Any, sub: Any = None) -> None:
        received[ctx.run_id] = sub

    @wf.task
    def after_success(sub: Any) -> Any:
        return sub

    return wf


parent = parent_workflow("parent")
retried = parent_workflow("parent_retried", retry=2)
timed = parent_workflow("parent_timed", timeout_seconds=1)


def children_of(cloud: LocalCloud, run_id: str) -> list[RunRecord]:
    runs = [r for r in cloud.ledger.list_runs(child.name, limit=100) if r.parent_run_id == run_id]
    return sorted(runs, key=lambda r: r.run_id)


def test_a_parent_runs_a_child_and_both_runs_are_in_the_ledger_linked(cloud: LocalCloud) -> None:
    run = cloud.run(parent, {"day": "2026-01-02", "rows": 5}, run_id="pc-ok")
    assert run.status == "SUCCEEDED"
    assert {n: (t.status, t.attempts) for n, t in run.tasks.items()} == {
        "extract": ("SUCCEEDED", 1),
        "sub": ("SUCCEEDED", 1),
        "report": ("SUCCEEDED", 1),
        "after_success": ("SUCCEEDED", 1),
    }
    (record,) = children_of(cloud, "pc-ok")
    assert record.run_id == "pc-ok-sub-1" and record.status == "SUCCEEDED"
    assert (record.parent_run_id, record.parent_workflow, record.parent_task) == ("pc-ok", "parent", "sub")
    assert record.trigger == {
        "type": "workflow",
        "parent_run_id": "pc-ok",
        "parent_workflow": "parent",
        "parent_task": "sub",
        "parent_attempt": 1,
    }
    assert record.params == {"day": "2026-01-02", "rows": 5, "mode": "full"}  # checked, defaults applied
    assert record.definition_hash == cloud.deployments[child.name].definition_hash
    assert record.execution_arn and record.execution_arn.endswith(":child_load:pc-ok-sub-1")
    assert record.started_at and record.ended_at
    full = cloud.ledger.get_run_by_id("pc-ok-sub-1")
    assert full is not None and full.tasks["load"].status == "SUCCEEDED"
    # The task's output names the child run; a downstream task receives it.
    assert received["pc-ok"] == {
        "run_id": "pc-ok-sub-1",
        "workflow": "child_load",
        "status": "SUCCEEDED",
        "tasks": {"load": "SUCCEEDED"},
    }
    assert run.tasks["sub"].output == received["pc-ok"]  # recorded in the ledger as the task's output
    described = cloud.sfn.describe_execution(executionArn=record.execution_arn)
    assert json.loads(described["input"])["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"].endswith(":parent:pc-ok")


def test_a_failing_child_fails_the_task_and_run_if_decides_downstream(cloud: LocalCloud) -> None:
    run = cloud.run(parent, {"day": "2026-01-02", "rows": -1}, run_id="pc-fail")
    assert run.status == "FAILED"
    assert {n: t.status for n, t in run.tasks.items()} == {
        "extract": "SUCCEEDED",
        "sub": "FAILED",
        "report": "SUCCEEDED",
        "after_success": "UPSTREAM_FAILED",
    }
    assert run.tasks["sub"].error == (
        "SubWorkflow.Failed: run pc-fail-sub-1 of workflow 'child_load' ended FAILED: tasks failed: load"
    )
    assert received["pc-fail"] is None
    (record,) = children_of(cloud, "pc-fail")
    assert (record.status, record.error) == ("FAILED", "tasks failed: load")


def test_each_retry_of_the_task_starts_a_new_child_run(cloud: LocalCloud) -> None:
    run = cloud.run(retried, {"day": "2026-01-02", "rows": -1}, run_id="pc-retry")
    assert (run.tasks["sub"].status, run.tasks["sub"].attempts) == ("FAILED", 3)
    records = children_of(cloud, "pc-retry")
    assert [(r.run_id, r.status, r.trigger["parent_attempt"]) for r in records] == [
        ("pc-retry-sub-1", "FAILED", 1),
        ("pc-retry-sub-2", "FAILED", 2),
        ("pc-retry-sub-3", "FAILED", 3),
    ]
    full = cloud.ledger.get_run_by_id("pc-retry")
    assert full is not None
    attempts = [(a.attempt, a.status, a.error) for a in full.attempts if a.task == "sub"]
    assert attempts == [(n, "FAILED", "SubWorkflow.Failed") for n in (1, 2, 3)]
    assert cloud.adapter.clock.sleeps[-2:] == [30.0, 60.0]  # the task's retry policy, on the virtual clock


def test_bad_child_params_at_run_time_fail_the_task_without_a_child_run(cloud: LocalCloud) -> None:
    wf = Workflow("parent_bad_params")

    @wf.task
    def extract() -> str:
        return "not a number"

    wf.run_workflow("sub", workflow=child, params={"day": "2026-01-02", "rows": extract})
    run = cloud.run(wf, run_id="pc-bad")
    assert run.tasks["sub"].status == "FAILED"
    assert run.tasks["sub"].error is not None and run.tasks["sub"].error.startswith(
        "ParameterError: bad parameters for workflow 'child_load': parameter 'rows'"
    )
    assert children_of(cloud, "pc-bad") == []


def test_a_task_timeout_stops_the_child(cloud: LocalCloud) -> None:
    run = cloud.run(timed, {"day": "2026-01-02", "rows": 1500}, run_id="pc-timeout")
    assert run.tasks["sub"].status == "FAILED"
    assert run.tasks["sub"].error == (
        "SubWorkflow.Timeout: run pc-timeout-sub-1 of workflow 'child_load' did not end within the task's "
        "timeout_seconds: stopped"
    )
    # The child is stopped, and ends ABORTED once the state running when it was stopped returns (as on
    # AWS, where the recorder hears of it from EventBridge): possibly just after its parent's end.
    deadline = time.monotonic() + 10
    while children_of(cloud, "pc-timeout")[0].status != "ABORTED" and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = children_of(cloud, "pc-timeout")
    assert (record.status, record.error) == ("ABORTED", "Aborted: the execution was stopped")
    while cloud.sfn.describe_execution(executionArn=record.execution_arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert cloud.sfn.describe_execution(executionArn=record.execution_arn)["status"] == "ABORTED"
    load_attempt = cloud.ledger.get_run_by_id("pc-timeout-sub-1")
    assert load_attempt is not None and load_attempt.tasks["load"].status == "FAILED"  # cut off by the stop


def test_stopping_the_parent_stops_the_child(cloud: LocalCloud) -> None:
    cloud.start(parent, {"day": "2026-01-02", "rows": 1500}, run_id="pc-stop")
    deadline = time.monotonic() + 10
    while not children_of(cloud, "pc-stop") and time.monotonic() < deadline:
        time.sleep(0.01)
    started = cloud.ledger.get_run_by_id("pc-stop")
    assert started is not None and started.execution_arn is not None
    cloud.sfn.stop_execution(executionArn=started.execution_arn)
    run = cloud.wait("pc-stop")
    assert run.status == "ABORTED"
    # The child is stopped and recorded as its parent's wait for it ends, which (as on AWS, where the
    # recorder hears of it from EventBridge) may come just after the parent's own end.
    deadline = time.monotonic() + 10
    while children_of(cloud, "pc-stop")[0].status != "ABORTED" and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = children_of(cloud, "pc-stop")
    assert record.status == "ABORTED"


def test_the_recorder_links_a_child_execution_it_has_not_seen(cloud: LocalCloud) -> None:
    """A child started by other means than its parent's task (no record yet): the recorder creates it
    from the parent link in the input."""
    arn = cloud.deploy(child).state_machine_arn
    link = {"run_id": "elsewhere", "workflow": "parent", "task": "sub", "attempt": 4}
    execution = cloud.sfn.start_execution(
        stateMachineArn=arn, name="adopted", input=json.dumps({"params": {"day": "d", "rows": 1}, "parent": link})
    )["executionArn"]
    desc = cloud.sfn.describe_execution(executionArn=execution)
    record_status(status_change_event(execution, {**desc, "status": "RUNNING"}), Runtime(ledger=cloud.ledger))
    record = cloud.ledger.get_run_item(child.name, "adopted")
    assert record is not None
    assert (record.parent_run_id, record.parent_workflow, record.parent_task) == ("elsewhere", "parent", "sub")
    assert record.trigger["type"] == "workflow" and record.trigger["parent_attempt"] == 4


def test_a_child_recorded_but_never_started_is_closed_when_its_parent_ends_first(cloud: LocalCloud) -> None:
    """The parent stopped between the step that records the child (QUEUED) and the state that starts
    it: the recorder, hearing the parent's end, closes the child rather than leave it QUEUED."""
    from orchestration.runtime.children import child_run_id
    from orchestration.runtime.subflow import claim_attempt
    from orchestration.times import now_iso

    arn = cloud.deploy(parent).state_machine_arn
    cloud.ledger.create_run(RunRecord(run_id="orphaning", workflow=parent.name, status="RUNNING", created_at=now_iso()))
    assert claim_attempt(cloud.ledger, parent.name, "orphaning", "sub", now_iso()) == 1
    orphan = child_run_id("orphaning", "sub", 1)
    cloud.ledger.create_run(
        RunRecord(
            run_id=orphan,
            workflow=child.name,
            status="QUEUED",
            created_at=now_iso(),
            parent_run_id="orphaning",
            parent_workflow=parent.name,
            parent_task="sub",
        )
    )
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:orphaning"
    desc = {"stateMachineArn": arn, "name": "orphaning", "status": "ABORTED", "input": "{}"}
    rt = Runtime(ledger=cloud.ledger, state_machines={parent.name: parent.name})
    record_status(status_change_event(execution, desc), rt)
    record_status(status_change_event(execution, desc), rt)  # a duplicated delivery changes nothing
    closed = cloud.ledger.get_run_item(child.name, orphan)
    assert closed is not None and (closed.status, closed.execution_arn) == ("ABORTED", None)
    assert closed.error == "Aborted: its parent run ended ABORTED before this run started"
    run = cloud.ledger.get_run_item(parent.name, "orphaning")
    assert run is not None and run.status == "ABORTED"
