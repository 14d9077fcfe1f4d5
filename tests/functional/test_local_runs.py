"""Local runs on moto with real task code: the compiled state machine decides what runs."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from orchestration import Param, Pool, Retry, RunIf, TaskFailure, Workflow
from orchestration.artifacts import REF_KEY
from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud


def statuses(record: RunRecord) -> dict[str, str]:
    return {name: t.status for name, t in record.tasks.items()}


def outcome(record: RunRecord) -> tuple[str, dict[str, str]]:
    """The run's status and each task's."""
    return record.status, statuses(record)


# -- run-if conditions ------------------------------------------------------------------------


def run_if_workflow(run_if: RunIf, a_fails: bool, b_fails: bool, pooled: bool = False) -> Workflow:
    """c decides its run-if in its own invocation; pooled, a Choice state decides it."""
    wf = Workflow(f"runif_{run_if.value.lower()}_{int(a_fails)}{int(b_fails)}{'_pooled' if pooled else ''}")

    @wf.task
    def a() -> str:
        if a_fails:
            raise RuntimeError("a broke")
        return "a"

    @wf.task
    def b() -> str:
        if b_fails:
            raise RuntimeError("b broke")
        return "b"

    @wf.task(after=["a", "b"], run_if=run_if, pool=Pool("runif", slots=2) if pooled else None)
    def c() -> str:
        return "c"

    return wf


# (run_if, a fails, b fails) -> expected status of c
RUN_IF_CASES = [
    (RunIf.ALL_SUCCESS, False, False, "SUCCEEDED"),
    (RunIf.ALL_SUCCESS, True, False, "UPSTREAM_FAILED"),
    (RunIf.AT_LEAST_ONE_SUCCESS, True, False, "SUCCEEDED"),
    (RunIf.AT_LEAST_ONE_SUCCESS, True, True, "UPSTREAM_FAILED"),
    (RunIf.NONE_FAILED, False, False, "SUCCEEDED"),
    (RunIf.NONE_FAILED, False, True, "UPSTREAM_FAILED"),
    (RunIf.ALL_DONE, True, True, "SUCCEEDED"),
    (RunIf.AT_LEAST_ONE_FAILED, False, True, "SUCCEEDED"),
    (RunIf.AT_LEAST_ONE_FAILED, False, False, "SKIPPED"),
    (RunIf.ALL_FAILED, True, True, "SUCCEEDED"),
    (RunIf.ALL_FAILED, True, False, "SKIPPED"),
]


@pytest.mark.parametrize("pooled", [False, True], ids=["decided by the task", "decided by a Choice"])
@pytest.mark.parametrize(("run_if", "a_fails", "b_fails", "expected"), RUN_IF_CASES)
def test_run_if_conditions(
    cloud: LocalCloud, run_if: RunIf, a_fails: bool, b_fails: bool, expected: str, pooled: bool
) -> None:
    record = cloud.run(run_if_workflow(run_if, a_fails, b_fails, pooled))
    got = statuses(record)
    assert record.tasks["c"].attempts == (1 if expected == "SUCCEEDED" else 0)  # a skip runs no code
    assert got["a"] == ("FAILED" if a_fails else "SUCCEEDED")
    assert got["b"] == ("FAILED" if b_fails else "SUCCEEDED")
    assert got["c"] == expected
    if expected == "SUCCEEDED" and (a_fails or b_fails):
        assert record.status == "SUCCEEDED_WITH_FAILURES"  # the failure was handled by c's run-if
    elif expected == "SUCCEEDED":
        assert record.status == "SUCCEEDED"
    elif expected == "UPSTREAM_FAILED":
        assert record.status == "FAILED"


def test_skip_propagates_through_a_chain(cloud: LocalCloud) -> None:
    wf = Workflow("skip_chain")

    @wf.task
    def first() -> None:
        raise ValueError("no data")

    @wf.task
    def second(first: Any) -> Any:
        return first

    @wf.task
    def third(second: Any) -> Any:
        return second

    @wf.task(after=["third"], run_if="ALL_DONE")
    def cleanup() -> str:
        return "cleaned"

    record = cloud.run(wf)
    assert outcome(record) == (
        "SUCCEEDED_WITH_FAILURES",
        {"first": "FAILED", "second": "UPSTREAM_FAILED", "third": "UPSTREAM_FAILED", "cleanup": "SUCCEEDED"},
    )
    assert record.tasks["first"].error == "ValueError: no data"
    assert record.tasks["second"].attempts == 0


def test_condition_task_true_and_false_branches(cloud: LocalCloud) -> None:
    wf = Workflow("cond_branches", params={"n": Param(int, default=5)})

    @wf.condition
    def big(ctx: Any) -> bool:
        return bool(ctx.params.n > 10)

    @wf.task(after=[big.true])
    def heavy() -> str:
        return "heavy"

    @wf.task(after=[big.false])
    def light() -> str:
        return "light"

    @wf.task(after=["heavy"])
    def after_heavy() -> str:
        return "after"

    @wf.task(run_if="NONE_FAILED")
    def report(heavy: Any, light: Any) -> Any:
        return heavy or light

    small = cloud.run(wf, {"n": 1})
    assert outcome(small) == (
        "SUCCEEDED",
        {"big": "SUCCEEDED", "heavy": "SKIPPED", "light": "SUCCEEDED", "after_heavy": "SKIPPED", "report": "SUCCEEDED"},
    )
    large = cloud.run(wf, {"n": 50})
    assert statuses(large)["heavy"] == "SUCCEEDED"
    assert statuses(large)["light"] == "SKIPPED"
    assert statuses(large)["after_heavy"] == "SUCCEEDED"


def test_condition_task_must_return_a_bool(cloud: LocalCloud) -> None:
    wf = Workflow("cond_not_bool")

    @wf.condition
    def maybe() -> Any:
        return "yes"

    @wf.task(after=[maybe.true])
    def then() -> None: ...

    record = cloud.run(wf)
    assert statuses(record) == {"maybe": "FAILED", "then": "UPSTREAM_FAILED"}
    assert "must return True or False, got str 'yes'" in (record.tasks["maybe"].error or "")


# -- for-each -------------------------------------------------------------------------------


def test_for_each_respects_the_concurrency_limit(cloud: LocalCloud) -> None:
    wf = Workflow("foreach_limit")
    lock = threading.Lock()
    active = {"now": 0, "max": 0}

    @wf.task
    def items() -> list[int]:
        return list(range(12))

    @wf.task(for_each="items", max_concurrency=3)
    def square(ctx: Any, item: int) -> int:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        assert ctx.item_index == item
        return item * item

    @wf.task
    def total(square: list[int]) -> int:
        return sum(square)

    record = cloud.run(wf)
    assert record.status == "SUCCEEDED"
    assert active["max"] == 3
    assert record.tasks["square"].items == 12
    out = cloud.artifacts  # noqa: F841 - outputs are small here, the sum proves order and completeness
    history = cloud.execution_history(record.run_id)
    final = json.loads(
        next(e for e in reversed(history) if e["type"] == "ExecutionSucceeded")["executionSucceededEventDetails"][
            "output"
        ]
    )
    assert final["status"] == "SUCCEEDED" and final["error"] is None
    assert {n: t["status"] for n, t in final["tasks"].items()} == dict.fromkeys(
        ["items", "square", "total"], "SUCCEEDED"
    )
    assert final["tasks"]["square"]["attempts"] == 1
    assert final["outputs"] is True and final["tasks"]["square"]["output"] == [i * i for i in range(12)]
    # the run's view equals what the ledger holds (the outputs are in the attempt items)
    ledger_view = cloud.ledger.get_run_by_id(record.run_id)
    assert ledger_view is not None
    assert {n: {**t.as_dict(), "items": t.items} for n, t in ledger_view.tasks.items()} == final["tasks"]


def test_for_each_item_failure_fails_the_task(cloud: LocalCloud) -> None:
    wf = Workflow("foreach_fail")

    @wf.task
    def items() -> list[int]:
        return [1, 2, 3]

    @wf.task(for_each="items", max_concurrency=2)
    def check(item: int) -> int:
        if item == 2:
            raise ValueError("bad item 2")
        return item

    @wf.task(after=["check"], run_if="ALL_DONE")
    def always() -> str:
        return "ran"

    record = cloud.run(wf)
    assert statuses(record) == {"items": "SUCCEEDED", "check": "FAILED", "always": "SUCCEEDED"}


# -- retries and timeouts -------------------------------------------------------------------


def test_retries_really_happen_and_do_not_wait_in_real_time(cloud: LocalCloud) -> None:
    wf = Workflow("retry_twice")
    attempts: list[int] = []

    @wf.task(retry=Retry(max_attempts=3, interval_seconds=30, backoff_rate=2.0))
    def flaky(ctx: Any) -> str:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise TaskFailure("source not ready", error_type="SourceNotReady")
        return "ok"

    slept_before = list(cloud.adapter.clock.sleeps)
    started = time.perf_counter()
    record = cloud.run(wf)
    elapsed = time.perf_counter() - started
    assert record.status == "SUCCEEDED"
    assert attempts == [1, 2, 3]
    assert record.tasks["flaky"].attempts == 3
    assert elapsed < 2.0
    assert cloud.adapter.clock.sleeps[len(slept_before) :] == [30.0, 60.0]  # the virtual clock took the waits
    run = cloud.ledger.get_run_by_id(record.run_id)
    assert run is not None
    assert [(a.attempt, a.status, a.error) for a in run.attempts] == [
        (1, "FAILED", "SourceNotReady"),
        (2, "FAILED", "SourceNotReady"),
        (3, "SUCCEEDED", None),
    ]


def test_retry_only_on_listed_errors(cloud: LocalCloud) -> None:
    wf = Workflow("retry_listed")
    calls: list[int] = []

    @wf.task(retry=Retry(max_attempts=5, interval_seconds=1, errors=("TimeoutError",)))
    def strict() -> None:
        calls.append(1)
        raise KeyError("not retryable")

    record = cloud.run(wf)
    assert len(calls) == 1
    assert record.tasks["strict"].status == "FAILED"


def test_task_timeout(cloud: LocalCloud) -> None:
    wf = Workflow("timeout")

    @wf.task(timeout_seconds=1)
    def slow() -> str:
        time.sleep(2.5)
        return "late"

    started = time.perf_counter()
    record = cloud.run(wf)
    assert time.perf_counter() - started < 2.4
    assert record.status == "FAILED"
    assert record.tasks["slow"].status == "FAILED"
    assert record.tasks["slow"].error is not None and "States.Timeout" in record.tasks["slow"].error


# -- failure isolation, data passing --------------------------------------------------------


def test_a_failed_branch_does_not_cancel_independent_branches(cloud: LocalCloud) -> None:
    wf = Workflow("isolation")
    finished: list[str] = []

    @wf.task
    def broken() -> None:
        raise RuntimeError("boom")

    @wf.task
    def slow_a() -> str:
        time.sleep(0.2)
        finished.append("slow_a")
        return "a"

    @wf.task
    def slow_b(slow_a: str) -> str:
        finished.append("slow_b")
        return slow_a + "b"

    @wf.task
    def after_broken(broken: Any) -> None: ...

    record = cloud.run(wf)
    assert finished == ["slow_a", "slow_b"]
    assert outcome(record) == (
        "FAILED",
        {"broken": "FAILED", "slow_a": "SUCCEEDED", "slow_b": "SUCCEEDED", "after_broken": "UPSTREAM_FAILED"},
    )
    assert record.error == "tasks failed: after_broken, broken"


def test_large_output_travels_through_the_artifact_bucket(cloud: LocalCloud) -> None:
    wf = Workflow("big_output")
    blob = "x" * 300_000  # over the 262,144-byte state payload limit

    @wf.task
    def produce() -> dict[str, Any]:
        return {"blob": blob, "n": 1}

    @wf.task
    def consume(produce: dict[str, Any]) -> int:
        assert produce["blob"] == blob
        return len(produce["blob"])

    record = cloud.run(wf)
    assert record.status == "SUCCEEDED"
    history = cloud.execution_history(record.run_id)
    biggest = max(len(json.dumps(e, default=str)) for e in history)
    assert biggest < 262_144
    refs = [e for e in history if REF_KEY in json.dumps(e, default=str)]
    assert refs, "the output should travel as an artifact reference"
    keys = [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=cloud.bucket_name)["Contents"]]
    assert any(k.startswith(f"runs/big_output/{record.run_id}/produce/") for k in keys)


def test_for_each_over_a_list_with_large_items(cloud: LocalCloud) -> None:
    wf = Workflow("big_items")

    @wf.task
    def chunks() -> list[str]:
        return ["a" * 50_000, "b" * 50_000, "c" * 50_000, "d" * 50_000, "e" * 50_000, "f" * 50_000]

    @wf.task(for_each="chunks", max_concurrency=2)
    def measure(item: str) -> dict[str, Any]:
        return {"first": item[0], "len": len(item)}

    @wf.task
    def collect(measure: list[dict[str, Any]]) -> str:
        return "".join(m["first"] for m in measure)

    record = cloud.run(wf)
    assert record.status == "SUCCEEDED"
    history = cloud.execution_history(record.run_id)
    assert max(len(json.dumps(e, default=str)) for e in history) < 262_144


def test_non_series_parallel_dag_runs_with_exact_parallelism(cloud: LocalCloud) -> None:
    """N shape: a->c, a->d, b->d. c must not wait for b (slow); d needs both a's and b's outputs."""
    wf = Workflow("n_exact")
    started: dict[str, float] = {}
    t0 = time.perf_counter()

    def mark(name: str, sleep: float) -> str:
        started[name] = time.perf_counter() - t0
        time.sleep(sleep)
        return name

    @wf.task
    def a() -> str:
        return mark("a", 0.05)

    @wf.task
    def b() -> str:
        return mark("b", 0.6)

    @wf.task
    def c(a: str) -> str:
        return mark("c", 0.0)

    @wf.task
    def d(a: str, b: str) -> str:
        mark("d", 0.0)
        return a + b

    record = cloud.run(wf)
    assert record.status == "SUCCEEDED"
    assert started["c"] < started["b"] + 0.5  # c started long before b finished
    assert started["d"] >= started["b"] + 0.6 - 0.01


def test_run_context_and_parameters(cloud: LocalCloud) -> None:
    from datetime import UTC, datetime

    wf = Workflow("context", params={"day": str, "limit": Param(int, default=3)})
    seen: dict[str, Any] = {}

    @wf.task
    def inspect_ctx(ctx: Any) -> None:
        seen.update(
            run_id=ctx.run_id,
            day=ctx.params.day,
            limit=ctx.params.limit,
            attempt=ctx.attempt,
            logical=ctx.logical_date,
            workflow=ctx.workflow,
        )

    date = datetime(2026, 11, 20, tzinfo=UTC)
    record = cloud.run(wf, {"day": "2026-11-20"}, logical_date=date, run_id="ctx-run-1")
    assert record.run_id == "ctx-run-1"
    assert seen == {
        "run_id": "ctx-run-1",
        "day": "2026-11-20",
        "limit": 3,
        "attempt": 1,
        "logical": date,
        "workflow": "context",
    }
    assert record.params == {"day": "2026-11-20", "limit": 3}
    assert record.logical_date == "2026-11-20T00:00:00.000Z"
    assert record.definition_hash and record.definition_hash.startswith("sha256:")


def test_ledger_is_monotonic(cloud: LocalCloud) -> None:
    wf = Workflow("monotonic")
    wf.task(name="only")(lambda: 1)
    record = cloud.run(wf)
    ledger = cloud.ledger
    # a late duplicate RUNNING record and a stale end are refused
    assert ledger.start_attempt(wf.name, record.run_id, "only", 1, "2020-01-01T00:00:00.000Z") is False
    assert (
        ledger.end_attempt(wf.name, record.run_id, "only", 1, "FAILED", started_at="x", ended_at="y", duration_ms=1)
        is False
    )
    assert ledger.set_run_status(wf.name, record.run_id, "RUNNING") is False
    run = ledger.get_run_by_id(record.run_id)
    assert run is not None
    assert run.status == "SUCCEEDED"
    assert run.tasks["only"].status == "SUCCEEDED"
    assert [r.run_id for r in ledger.list_runs("monotonic")] == [record.run_id]
    assert record.run_id in [r.run_id for r in ledger.runs_by_status("SUCCEEDED")]


def test_runs_by_workflow_are_newest_first(cloud: LocalCloud) -> None:
    wf = Workflow("history")
    wf.task(name="only")(lambda: 1)
    first = cloud.run(wf, run_id="20260101T000000-aaaa")
    time.sleep(0.01)
    second = cloud.run(wf, run_id="20260101T000001-bbbb")
    assert [r.run_id for r in cloud.ledger.list_runs("history")] == [second.run_id, first.run_id]


def test_duplicate_run_id_is_a_clear_error(cloud: LocalCloud) -> None:
    from orchestration import OrchestrationError

    wf = Workflow("dupe")
    wf.task(name="only")(lambda: 1)
    cloud.run(wf, run_id="dupe-1")
    with pytest.raises(OrchestrationError, match="run id 'dupe-1' already exists in the ledger"):
        cloud.start(wf, run_id="dupe-1")


def gated_block_workflow(name: str) -> Workflow:
    """root -> (left, right -> right_child): the Parallel is entered only when root succeeded."""
    wf = Workflow(name, params={"mode": Param(str, default="ok")})

    @wf.condition
    def go(ctx: Any) -> bool:
        return bool(ctx.params.mode != "skip")

    @wf.task(after=[go.true])
    def root(ctx: Any) -> int:
        if ctx.params.mode == "fail":
            raise RuntimeError("root failed")
        return 1

    @wf.task
    def left(root: int) -> int:
        return root + 1

    @wf.task
    def right(root: int) -> int:
        return root + 2

    @wf.task
    def right_child(right: int) -> int:
        return right + 1

    @wf.task(run_if="ALL_DONE", after=["left", "right_child"])
    def report() -> str:
        return "done"

    return wf


@pytest.mark.parametrize(
    ("mode", "block_status", "root_status"),
    [("ok", "SUCCEEDED", "SUCCEEDED"), ("fail", "UPSTREAM_FAILED", "FAILED"), ("skip", "SKIPPED", "SKIPPED")],
)
def test_gated_parallel_block_marks_every_task(
    cloud: LocalCloud, mode: str, block_status: str, root_status: str
) -> None:
    wf = gated_block_workflow(f"gated_{mode}")
    record = cloud.run(wf, {"mode": mode})
    got = statuses(record)
    assert got["root"] == root_status
    assert {got["left"], got["right"], got["right_child"]} == {block_status}
    assert got["report"] == "SUCCEEDED"
    history = cloud.execution_history(record.run_id)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert not {"left.check", "right.check", "right_child.check"} & set(entered), entered


def test_two_workflows_with_one_name_are_refused(cloud: LocalCloud) -> None:
    from orchestration import OrchestrationError

    first, second = Workflow("same_name"), Workflow("same_name")
    first.task(name="a")(lambda: 1)
    second.task(name="b")(lambda: 2)
    cloud.deploy(first)
    with pytest.raises(OrchestrationError, match="another workflow named 'same_name' is already deployed"):
        cloud.deploy(second)


def test_long_names_get_distinct_function_names(cloud: LocalCloud) -> None:
    wf = Workflow("w" * 48)
    wf.task(name="t" * 47 + "a")(lambda: 1)
    wf.task(name="t" * 47 + "b")(lambda: 2)
    record = cloud.run(wf)
    assert record.status == "SUCCEEDED"
    names = set(cloud.deployments[wf.name].function_arns.values())
    assert len(names) == len(cloud.deployments[wf.name].function_arns)


def test_for_each_source_must_return_a_list(cloud: LocalCloud) -> None:
    wf = Workflow("foreach_not_list")

    @wf.task
    def source() -> dict[str, str]:
        return {"not": "a list"}

    @wf.task(for_each="source")
    def each(item: Any) -> Any:
        return item

    record = cloud.run(wf)
    assert statuses(record) == {"source": "FAILED", "each": "UPSTREAM_FAILED"}
    assert record.tasks["source"].error == (
        "TypeError: task 'source' must return a list: for-each task(s) each run once per item of its output, got dict"
    )


def test_for_each_over_an_empty_list(cloud: LocalCloud) -> None:
    wf = Workflow("foreach_empty")

    @wf.task
    def nothing() -> list[int]:
        return []

    @wf.task(for_each="nothing")
    def each(item: int) -> int:
        return item

    @wf.task
    def count(each: list[int]) -> int:
        assert each == []
        return len(each)

    record = cloud.run(wf)
    assert statuses(record) == {"nothing": "SUCCEEDED", "each": "SUCCEEDED", "count": "SUCCEEDED"}


def test_workflow_timeout_closes_the_run_and_its_running_attempt(cloud: LocalCloud) -> None:
    wf = Workflow("whole_run_timeout", timeout_seconds=1)

    @wf.task
    def slow() -> int:
        time.sleep(2.5)
        return 1

    @wf.task
    def later(slow: int) -> int:
        return slow

    record = cloud.run(wf)
    assert record.status == "TIMED_OUT"
    assert record.error == "States.Timeout: the run exceeded the workflow's timeout_seconds"
    assert record.tasks["slow"].status == "FAILED"
    assert (record.tasks["slow"].error or "").startswith("States.Timeout")
    assert record.tasks["later"].status == "PENDING"


def test_a_task_calling_sys_exit_fails_like_lambda(cloud: LocalCloud) -> None:
    import sys

    wf = Workflow("exits")

    @wf.task
    def bye() -> None:
        sys.exit(3)

    record = cloud.run(wf)
    assert record.status == "FAILED"
    assert record.tasks["bye"].error == "Runtime.ExitError: 3"


def test_concurrent_runs_of_one_workflow_are_independent(cloud: LocalCloud) -> None:
    """Executions share the parsed definition, never their state."""
    wf = Workflow("concurrent", params={"n": Param(int, default=0)})

    @wf.task
    def first(ctx: Any) -> int:
        time.sleep(0.05)
        return int(ctx.params.n)

    @wf.task
    def left(first: int) -> int:
        time.sleep(0.05)
        return first * 10

    @wf.task
    def right(first: int) -> int:
        return first * 100

    @wf.task
    def total(left: int, right: int) -> int:
        if left == 20:
            raise ValueError("run 2 fails on purpose")
        return left + right

    run_ids = [cloud.start(wf, {"n": n}) for n in (1, 2, 3)]
    records = [cloud.wait(r) for r in run_ids]
    assert [r.status for r in records] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert [r.params["n"] for r in records] == [1, 2, 3]
    assert records[1].tasks["total"].error == "ValueError: run 2 fails on purpose"
    assert [statuses(r)["total"] for r in records] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
