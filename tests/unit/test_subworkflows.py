"""Tasks that run other workflows: declaration, validation, compiled states, loading, run ids."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration import Param, Retry, Workflow, WorkflowDefinitionError, compile_workflow, load_file, load_workflow
from orchestration.compiler import START_EXECUTION_SYNC, child_workflows, placeholders, render, to_json
from orchestration.ledger import Attempt
from orchestration.model import Dependency
from orchestration.protocol import ExecutionInput, ParentLink, workflow_placeholder
from orchestration.runtime.children import child_run_id
from orchestration.runtime.subflow import claim_attempt
from orchestration.subworkflow import OutputRef, ParamRef
from orchestration.validation import problems
from tests.samples import example


def child_workflow(name: str = "child") -> Workflow:
    wf = Workflow(name, params={"day": str, "rows": int, "mode": Param(str, default="full")})

    @wf.task
    def load(ctx):
        return ctx.params.rows

    return wf


def parent_workflow(child: Workflow, **params: Any) -> Workflow:
    wf = Workflow("parent", params={"day": str})

    @wf.task
    def extract():
        return 3

    wf.run_workflow("sub", workflow=child, params=params or {"day": wf.param("day"), "rows": extract}, retry=2)
    return wf


def test_run_workflow_declares_a_task_whose_data_inputs_are_the_upstream_outputs_it_passes() -> None:
    child = child_workflow()
    wf = parent_workflow(child)
    task = wf.tasks["sub"]
    assert task.subflow is not None and task.subflow.workflow is child
    assert task.subflow.params == {"day": ParamRef("day"), "rows": OutputRef("extract")}
    assert wf.dependencies()["sub"] == [Dependency("extract", data=True)]
    assert task.retry == Retry(max_attempts=2) and task.description == "Runs workflow child."
    assert problems(wf) == []


def test_declaration_errors_name_the_value_and_the_fix() -> None:
    wf = Workflow("parent", params={"day": str})
    with pytest.raises(WorkflowDefinitionError, match=r"workflow= takes a Workflow, got str 'child'"):
        wf.run_workflow("sub", workflow="child")  # type: ignore[arg-type]
    with pytest.raises(WorkflowDefinitionError, match=r"unknown option\(s\) 'for_each'.*after, description"):
        wf.run_workflow("sub", workflow=child_workflow(), for_each="x")  # type: ignore[call-arg]
    with pytest.raises(WorkflowDefinitionError, match=r"no parameter 'date' to pass on \(its parameters: day\)"):
        wf.param("date")


def test_child_params_are_checked_against_the_child_model() -> None:
    other = Workflow("other")

    @other.task
    def elsewhere(): ...

    wf = parent_workflow(
        child_workflow(),
        day=ParamRef("date"),
        rows="many",
        extra=1,
        mode=elsewhere,
        when=object(),
    )
    found = problems(wf)
    assert "task 'sub': parameter 'day' takes 'parent''s parameter 'date', which it does not declare" in found
    assert "task 'sub': parameter 'mode' takes the output of 'elsewhere', which is not a task of 'parent'" in found
    assert any(p.startswith("task 'sub': parameter 'when': <object object") for p in found)
    assert any("parameter 'rows' of workflow 'child': Input should be a valid integer" in p for p in found)
    assert "task 'sub': workflow 'child' has no parameter 'extra' (its parameters: day, rows, mode)" in found
    missing = problems(parent_workflow(child_workflow(), day="2026-01-01"))
    assert missing == ["task 'sub': workflow 'child' requires parameter 'rows': give it a value in params="]


def test_a_workflow_that_runs_itself_is_a_problem_naming_the_chain() -> None:
    a, b = Workflow("a"), Workflow("b")
    a.run_workflow("run_b", workflow=b)
    b.run_workflow("run_a", workflow=a)
    assert problems(a) == [
        "workflow cycle: 'a' (task 'run_b') -> 'b' (task 'run_a') -> 'a': a workflow cannot run itself, directly "
        "or through the workflows it runs; remove one of these run_workflow tasks"
    ]
    selfish = Workflow("selfish")
    selfish.run_workflow("again", workflow=selfish)
    assert problems(selfish)[0].startswith("workflow cycle: 'selfish' (task 'again') -> 'selfish'")


def test_an_invalid_child_and_two_workflows_of_one_name() -> None:
    wf = Workflow("parent")
    wf.run_workflow("bad", workflow=Workflow("not a name!"))
    wf.run_workflow("twin", workflow=Workflow("parent"))
    found = problems(wf)
    assert found[0] == "two different workflows are named 'parent' among 'parent' and the workflows it runs: rename one"
    assert found[1].startswith("task 'bad' runs workflow 'not a name!', which is invalid: workflow name 'not a name!'")
    assert "the workflow has no tasks" in found[1]


def test_a_run_workflow_timeout_is_not_bound_by_lambda() -> None:
    wf, child = Workflow("parent"), child_workflow()
    wf.run_workflow("long", workflow=child, params={"day": "d", "rows": 1}, timeout_seconds=86_400)
    wf.run_workflow("zero", workflow=child, params={"day": "d", "rows": 1}, timeout_seconds=0)
    assert problems(wf) == ["task 'zero': timeout_seconds=0 must be a positive whole number of seconds"]


def test_a_for_each_cannot_iterate_over_a_child_run_summary() -> None:
    wf = parent_workflow(child_workflow())

    @wf.task(for_each="sub")
    def each(item): ...

    assert problems(wf) == [
        "task 'each' runs for each item of 'sub', which runs a workflow and returns a summary of that run, not a "
        "list: iterate over the output of a task that returns a list"
    ]


def test_the_compiled_task_is_a_parallel_attempt_around_start_execution_sync() -> None:
    child = child_workflow("child-wf")
    wf = parent_workflow(child)
    definition = compile_workflow(wf)
    state = definition["States"]["sub"]
    assert state["Type"] == "Parallel"
    assert state["Parameters"] == {"ctx.$": "$.ctx", "inputs": {"extract.$": "$.res.extract.output"}}
    assert state["ResultSelector"] == {"status": "SUCCEEDED", "output.$": "$[0].response.output"}
    assert state["ResultPath"] == "$.res.sub"
    assert [r["MaxAttempts"] for r in state["Retry"]] == [2]  # the task's policy: each retry, a new attempt
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.res.sub", "Next": "sub.failed"}]
    (branch,) = state["Branches"]
    assert list(branch["States"]) == ["sub.start", "sub.run", "sub.end", "sub.reuse"]
    start, run, end, reuse = branch["States"].values()
    placeholder = workflow_placeholder("child-wf")
    assert run["Resource"] == START_EXECUTION_SYNC
    assert run["Parameters"] == {
        "StateMachineArn": "${" + placeholder + "}",
        "Name.$": "$.child.run_id",
        "Input.$": "$.child.input",
    }
    assert run["Catch"][0]["Next"] == "sub.end" and run["Next"] == "sub.end"
    assert start["Parameters"]["FunctionName"] == end["Parameters"]["FunctionName"] == "${fn_sub}"
    assert start["Parameters"]["Payload"]["entered.$"] == "$$.State.EnteredTime"
    assert end["End"] is True and end["ResultPath"] == "$.response"
    # a repair reusing the task: the start step's Repair.Reused error leads to the reuse step
    assert start["Catch"] == [{"ErrorEquals": ["Repair.Reused"], "ResultPath": "$.child", "Next": "sub.reuse"}]
    assert reuse["Parameters"]["Payload"] == {"step": "reuse", "run.$": "$.ctx", "task": "sub"}
    assert reuse["End"] is True and reuse["ResultPath"] == "$.response"
    assert placeholders(wf)[placeholder] == "child-wf"
    assert child_workflows(wf) == {"child-wf": child}
    rendered = render(to_json(definition), {placeholder: "arn:aws:states:r:1:stateMachine:x"})
    assert "arn:aws:states:r:1:stateMachine:x" in rendered and "${wf_" not in rendered


def test_task_timeout_is_on_the_child_execution_and_no_retry_means_none() -> None:
    wf = Workflow("parent")
    wf.run_workflow("sub", workflow=child_workflow(), params={"day": "d", "rows": 1}, timeout_seconds=3600)
    state = compile_workflow(wf)["States"]["sub"]
    assert "Retry" not in state
    assert state["Branches"][0]["States"]["sub.run"]["TimeoutSeconds"] == 3600


def test_placeholders_of_names_with_dashes_stay_distinct() -> None:
    assert workflow_placeholder("daily_etl") == "wf_daily_etl"
    dashed = workflow_placeholder("daily-etl")
    assert dashed.startswith("wf_daily_etl_") and dashed != workflow_placeholder("daily_etl")
    assert all(c.isalnum() or c == "_" for c in dashed)


def test_a_file_loads_the_workflows_its_workflows_run_and_picks_the_top_one() -> None:
    found = load_file(example("parent_child"))
    assert sorted(found) == ["nightly", "publish"]
    assert load_workflow(example("parent_child")).name == "nightly"
    assert load_workflow(example("parent_child"), "publish").name == "publish"


def test_child_run_ids_are_deterministic_and_fit_an_execution_name() -> None:
    assert child_run_id("20260102T030405-ab12cd34", "load", 2) == "20260102T030405-ab12cd34-load-2"
    long_a, long_b = "a" * 80, "a" * 79 + "b"
    task = "t" * 48
    ids = {child_run_id(parent, task, 99) for parent in (long_a, long_b)}
    assert len(ids) == 2 and all(len(i) == 80 and i.endswith(f"-{task}-99") for i in ids)
    assert child_run_id(long_a, task, 99) == child_run_id(long_a, task, 99)


class Attempts:
    """The two ledger calls claim_attempt makes, over a list of attempts."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    def task_attempts(self, workflow: str, run_id: str, task: str) -> list[Attempt]:
        return [a for a in self.attempts if a.task == task]

    def start_attempt(self, workflow: str, run_id: str, task: str, attempt: int, started_at: str) -> bool:
        if any(a.task == task and a.attempt == attempt for a in self.attempts):
            return False
        self.attempts.append(Attempt(task, attempt, "RUNNING", started_at))
        return True


def test_an_attempt_number_is_claimed_once_per_attempt_even_when_its_start_runs_twice() -> None:
    ledger: Any = Attempts()
    first = claim_attempt(ledger, "wf", "r", "sub", "2026-01-01T00:00:00.000Z")
    replayed = claim_attempt(ledger, "wf", "r", "sub", "2026-01-01T00:00:00.000Z")
    retried = claim_attempt(ledger, "wf", "r", "sub", "2026-01-01T00:00:05.000Z")
    assert (first, replayed, retried) == (1, 1, 2)
    assert claim_attempt(ledger, "wf", "r", "other", "2026-01-01T00:00:05.000Z") == 1


def test_a_child_execution_input_carries_its_parent_and_leaves_out_what_is_absent() -> None:
    plain = ExecutionInput(params={"a": 1})
    assert plain.model_dump_json() == '{"params":{"a":1},"logical_date":null}'
    link = ParentLink(run_id="r", workflow="parent", task="sub", attempt=1)
    child = ExecutionInput(params={}, parent=link, started_by="arn:parent-execution")
    assert child.model_dump(by_alias=True) == {
        "params": {},
        "logical_date": None,
        "parent": {"run_id": "r", "workflow": "parent", "task": "sub", "attempt": 1},
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:parent-execution",
    }
