"""The sub-workflow function: the two Lambda steps of each attempt of a `run_workflow` task.

Between them the state machine runs the child (`startExecution.sync:2`); see
`compiler.run_state.subflow_state`. Each attempt is one child run:

- start: claims the attempt's number in the ledger (a retried invocation of the same step, told by
  the state's entered time, gets the same number), computes the child's parameters (literals, the
  parent's parameters, upstream outputs) and checks them with the child's model, records the child
  run (QUEUED, linked to its parent run, workflow and task) and returns its run id and input. The
  record exists before the child's execution starts, on AWS as locally; the recorder then moves it
  to RUNNING with its execution ARN when the execution's status changes.
- end: records the attempt's end and returns the task's output, a small summary of the child run,
  or fails with the child's outcome as the error name, for the state machine's Retry and Catch.

In a repair that reuses the task, start fails with REUSED_ERROR (no attempt, no child run) and the
state machine's reuse step returns the recorded output.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NoReturn

from orchestration.artifacts import artifact_key
from orchestration.errors import OrchestrationError, TaskFailure
from orchestration.ledger import RunLedger, RunRecord
from orchestration.model import Task, Workflow
from orchestration.protocol import (
    REUSED_ERROR,
    ChildEnd,
    ChildReuse,
    ChildStart,
    ChildStarted,
    ExecutionInput,
    FinalizeResult,
    ParentLink,
    TaskResponse,
    parse_child_request,
)
from orchestration.runtime import metrics
from orchestration.runtime.children import child_run_id
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.redact import check_params, parsed
from orchestration.runtime.repairs import repair_plan, reused_output
from orchestration.runtime.starter import checked_params
from orchestration.runtime.task import resolve_input, task_context
from orchestration.status import ExecutionStatus, RunStatus, TaskStatus
from orchestration.times import iso, ms_between, now_iso, parse_iso

# The task's error (what Retry and Catch match) when its child run ended otherwise than SUCCEEDED.
CHILD_ERRORS = {
    ExecutionStatus.FAILED: "SubWorkflow.Failed",
    ExecutionStatus.TIMED_OUT: "SubWorkflow.TimedOut",  # the child's own timeout_seconds
    ExecutionStatus.ABORTED: "SubWorkflow.Aborted",
}
SYNC_FAILED = "States.TaskFailed"  # the error of a .sync task whose child did not succeed
# Step Functions' own errors (States.Timeout: the task's timeout_seconds; ...) come back as
# SubWorkflow.Timeout, ...: a function's error name cannot start with "States.".
STATES_PREFIX, ERROR_PREFIX = "States.", "SubWorkflow."


def run_subflow(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    request = parsed(parse_child_request, payload, "the sub-workflow step's event")
    workflow = rt.need_workflow()
    task = workflow.tasks.get(request.task)
    if task is None or task.subflow is None:
        raise OrchestrationError(
            f"workflow {workflow.name!r} has no task {request.task!r} that runs a workflow: redeploy the workflow"
        )
    if isinstance(request, ChildReuse):
        return reuse_child(request, rt)
    if isinstance(request, ChildStart):
        return start_child(request, workflow, task, rt)
    return end_child(request, task, rt)


def start_child(event: ChildStart, workflow: Workflow, task: Task, rt: Runtime) -> dict[str, Any]:
    assert task.subflow is not None
    child, run = task.subflow.workflow, event.run
    plan = repair_plan(rt, run)
    if plan is not None and task.name in plan.reused:  # the state machine goes to the reuse step
        _raise(REUSED_ERROR, f"repair {plan.number} reuses task {task.name!r}: no child run starts")
    moment = parse_iso(event.entered)
    started = iso(moment) if moment else now_iso()
    attempt = claim_attempt(rt.ledger, run.workflow, run.run_id, task.name, started)
    try:
        params = _child_params(workflow, task, event, rt, attempt)
    except Exception as exc:
        _end_attempt(
            rt.ledger, run.workflow, run.run_id, task.name, attempt, started, error=type(exc).__name__, message=str(exc)
        )
        raise
    run_id = child_run_id(run.run_id, task.name, attempt)
    link = ParentLink(run_id=run.run_id, workflow=run.workflow, task=task.name, attempt=attempt)
    rt.ledger.create_run(  # False for a retried invocation of this step: the record is there already
        RunRecord(
            run_id=run_id,
            workflow=child.name,
            status=RunStatus.QUEUED,
            created_at=now_iso(),
            params=params,
            logical_date=run.logical_date,
            trigger={"type": "workflow", **{f"parent_{k}": v for k, v in link.model_dump().items()}},
            definition_hash=_definition_hash(child),
            parent_run_id=run.run_id,
            parent_workflow=run.workflow,
            parent_task=task.name,
        )
    )
    logger.info(
        "child run recorded",
        extra={"run_id": run.run_id, "task": task.name, "attempt": attempt, "child_run_id": run_id},
    )
    start = ExecutionInput(params=params, logical_date=run.logical_date, parent=link, started_by=event.execution)
    return ChildStarted(
        run_id=run_id, attempt=attempt, started_at=started, input=start.model_dump(mode="json", by_alias=True)
    ).model_dump()


def reuse_child(event: ChildReuse, rt: Runtime) -> dict[str, Any]:
    """In a repair that reuses the task: its recorded output (the child run it recorded is not rerun)."""
    plan = repair_plan(rt, event.run)
    if plan is None or event.task not in plan.reused:
        raise OrchestrationError(
            f"task {event.task!r} of run {event.run.run_id!r} is not reused by a repair: its reuse step "
            "runs only in a repair that reuses it"
        )
    return TaskResponse(output=reused_output(plan, event.task, None)).model_dump()


def claim_attempt(ledger: RunLedger, workflow: str, run_id: str, task: str, started: str) -> int:
    """The attempt number of the attempt that started at `started`: the one already recorded with
    that start (this step ran before and its answer was lost), else the next free number."""
    previous = ledger.task_attempts(workflow, run_id, task)
    for att in previous:
        if att.started_at == started:
            return att.attempt
    attempt = max((a.attempt for a in previous), default=0) + 1
    while not ledger.start_attempt(workflow, run_id, task, attempt, started):
        attempt += 1
    return attempt


def _child_params(workflow: Workflow, task: Task, event: ChildStart, rt: Runtime, attempt: int) -> dict[str, Any]:
    """The child's parameter values for this run, checked with the child's model (defaults applied)."""
    assert task.subflow is not None
    ctx = task_context(workflow, task, event.run, rt, attempt)
    inputs = {k: resolve_input(rt, event.run, v, f"task {task.name!r}, input {k!r}") for k, v in event.inputs.items()}
    values = task.fn(ctx, **inputs)
    check_params(task.subflow.workflow, values)  # the error (which Lambda logs) names fields, not values
    return checked_params(task.subflow.workflow, values)


@functools.cache
def _definition_hash(workflow: Workflow) -> str:
    from orchestration.compiler import compile_workflow, definition_hash, to_json  # only when a child starts

    return definition_hash(to_json(compile_workflow(workflow)))


def end_child(event: ChildEnd, task: Task, rt: Runtime) -> dict[str, Any]:
    assert task.subflow is not None
    child, run, started = task.subflow.workflow, event.run, event.child
    execution = event.execution
    if execution.get("Status") == ExecutionStatus.SUCCEEDED:
        result = FinalizeResult.model_validate(execution.get("Output") or {})
        output = {
            "run_id": started.run_id,
            "workflow": child.name,
            "status": result.status,
            "tasks": {name: summary.status for name, summary in sorted(result.tasks.items())},
        }
        key = artifact_key(run.workflow, run.run_id, task.name, started.attempt)
        value = rt.need_artifacts().offload(output, limit=event.limit, key=key)
        _end_attempt(rt.ledger, run.workflow, run.run_id, task.name, started.attempt, started.started_at, output=value)
        return TaskResponse(output=value).model_dump()
    error, message = _failure(execution, started.run_id, child.name, rt.ledger)
    _end_attempt(
        rt.ledger,
        run.workflow,
        run.run_id,
        task.name,
        started.attempt,
        started.started_at,
        error=error,
        message=message,
    )
    _raise(error, message)


def _failure(execution: dict[str, Any], run_id: str, workflow: str, ledger: RunLedger) -> tuple[str, str]:
    """(error name, message) for a child execution that did not succeed, or that could not start."""
    error, cause = str(execution.get("Error") or SYNC_FAILED), str(execution.get("Cause") or "")
    described: Any = None
    if error == SYNC_FAILED:
        try:
            described = json.loads(cause)
        except ValueError:
            described = None
    status = described.get("Status") if isinstance(described, dict) else None
    if status in CHILD_ERRORS:
        record = ledger.get_run_item(workflow, run_id)
        detail = record.error if record is not None and record.error else described.get("Error")
        return CHILD_ERRORS[status], f"run {run_id} of workflow {workflow!r} ended {status}" + (
            f": {detail}" if detail else ""
        )
    own = ERROR_PREFIX + error.removeprefix(STATES_PREFIX) if error.startswith(STATES_PREFIX) else error
    if error == "States.Timeout":
        return own, f"run {run_id} of workflow {workflow!r} did not end within the task's timeout_seconds: stopped"
    return own, f"run {run_id} of workflow {workflow!r} could not run: {error}: {cause}"


def _end_attempt(
    ledger: RunLedger,
    workflow: str,
    run_id: str,
    task: str,
    attempt: int,
    started: str,
    *,
    error: str | None = None,
    message: str | None = None,
    output: Any = None,
) -> None:
    ended = now_iso()
    ledger.end_attempt(
        workflow,
        run_id,
        task,
        attempt,
        TaskStatus.FAILED if error else TaskStatus.SUCCEEDED,
        started_at=started,
        ended_at=ended,
        duration_ms=ms_between(started, ended) or 0,
        error=error,
        message=message,
        output=output,
    )
    # the attempt spans the child run; its number counts earlier passes' attempts too (a repair's is > 1)
    metrics.task_attempt(
        workflow, task, duration_ms=ms_between(started, ended) or 0, failed=error is not None, retried=attempt > 1
    )


def _raise(error: str, message: str) -> NoReturn:
    """Fail the step with `error` as its name: Lambda names an error after the exception's class."""
    raise type(error, (TaskFailure,), {})(message, error_type=error)
