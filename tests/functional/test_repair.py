"""Repairs on the local cloud, with real task code: only the failed tasks and their downstream run
again, the succeeded tasks' recorded outputs are reused (their code is not called), the run keeps
its id and its history, the outcome is recomputed."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from examples.n_shape import n_shape
from orchestration import Param, Retry, TaskFailure, Workflow
from orchestration.errors import OperationError, ParameterError
from orchestration.local import LocalCloud
from orchestration.operations.repair import repair_run
from orchestration.protocol import repair_execution_name
from orchestration.runtime.deps import Runtime
from orchestration.runtime.recorder import record_status

CALLS: Counter[str] = Counter()  # task -> calls of its code
BROKEN: set[str] = set()  # tasks whose code fails until the test "fixes" them


def _call(name: str) -> None:
    CALLS[name] += 1
    if name in BROKEN:
        raise TaskFailure(f"{name} is broken", error_type="Broken")


def attempts_of(cloud: LocalCloud, workflow: str, run_id: str) -> list[tuple[str, int, str]]:
    run = cloud.ledger.get_run(workflow, run_id)
    assert run is not None
    return sorted((a.task, a.attempt, a.status) for a in run.attempts if a.index is None)


# -- a chain with a side branch: extract -> transform -> load, extract -> audit ------------------------

chain = Workflow("repair_chain", params={"factor": Param(int, default=2)})


@chain.task
def extract() -> list[int]:
    _call("extract")
    return [1, 2, 3]


@chain.task
def audit(extract: list[int]) -> int:
    _call("audit")
    return len(extract)


@chain.task(retry=Retry(max_attempts=1, interval_seconds=30))
def transform(ctx: Any, extract: list[int]) -> list[int]:
    _call("transform")
    return [x * ctx.params.factor for x in extract]


@chain.task
def load(transform: list[int], audit: int) -> dict[str, int]:
    _call("load")
    return {"total": sum(transform), "rows": audit}


def test_a_repair_reruns_only_the_failed_task_and_its_downstream(cloud: LocalCloud) -> None:
    CALLS.clear()
    BROKEN.add("transform")
    first = cloud.run(chain)
    assert first.status == "FAILED"
    assert {n: (t.status, t.attempts) for n, t in first.tasks.items()} == {
        "extract": ("SUCCEEDED", 1),
        "audit": ("SUCCEEDED", 1),
        "transform": ("FAILED", 2),  # its retry
        "load": ("UPSTREAM_FAILED", 0),
    }
    BROKEN.discard("transform")  # the code is fixed
    CALLS.clear()

    repaired = cloud.repair(first.run_id)

    assert repaired.run_id == first.run_id and repaired.status == "SUCCEEDED" and repaired.error is None
    assert CALLS == {"transform": 1, "load": 1}  # extract's and audit's code did not run again
    assert {n: (t.status, t.attempts) for n, t in repaired.tasks.items()} == {
        "extract": ("SUCCEEDED", 1),
        "audit": ("SUCCEEDED", 1),
        "transform": ("SUCCEEDED", 3),  # after its two recorded attempts
        "load": ("SUCCEEDED", 1),
    }
    assert repaired.tasks["load"].output == {"total": 12, "rows": 3}  # from extract's recorded output
    assert repaired.repair == 1
    (entry,) = repaired.repairs
    assert entry["number"] == 1 and entry["status"] == "SUCCEEDED" and entry["previous_status"] == "FAILED"
    assert entry["tasks"] == ["load", "transform"] and entry["params"] == {} and entry["trigger"] == {"type": "manual"}
    assert entry["started_at"] <= entry["ended_at"] == repaired.ended_at
    # the first pass stays in the history: both failed attempts of transform
    assert attempts_of(cloud, chain.name, first.run_id) == [
        ("audit", 1, "SUCCEEDED"),
        ("extract", 1, "SUCCEEDED"),
        ("load", 1, "SUCCEEDED"),
        ("transform", 1, "FAILED"),
        ("transform", 2, "FAILED"),
        ("transform", 3, "SUCCEEDED"),
    ]
    assert repaired.execution_arn is not None
    assert repaired.execution_arn.endswith(":" + repair_execution_name(first.run_id, 1))
    # nothing is left to repair
    with pytest.raises(OperationError, match=r"is SUCCEEDED: nothing to repair; name the tasks"):
        cloud.repair(first.run_id)


def test_a_second_repair_continues_the_numbering_and_the_history(cloud: LocalCloud) -> None:
    CALLS.clear()
    BROKEN.add("load")
    first = cloud.run(chain, {"factor": 3})
    again = cloud.repair(first.run_id)  # still broken
    assert again.status == "FAILED" and again.repair == 1
    assert (again.tasks["load"].status, again.tasks["load"].attempts) == ("FAILED", 2)
    BROKEN.discard("load")
    last = cloud.repair(first.run_id)
    assert last.status == "SUCCEEDED" and last.repair == 2
    assert [(e["number"], e["previous_status"], e["status"]) for e in last.repairs] == [
        (1, "FAILED", "FAILED"),
        (2, "FAILED", "SUCCEEDED"),
    ]
    assert last.repairs[0]["ended_at"] == last.repairs[1]["previous_ended_at"]
    assert CALLS == {"extract": 1, "audit": 1, "transform": 1, "load": 3}
    assert last.tasks["load"].attempts == 3 and last.tasks["load"].output == {"total": 18, "rows": 3}


def test_named_tasks_rerun_with_their_downstream_and_params_can_be_overridden(cloud: LocalCloud) -> None:
    CALLS.clear()
    first = cloud.run(chain)
    assert first.status == "SUCCEEDED"
    CALLS.clear()
    repaired = cloud.repair(first.run_id, tasks=["transform"], params={"factor": 10})
    assert CALLS == {"transform": 1, "load": 1}
    assert repaired.status == "SUCCEEDED" and repaired.tasks["load"].output == {"total": 60, "rows": 3}
    assert repaired.params == {"factor": 10} and repaired.repairs[0]["params"] == {"factor": 10}
    assert repaired.repairs[0]["named"] == ["transform"]
    with pytest.raises(ParameterError):
        cloud.repair(first.run_id, tasks=["load"], params={"factor": "many"})
    with pytest.raises(OperationError, match=r"'nope' are not in the workflow"):
        cloud.repair(first.run_id, tasks=["nope"])


def test_a_repair_of_a_changed_definition_is_refused_unless_allowed(cloud: LocalCloud) -> None:
    BROKEN.add("transform")
    first = cloud.run(chain)
    BROKEN.discard("transform")
    dep = cloud.deployments[chain.name]
    clients = {
        "workflow": chain,
        "ledger": cloud.ledger,
        "artifacts": cloud.artifacts,
        "stepfunctions": cloud.sfn,
        "state_machine_arn": dep.state_machine_arn,
        "definition_hash": "sha256:0123456789abcdef",  # what the workflow would compile to after a change
        "run_id": first.run_id,
    }
    with pytest.raises(OperationError) as refused:
        repair_run(**clients)
    assert f"ran the compiled definition {dep.definition_hash}" in str(refused.value)
    assert "now compiles to sha256:0123456789abcdef" in str(refused.value)
    assert "--allow-changed-definition" in str(refused.value)
    started = repair_run(**clients, allow_changed_definition=True)
    assert started.number == 1 and started.rerun == ("load", "transform")
    done = cloud.wait(first.run_id, workflow=chain.name)
    assert done.status == "SUCCEEDED" and done.definition_hash == "sha256:0123456789abcdef"


def test_a_run_still_going_cannot_be_repaired_and_two_repairs_never_both_start(cloud: LocalCloud) -> None:
    wf = Workflow("repair_slow")
    release = threading.Event()

    @wf.task
    def wait() -> str:
        release.wait(30)
        return "done"

    run_id = cloud.start(wf)
    try:
        with pytest.raises(OperationError, match=r"is (QUEUED|RUNNING): it is still going"):
            cloud.repair(run_id)
    finally:
        release.set()
    finished = cloud.wait(run_id)
    assert finished.status == "SUCCEEDED"
    # two repairs that read the run at once: one claims it, the other is refused
    run = cloud.ledger.get_run(wf.name, run_id)
    assert run is not None
    dep = cloud.deployments[wf.name]
    entry = {"number": 1, "started_at": "2026-11-21T00:00:00.000Z", "tasks": ["wait"], "definition_hash": "x"}
    assert cloud.ledger.begin_repair(run, entry, params={}, definition_hash=None) is True
    assert cloud.ledger.begin_repair(run, entry, params={}, definition_hash=None) is False
    # the claimed repair never started (as after a crash): the next repair continues it, if the
    # definition it was claimed for is still deployed (or a change is allowed)
    clients = {
        "workflow": wf,
        "ledger": cloud.ledger,
        "artifacts": cloud.artifacts,
        "stepfunctions": cloud.sfn,
        "state_machine_arn": dep.state_machine_arn,
        "definition_hash": dep.definition_hash,
        "run_id": run_id,
    }
    with pytest.raises(OperationError, match="ran the compiled definition x; "):
        repair_run(**clients)
    started = repair_run(**clients, allow_changed_definition=True)
    assert started.resumed and started.number == 1 and started.rerun == ("wait",)
    assert cloud.wait(run_id).status == "SUCCEEDED"


def test_an_aborted_run_is_repaired_from_the_task_it_stopped(cloud: LocalCloud) -> None:
    wf = Workflow("repair_aborted")
    started, release = threading.Event(), threading.Event()

    @wf.task
    def first() -> int:
        _call("first")
        return 1

    @wf.task
    def hang(first: int) -> int:
        started.set()
        release.wait(30)
        _call("hang")  # broken in the first pass: stopped, it would have failed anyway
        return first + 1

    @wf.task
    def last(hang: int) -> int:
        return hang + 1

    CALLS.clear()
    BROKEN.add("hang")
    run_id = cloud.start(wf)
    assert started.wait(10)
    arn = cloud.ledger.get_run_item(wf.name, run_id).execution_arn  # type: ignore[union-attr]
    threading.Timer(0.2, release.set).start()  # the task's code goes on after the stop, as on Lambda
    cloud.sfn.stop_execution(executionArn=arn, error="Stopped", cause="by an operator")
    aborted = cloud.wait(run_id)
    assert aborted.status == "ABORTED" and aborted.tasks["hang"].status == "FAILED"
    assert "last" not in {n for n, t in aborted.tasks.items() if t.attempts}
    BROKEN.discard("hang")
    repaired = cloud.repair(run_id)
    assert repaired.status == "SUCCEEDED" and repaired.tasks["last"].output == 3
    assert {n: t.attempts for n, t in repaired.tasks.items()} == {"first": 1, "hang": 2, "last": 1}
    assert CALLS == {"first": 1, "hang": 2} and repaired.repairs[0]["previous_status"] == "ABORTED"


# -- for-each: a failed item reruns its task; a reused for-each returns each item's recorded output ----


def fan_workflow(mode: str) -> Workflow:
    fan = Workflow(f"repair_fan_{mode}")

    @fan.task
    def files() -> list[str]:
        _call("files")
        return ["a", "b", "c"]

    @fan.task(for_each="files", mode=mode)
    def size(item: str) -> int:
        _call(f"size:{item}")
        return len(item) * 10

    @fan.task
    def total(size: list[int]) -> int:
        _call("total")
        return sum(size)

    return fan


@pytest.mark.parametrize("mode", ["auto", "distributed"])
def test_a_for_each_task_is_repaired_and_reused(cloud: LocalCloud, mode: str) -> None:
    fan = fan_workflow(mode)
    CALLS.clear()
    BROKEN.add("size:b")
    first = cloud.run(fan)
    assert first.status == "FAILED" and first.tasks["size"].status == "FAILED"
    BROKEN.discard("size:b")
    CALLS.clear()
    repaired = cloud.repair(first.run_id)
    assert repaired.status == "SUCCEEDED" and repaired.tasks["total"].output == 30
    assert CALLS == {"size:a": 1, "size:b": 1, "size:c": 1, "total": 1}  # the task reran, not its source
    # now rerun only the task after it: each item's recorded output is reused, no item code runs
    CALLS.clear()
    again = cloud.repair(first.run_id, tasks=["total"])
    assert again.status == "SUCCEEDED" and CALLS == {"total": 1} and again.tasks["total"].output == 30
    assert again.tasks["size"].output == [10, 10, 10] and again.tasks["total"].attempts == 2


# -- run-if: a failure handler that ran in the first pass is decided again ---------------------------

handled = Workflow("repair_handled")


@handled.task
def fetch() -> int:
    _call("fetch")
    return 5


@handled.task
def publish(fetch: int) -> int:
    _call("publish")
    return fetch + 1


@handled.task(after=[publish], run_if="AT_LEAST_ONE_FAILED")
def on_failure() -> str:
    _call("on_failure")
    return "paged"


def test_run_if_rules_are_decided_again(cloud: LocalCloud) -> None:
    CALLS.clear()
    BROKEN.add("publish")
    first = cloud.run(handled)
    assert first.status == "SUCCEEDED_WITH_FAILURES" and first.tasks["on_failure"].status == "SUCCEEDED"
    BROKEN.discard("publish")
    repaired = cloud.repair(first.run_id)
    assert repaired.status == "SUCCEEDED"
    assert {n: t.status for n, t in repaired.tasks.items()} == {
        "fetch": "SUCCEEDED",
        "publish": "SUCCEEDED",
        "on_failure": "SKIPPED",  # publish no longer failed
    }
    assert CALLS == {"fetch": 1, "publish": 2, "on_failure": 1}


# -- joins: the N shape (examples/n_shape.py) --------------------------------------------------------


def test_a_join_shaped_workflow_is_repaired(cloud: LocalCloud) -> None:
    first = cloud.run(n_shape, {"scale": 0.0})
    assert first.status == "SUCCEEDED"
    repaired = cloud.repair(first.run_id, tasks=["fetch_customers"])
    assert repaired.status == "SUCCEEDED" and repaired.repair == 1
    assert {n: t.attempts for n, t in repaired.tasks.items()} == {
        "fetch_orders": 1,
        "fetch_customers": 2,
        "order_stats": 1,
        "join_customers": 2,  # waited (a join) for fetch_customers' second attempt
        "report": 2,
    }
    assert repaired.tasks["report"].output == {"done": ["order_stats", "join_customers"]}


# -- run_workflow: a reused child run is not run again; a rerun task starts a new child run -----------

child = Workflow("repair_child", params={"n": int})


@child.task
def double(ctx: Any) -> int:
    _call("double")
    return int(ctx.params.n) * 2


parent = Workflow("repair_parent")


@parent.task
def seed() -> int:
    _call("seed")
    return 4


parent.run_workflow("sub", workflow=child, params={"n": seed})


@parent.task
def finish(sub: dict[str, Any]) -> str:
    _call("finish")
    return f"{sub['run_id']} {sub['status']}"


def test_a_reused_child_run_is_not_run_again_and_a_rerun_task_starts_a_new_one(cloud: LocalCloud) -> None:
    CALLS.clear()
    BROKEN.add("finish")
    first = cloud.run(parent)
    assert first.status == "FAILED" and first.tasks["sub"].status == "SUCCEEDED"
    BROKEN.discard("finish")
    repaired = cloud.repair(first.run_id)
    assert repaired.status == "SUCCEEDED" and repaired.tasks["sub"].attempts == 1
    assert CALLS == {"seed": 1, "double": 1, "finish": 2}
    assert repaired.tasks["finish"].output == f"{first.run_id}-sub-1 SUCCEEDED"
    assert [r.run_id for r in cloud.ledger.list_runs(child.name)] == [f"{first.run_id}-sub-1"]
    again = cloud.repair(first.run_id, tasks=["sub"])
    assert again.status == "SUCCEEDED" and again.tasks["sub"].attempts == 2
    assert again.tasks["finish"].output == f"{first.run_id}-sub-2 SUCCEEDED"
    assert sorted(r.run_id for r in cloud.ledger.list_runs(child.name)) == [
        f"{first.run_id}-sub-1",
        f"{first.run_id}-sub-2",
    ]


@pytest.fixture(autouse=True)
def _fixed() -> Any:
    yield
    BROKEN.clear()


def test_the_recorder_knows_a_repair_by_its_execution_and_alerts_once_per_pass(cloud: LocalCloud) -> None:
    BROKEN.add("load")
    first = cloud.run(chain)
    failed_again = cloud.repair(first.run_id)
    assert failed_again.status == "FAILED" and failed_again.repair == 1
    published: list[dict[str, Any]] = []
    topic = type("Topic", (), {"publish": lambda self, **kw: published.append(kw)})()
    rt = Runtime(cloud.ledger, sns=topic, alert_topic_arn="arn:aws:sns:us-east-1:123456789012:alerts")
    machine = cloud.deployments[chain.name].state_machine_arn

    def event(name: str, status: str, start: dict[str, Any]) -> dict[str, Any]:
        arn = machine.replace(":stateMachine:", ":execution:") + f":{name}"
        detail = {"name": name, "status": status, "executionArn": arn, "stateMachineArn": machine}
        return {"detail": detail | {"input": json.dumps(start), "error": "WorkflowFailed"}}

    repair_input = {"params": {}, "logical_date": None, "repair": {"run_id": first.run_id, "number": 1}}
    for _ in range(2):  # a duplicated delivery alerts once
        record_status(event(repair_execution_name(first.run_id, 1), "FAILED", repair_input), rt)
        record_status(event(first.run_id, "FAILED", {"params": {}}), rt)
    assert sorted(json.loads(p["Message"])["repair"] for p in published) == [0, 1]
    # a late event of the first pass does not move the repaired run back
    record_status(event(first.run_id, "RUNNING", {"params": {}}), rt)
    now = cloud.ledger.get_run_item(chain.name, first.run_id)
    assert now is not None and (now.status, now.repair, now.execution_arn) == ("FAILED", 1, failed_again.execution_arn)
