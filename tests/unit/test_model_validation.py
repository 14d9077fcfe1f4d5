"""Authoring model and validation: every problem reported at once, each with the value and a fix."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestration import (
    Param,
    ParameterError,
    Resources,
    Retry,
    RunIf,
    ValidationError,
    Workflow,
    WorkflowDefinitionError,
    validate,
)
from orchestration.model import Dependency, Outcome
from orchestration.validation import problems


def test_data_and_order_dependencies_come_from_parameters_and_after() -> None:
    wf = Workflow("deps")

    @wf.task
    def a(): ...

    @wf.task
    def b(ctx, a): ...

    @wf.task(after=[b])
    def c(a): ...

    assert wf.dependencies() == {
        "a": [],
        "b": [Dependency("a", data=True)],
        "c": [Dependency("a", data=True), Dependency("b")],
    }


def condition_workflow() -> Workflow:
    """Condition `big`: `heavy` runs on its true outcome, `light` on its false one and reads both."""
    wf = Workflow("cond")

    @wf.condition
    def big():
        return True

    @wf.task(after=[big.true])
    def heavy():
        return 1

    @wf.task(after=["big.false"])
    def light(big, heavy): ...

    return wf


def test_condition_outcome_dependencies() -> None:
    wf = condition_workflow()
    assert wf.tasks["big"].condition
    assert wf.dependencies()["heavy"] == [Dependency("big", outcome=True)]
    assert wf.dependencies()["light"] == [Dependency("big", data=True, outcome=False), Dependency("heavy", data=True)]
    assert str(Outcome("big", False)) == "big.false"


def test_params_are_typed_validated_and_defaulted() -> None:
    wf = Workflow("p", params={"day": str, "limit": Param(int, default=10)})
    assert wf.parse_params({"day": "2026-01-01", "limit": "25"}) == {"day": "2026-01-01", "limit": 25}
    assert wf.parse_params({"day": "x"})["limit"] == 10
    with pytest.raises(ParameterError, match=r"parameter 'limit'.*got 'many'"):
        wf.parse_params({"day": "x", "limit": "many"})
    required = r"parameter 'day' is required: give it a value \(orch run: --param day=VALUE\)"
    with pytest.raises(ParameterError, match=required):
        wf.parse_params({})
    with pytest.raises(ParameterError, match=r"unknown parameter 'dya' \(known parameters: day, limit\)"):
        wf.parse_params({"day": "x", "dya": "1"})


def test_pydantic_model_params() -> None:
    class Params(BaseModel):
        rows: int = 5

    wf = Workflow("pm", params=Params)
    assert wf.parse_params({}) == {"rows": 5}


def test_bad_run_if_and_retry_are_rejected_at_declaration() -> None:
    wf = Workflow("bad")
    with pytest.raises(WorkflowDefinitionError, match=r"unknown run_if 'SOMETIMES'; use one of ALL_SUCCESS"):
        wf.task(run_if="SOMETIMES")(lambda: None)
    with pytest.raises(WorkflowDefinitionError, match=r"retry must be a Retry\(...\) or an int, got 'x'"):
        wf.task(retry="x")(lambda: None)  # type: ignore[call-overload]


def test_validation_reports_every_problem_at_once() -> None:
    wf = Workflow("broken", params={"n": 5})

    @wf.task(retry=Retry(max_attempts=3, interval_seconds=0, backoff_rate=0.5), timeout_seconds=2000)
    def extract(): ...

    @wf.task(name="extract")
    def extract_again(): ...

    @wf.task(after=["nope"], resources=Resources(memory_mb=64))
    def load(extract, missing): ...

    @wf.task(name="bad name")
    def spaced(): ...

    @wf.task(for_each="extract", max_concurrency=100, mode="inline")
    def each(): ...

    @wf.task(after=["load.true"])
    def after_plain(): ...

    found = problems(wf)
    text = "\n".join(found)
    expected = [
        "parameter 'n' has no type (got 5); declare it as n=Param(int, default=5) or n=int",
        "task name 'extract' is declared more than once",
        "retry interval_seconds=0 must be a whole number of seconds >= 1",
        "retry backoff_rate=0.5 must be a number >= 1.0",
        "timeout_seconds=2000 must be a whole number of seconds from 1 to 900",
        "parameter 'missing' names no task (known tasks: ",
        "depends on unknown task 'nope'",
        "memory_mb=64 must be an integer from 128 to 10240",
        "task name 'bad name' is not allowed",
        "max_concurrency=100 is out of range: an inline Map runs 1 to 40 items at once (mode='distributed' or",
        "has no 'item' parameter: add one",
        "depends on load.true, but 'load' is not a condition task",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    with pytest.raises(ValidationError) as info:
        validate(wf)
    assert len(info.value.problems) == len(found) >= len(expected)
    assert str(info.value).startswith(f"workflow 'broken' is invalid ({len(found)} problems):")


def test_cycle_is_shown() -> None:
    wf = Workflow("cyclic")

    @wf.task
    def a(c): ...

    @wf.task
    def b(a): ...

    @wf.task
    def c(b): ...

    assert problems(wf) == ["dependency cycle: a -> b -> c -> a; remove one of these dependencies"]


def test_output_that_cannot_reach_its_consumer() -> None:
    assert problems(condition_workflow()) == [
        "task 'light' uses the output of 'heavy', which only runs on the other outcome of condition 'big': "
        "that output can never reach it; depend on a task on the same side of the condition"
    ]


def test_reserved_and_self_references() -> None:
    wf = Workflow("reserved")

    @wf.task(name="Start")
    def s(): ...

    @wf.task(after=["me"])
    def me(): ...

    text = "\n".join(problems(wf))
    assert "task name 'Start' is reserved" in text
    assert "task 'me' lists itself in after=" in text


def test_empty_workflow_and_bad_name() -> None:
    wf = Workflow("no spaces allowed")
    text = "\n".join(problems(wf))
    assert "workflow name 'no spaces allowed' is not usable" in text
    assert "the workflow has no tasks" in text


def test_heartbeat_is_not_part_of_the_task_api() -> None:
    """A Lambda task is bounded by timeout_seconds; there is no callback task type to heartbeat."""
    wf = Workflow("hb")
    with pytest.raises(WorkflowDefinitionError, match=r"unknown option.*'heartbeat_seconds'.*timeout_seconds"):
        wf.task(heartbeat_seconds=10)  # type: ignore[call-overload]


def test_task_timeout_cannot_exceed_lambda_timeout() -> None:
    wf = Workflow("tt")

    @wf.task(timeout_seconds=600, resources=Resources(timeout_seconds=300))
    def slow(): ...

    assert any("timeout_seconds=600 exceeds its Lambda timeout (300 s)" in p for p in problems(wf))


def test_run_if_values() -> None:
    assert [r.value for r in RunIf] == [
        "ALL_SUCCESS",
        "AT_LEAST_ONE_SUCCESS",
        "NONE_FAILED",
        "ALL_DONE",
        "AT_LEAST_ONE_FAILED",
        "ALL_FAILED",
    ]
