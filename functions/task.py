"""The task runtime: one Lambda handler wraps every user task.

It resolves the task's inputs (fetching large ones from the artifact bucket), calls the task with
its run context, stores a large output in the bucket, records the attempt in the run ledger and
returns `{"output": ...}`. An exception propagates, so Lambda reports it (errorType = the exception
class name) and the state machine's Retry/Catch decide what happens next.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from functions.runtime import Runtime, from_env, logger
from orchestration.artifacts import dumps
from orchestration.context import TaskContext
from orchestration.errors import OrchestrationError, TaskFailure
from orchestration.ledger import now_iso
from orchestration.model import CONTEXT_PARAM_NAMES, ITEM_PARAM_NAME

# Attempts that end sooner than this get a single ledger write (their final record); longer ones
# are also recorded as RUNNING while they run. Halves ledger writes for short tasks.
RUNNING_RECORD_DELAY_SECONDS = 0.05


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_task(event, from_env())


def run_task(event: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    if rt.workflow is None:
        raise OrchestrationError("the task runtime was started without a workflow")
    run = event["run"]
    run_id, name = run["run_id"], event["task"]
    attempt = int(event.get("attempt", 0)) + 1
    index = event.get("index")
    task = rt.workflow.tasks.get(name)
    if task is None:
        raise OrchestrationError(f"workflow {rt.workflow.name!r} has no task {name!r}: redeploy the workflow")
    started = now_iso()
    t0 = time.perf_counter()
    running = threading.Timer(
        RUNNING_RECORD_DELAY_SECONDS, rt.ledger.start_attempt, (run_id, name, attempt, started, index)
    )
    running.daemon = True
    running.start()
    logger.thread_safe_append_keys(run_id=run_id, workflow=run["workflow"], task=name, attempt=attempt)
    if index is not None:
        logger.thread_safe_append_keys(item_index=index)
    failure: BaseException | None = None
    output: Any = None
    try:
        output = _call(task, event, run, rt, attempt, index)
    except (Exception, SystemExit) as exc:  # a task calling sys.exit() fails like any other error
        failure = exc
        logger.error("task failed", exc_info=exc)
    finally:
        logger.thread_safe_clear_keys()
    _settle(running)
    rt.ledger.end_attempt(
        run_id,
        name,
        attempt,
        "FAILED" if failure else "SUCCEEDED",
        started_at=started,
        ended_at=now_iso(),
        duration_ms=int((time.perf_counter() - t0) * 1000),
        error=_error_name(failure) if failure else None,
        message=str(failure) if failure else None,
        index=index,
    )
    if isinstance(failure, TaskFailure) and failure.error_type != type(failure).__name__:
        # Lambda names the error after the exception class: give it the chosen name.
        raise type(failure.error_type, (TaskFailure,), {})(str(failure), error_type=failure.error_type) from failure
    if failure is not None:
        raise failure
    return {"output": output}


def _error_name(failure: BaseException) -> str:
    if isinstance(failure, SystemExit):
        return "Runtime.ExitError"
    return getattr(failure, "error_type", None) or type(failure).__name__


def _settle(timer: threading.Timer) -> None:
    """Cancel the pending RUNNING write, or wait for it if it already started (Lambda freezes on return)."""
    timer.cancel()
    if timer.is_alive():
        timer.join()


def _call(task: Any, event: dict[str, Any], run: dict[str, Any], rt: Runtime, attempt: int, index: Any) -> Any:
    assert rt.workflow is not None
    inputs = {k: rt.artifacts.resolve(v) for k, v in (event.get("inputs") or {}).items()}
    kwargs: dict[str, Any] = {}
    for param in task.signature.parameters.values():
        if param.name in CONTEXT_PARAM_NAMES:
            kwargs[param.name] = TaskContext(
                run_id=run["run_id"],
                workflow=run["workflow"],
                task=task.name,
                params=rt.workflow.params_model.model_validate(run.get("params") or {}),
                attempt=attempt,
                logical_date=_parse_date(run.get("logical_date")),
                logger=logger,
                item_index=index,
            )
        elif task.for_each and param.name == ITEM_PARAM_NAME:
            kwargs[param.name] = rt.artifacts.resolve(event.get("item"))
        elif param.name in inputs:
            kwargs[param.name] = inputs[param.name]
    result = task.fn(**kwargs)
    if task.condition and not isinstance(result, bool):
        raise TypeError(
            f"condition task {task.name!r} must return True or False, got {type(result).__name__} {result!r}"
        )
    if event.get("items") is not None and not isinstance(result, list):
        consumers = sorted(t.name for t in rt.workflow.tasks.values() if t.for_each == task.name)
        raise TypeError(
            f"task {task.name!r} must return a list: for-each task(s) {', '.join(consumers)} run once per item "
            f"of its output, got {type(result).__name__}"
        )
    try:
        dumps(result)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"task {task.name!r} returned a value that is not JSON-serialisable ({exc}); "
            "return dicts, lists, strings, numbers, booleans or None"
        ) from exc
    key = f"runs/{run['workflow']}/{run['run_id']}/{task.name}/attempt-{attempt}"
    if index is not None:
        key += f"/item-{int(index):06d}"
    return rt.artifacts.offload(result, limit=int(event.get("limit", 32_768)), key=key, item_limit=event.get("items"))


def _parse_date(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


__all__ = ["handler", "run_task"]
