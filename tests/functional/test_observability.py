"""What a local run emits for operators: EMF metrics per task attempt and per run (names, dimensions,
values), log lines correlated by run id, and never a parameter value in either."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration import Retry, TaskFailure, Workflow
from orchestration.local import LocalCloud
from orchestration.runtime import metrics
from orchestration.runtime.log import correlated, logger, run_id_of
from orchestration.runtime.registry import SERVICE

SECRET = "AKIAIOSFODNN7EXAMPLE-observed-SECRET"
RUN_ID = "obs-run-1"


def observed() -> Workflow:
    wf = Workflow("observed", params={"token": str})

    @wf.task
    def prepare(ctx: Any) -> int:
        ctx.logger.info("preparing")
        return 1

    @wf.task(retry=Retry(max_attempts=2, interval_seconds=1))
    def flaky(ctx: Any, prepare: int) -> int:
        if ctx.attempt == 1:
            raise TaskFailure("not yet", error_type="NotReady")
        return prepare + 1

    @wf.task
    def broken(prepare: int) -> None:
        raise ValueError("the source is malformed")

    return wf


def _metric_values(doc: dict[str, Any]) -> dict[str, float]:
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    return {m["Name"]: doc[m["Name"]][0] for m in directive["Metrics"]}


def _dimension_sets(doc: dict[str, Any]) -> list[list[str]]:
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    sets: list[list[str]] = directive["Dimensions"]
    return sets


@pytest.fixture(scope="module")
def observed_run(cloud: LocalCloud) -> Iterator[tuple[Any, list[dict[str, Any]], list[str]]]:
    """The run, the EMF documents it emitted and the platform logger's lines, as its formatter writes them."""
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # formatted as it is logged: the thread-local keys are the logging thread's at that moment
            lines.append(logger.registered_formatter.format(record))

    handler = Lines()
    platform = logging.getLogger(SERVICE)
    level = platform.level  # the module's cloud silenced it (quiet_logs)
    platform.addHandler(handler)
    platform.setLevel(logging.INFO)
    try:
        with metrics.capture() as documents:
            record = cloud.run(observed(), {"token": SECRET}, run_id=RUN_ID)
    finally:
        platform.removeHandler(handler)
        platform.setLevel(level)
    yield record, documents, lines


def test_each_task_attempt_emits_duration_success_failure_and_retry(observed_run: Any) -> None:
    record, documents, _ = observed_run
    assert record.status == "FAILED"
    tasks = [d for d in documents if metrics.TASK_DURATION in _metric_values(d)]
    by_task: dict[str, list[dict[str, float]]] = {}
    for doc in tasks:
        assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == metrics.DEFAULT_NAMESPACE
        assert _dimension_sets(doc) == [["service", "workflow", "task"], ["service", "workflow"]]
        assert (doc["service"], doc["workflow"]) == (SERVICE, "observed")
        by_task.setdefault(doc["task"], []).append(_metric_values(doc))
    flags = {
        task: [(v[metrics.TASK_SUCCEEDED], v[metrics.TASK_FAILED], v[metrics.TASK_RETRIED]) for v in values]
        for task, values in by_task.items()
    }
    assert flags == {
        "prepare": [(1.0, 0.0, 0.0)],
        "flaky": [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0)],  # failed, then retried and succeeded
        "broken": [(0.0, 1.0, 0.0)],
    }
    assert all(v[metrics.TASK_DURATION] >= 0 for values in by_task.values() for v in values)


def test_the_run_emits_its_outcome_and_duration_once(observed_run: Any) -> None:
    _, documents, _ = observed_run
    runs = [d for d in documents if metrics.RUNS in _metric_values(d)]
    (doc,) = runs  # the finalize step's; the recorder's FAILED event finds the outcome recorded
    assert _dimension_sets(doc) == [["service", "workflow", "outcome"], ["service", "outcome"], ["service", "workflow"]]
    assert (doc["workflow"], doc["outcome"]) == ("observed", "FAILED")
    values = _metric_values(doc)
    assert values[metrics.RUNS] == 1.0
    assert 0 <= values[metrics.RUN_DURATION] < 60_000


def test_log_lines_carry_the_run_id_as_correlation_id(observed_run: Any) -> None:
    _, _, lines = observed_run
    parsed = [json.loads(line) for line in lines]
    preparing = [p for p in parsed if p["message"] == "preparing"]
    failed = [p for p in parsed if p["message"] == "task failed"]
    assert preparing and failed
    for line in preparing + failed:
        assert line["correlation_id"] == RUN_ID
    assert {p["task"] for p in failed} == {"flaky", "broken"}


def test_no_parameter_value_reaches_metrics_or_logs(observed_run: Any) -> None:
    _, documents, lines = observed_run
    assert documents and lines
    assert SECRET not in json.dumps(documents)
    assert SECRET not in "\n".join(lines)


def test_without_a_sink_nothing_is_emitted(capfd: pytest.CaptureFixture[str]) -> None:
    metrics.task_attempt("wf", "t", duration_ms=1, failed=False, retried=False)
    metrics.queue_depth("wf", 3)
    metrics.pool_usage("db", 2)
    assert capfd.readouterr().out == ""


def test_queue_depth_and_pool_usage_hooks() -> None:
    with metrics.capture() as documents:
        metrics.queue_depth("wf", 3)
        metrics.pool_usage("db", 2)
    depth, usage = documents
    assert (_metric_values(depth), depth["workflow"], _dimension_sets(depth)) == (
        {metrics.QUEUE_DEPTH: 3.0},
        "wf",
        [["service", "workflow"]],
    )
    assert (_metric_values(usage), usage["pool"], _dimension_sets(usage)) == (
        {metrics.POOL_USAGE: 2.0},
        "db",
        [["service", "pool"]],
    )


@pytest.mark.parametrize(
    ("event", "run_id"),
    [
        ({"run": {"run_id": "r1", "workflow": "w"}, "task": "t"}, "r1"),  # task, subflow, finalize
        ({"action": "wait", "run_id": "r2", "workflow": "w"}, "r2"),  # join
        ({"detail": {"name": "r3.r2", "status": "FAILED"}}, "r3"),  # recorder: a repair's execution
        ({"trigger": "nightly", "scheduled_time": "2026-01-01T00:00:00Z"}, None),  # trigger: no run yet
        ("not a mapping", None),
    ],
)
def test_the_correlation_id_is_the_run_of_the_event(event: Any, run_id: str | None) -> None:
    assert run_id_of(event) == run_id
    with correlated(event):
        assert logger.thread_safe_get_current_keys().get("correlation_id") == run_id
    assert "correlation_id" not in logger.thread_safe_get_current_keys()


def test_a_run_workflow_task_emits_its_attempt_and_the_child_run_its_outcome(cloud: LocalCloud) -> None:
    child = Workflow("observed_child")

    @child.task
    def load() -> int:
        return 1

    parent = Workflow("observed_parent")
    parent.run_workflow("sub", workflow=child)
    with metrics.capture() as documents:
        record = cloud.run(parent)
    assert record.status == "SUCCEEDED"
    tasks = {(d["workflow"], d["task"]): _metric_values(d) for d in documents if "task" in d}
    assert tasks[("observed_parent", "sub")][metrics.TASK_SUCCEEDED] == 1.0
    assert tasks[("observed_child", "load")][metrics.TASK_SUCCEEDED] == 1.0
    runs = sorted((d["workflow"], d["outcome"]) for d in documents if "outcome" in d)
    assert runs == [("observed_child", "SUCCEEDED"), ("observed_parent", "SUCCEEDED")]
