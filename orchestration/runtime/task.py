"""The task runtime: one handler wraps every user task.

A task whose payload carries its dependencies' results (`upstream`: the compiler left its run-if to
it) first decides whether it runs (`orchestration.runif`): when not, it returns SKIPPED or
UPSTREAM_FAILED at once, without calling its code or recording an attempt (Finalize records it).
In a repair, a task the repair reuses returns its recorded output at once (`runtime.repairs`).
Otherwise it resolves the task's inputs (fetching large ones from the artifact bucket, only this run's), calls
the task with its run context, encodes its output (a large one stored in the bucket, see
`orchestration.artifacts`), records the attempt in the run ledger (with the output it returns to the
state, encoded) and returns `TaskResponse`.
An exception propagates, so Lambda reports it (errorType = the exception class name) and the state
machine's Retry/Catch decide what happens next.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from orchestration.artifacts import artifact_key, dumps
from orchestration.context import TaskContext
from orchestration.errors import OrchestrationError, TaskFailure, exception_text
from orchestration.lineage import LineageReport
from orchestration.model import CONTEXT_PARAM_NAMES, ITEM_PARAM_NAME, Task, Workflow
from orchestration.permissions import declared_secrets
from orchestration.protocol import RunContext, TaskEvent, TaskResponse, TaskResult
from orchestration.runif import skipped_as
from orchestration.runtime import metrics
from orchestration.runtime.deps import Runtime
from orchestration.runtime.foreach import collect, source_output
from orchestration.runtime.log import logger
from orchestration.runtime.repairs import attempt_number, repair_plan, reused_output
from orchestration.status import TaskStatus
from orchestration.times import now_iso, parse_iso

# Attempts that end sooner than this get a single ledger write (their final record); longer ones
# are also recorded as RUNNING while they run. Halves ledger writes for short tasks.
RUNNING_RECORD_DELAY_SECONDS = 0.05
MAX_ERROR_MESSAGE_BYTES = 4_096  # of a task's error message, recorded and reported to the state machine


def run_task(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    workflow = rt.need_workflow()
    if payload.get("step") == "collect":  # after a for-each's Map: its results in item order
        return collect(payload, rt)
    event = TaskEvent.model_validate(payload)
    run_id, name = event.run.run_id, event.task
    task = workflow.tasks.get(name)
    if task is None:
        raise OrchestrationError(f"workflow {workflow.name!r} has no task {name!r}: redeploy the workflow")
    if event.upstream is not None:
        skipped = _skipped_as(workflow, task, event.upstream)
        if skipped is not None:
            return TaskResponse(status=skipped).model_dump()
    plan = repair_plan(rt, event.run)
    if plan is not None and name in plan.reused:  # a repair reuses the task: its code does not run
        return TaskResponse(output=reused_output(plan, name, event.index)).model_dump()
    attempt = attempt_number(plan, name, event.attempt)
    started = now_iso()
    t0 = time.perf_counter()
    running = _RunningRecord(
        lambda: rt.ledger.start_attempt(workflow.name, run_id, name, attempt, started, event.index)
    )
    logger.thread_safe_append_keys(run_id=run_id, workflow=event.run.workflow, task=name, attempt=attempt)
    if event.index is not None:
        logger.thread_safe_append_keys(item_index=event.index)
    failure: BaseException | None = None
    output: Any = None
    lineage = LineageReport(name, list(task.reads), list(task.writes))  # declared, then reported by ctx.lineage
    try:
        output = _call(workflow, task, event, rt, attempt, lineage)
    except BaseException as exc:  # sys.exit(), KeyboardInterrupt & co. fail the task like any other error
        failure = exc
        logger.error("task failed", exc_info=exc)
    finally:
        logger.thread_safe_remove_keys(["run_id", "workflow", "task", "attempt", "item_index"])
    message = _error_text(failure) if failure else None
    running.settle()
    duration_ms = int((time.perf_counter() - t0) * 1000)
    rt.ledger.end_attempt(
        workflow.name,
        run_id,
        name,
        attempt,
        TaskStatus.FAILED if failure else TaskStatus.SUCCEEDED,
        started_at=started,
        ended_at=now_iso(),
        duration_ms=duration_ms,
        error=_error_name(failure) if failure else None,
        message=message,
        index=event.index,
        output=output,
        datasets=lineage.recorded(),
    )
    logger.debug(
        "task attempt ended",
        extra={"task": name, "attempt": attempt, "failed": failure is not None, "duration_ms": duration_ms},
    )
    # retried: the state machine's Retry ran it again (a repair's first attempt is not a retry)
    metrics.task_attempt(
        workflow.name, name, duration_ms=duration_ms, failed=failure is not None, retried=event.attempt > 0
    )
    if failure is None:
        return TaskResponse(output=output).model_dump()
    if isinstance(failure, SystemExit):
        raise failure  # Lambda reports it as Runtime.ExitError
    name = _error_name(failure)
    if isinstance(failure, Exception) and name == type(failure).__name__ and message == exception_text(failure):
        raise failure
    # Lambda names the error after the exception class, and its message must fit the state: raise an
    # Exception with the chosen (or BaseException's) name and the message as recorded.
    raise type(name, (TaskFailure,), {})(message or "", error_type=name) from failure


def _skipped_as(workflow: Workflow, task: Task, upstream: dict[str, TaskResult]) -> TaskStatus | None:
    deps = task.dependencies(workflow.tasks)
    missing = sorted({d.upstream for d in deps} - set(upstream))
    if missing:
        raise OrchestrationError(f"task {task.name!r} got no result for {', '.join(missing)}: redeploy the workflow")
    return skipped_as(task.run_if, deps, [(upstream[d.upstream].status, upstream[d.upstream].output) for d in deps])


def _error_text(failure: BaseException) -> str:
    """The error message as recorded and reported: valid UTF-8, cut to MAX_ERROR_MESSAGE_BYTES so the
    state's Error/Cause stay far below the payload limit (Retry/Catch, run-if and Finalize read them)."""
    text = exception_text(failure).encode("utf-8", "backslashreplace")
    if len(text) <= MAX_ERROR_MESSAGE_BYTES:
        return text.decode()
    kept = text[:MAX_ERROR_MESSAGE_BYTES].decode("utf-8", "ignore")
    return f"{kept}... [truncated: the message had {len(text)} bytes]"


def _error_name(failure: BaseException) -> str:
    if isinstance(failure, SystemExit):
        return "Runtime.ExitError"
    return getattr(failure, "error_type", None) or type(failure).__name__


class _RunningRecord:
    """The attempt's RUNNING write, made only if the attempt lasts `RUNNING_RECORD_DELAY_SECONDS`."""

    def __init__(self, write: Callable[[], object]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._settled = False
        _DEADLINES.add(time.monotonic() + RUNNING_RECORD_DELAY_SECONDS, self._fire)

    def _fire(self) -> None:
        with self._lock:
            if not self._settled:
                self._write()

    def settle(self) -> None:
        """No RUNNING write after this returns: it will not be made, or was waited for if it began
        (Lambda freezes on return). The lock tells the two apart without waiting for the deadline."""
        with self._lock:
            self._settled = True


class _Deadlines:
    """One daemon thread calls each action when its time comes (a thread per attempt, as
    `threading.Timer` starts, costs more than a short task; 500 at once queue for the GIL)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, at: float, action: Callable[[], None]) -> None:
        """Call `action` (in the deadlines' thread) once `time.monotonic()` reaches `at`."""
        with self._cond:
            heapq.heappush(self._due, (at, next(self._order), action))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="orch-running-records", daemon=True)
                self._thread.start()
            elif self._due[0][2] is action:  # sooner than what the thread waits for
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._cond.wait(self._due[0][0] - time.monotonic() if self._due else None)
                action = heapq.heappop(self._due)[2]
            try:
                action()
            except Exception:  # a failed RUNNING write: the final write still records the attempt
                logger.exception("could not record a running attempt")


_DEADLINES = _Deadlines()


def task_context(
    workflow: Workflow,
    task: Task,
    run: RunContext,
    rt: Runtime,
    attempt: int,
    index: int | None = None,
    lineage: LineageReport | None = None,
) -> TaskContext:
    """What the task's code sees of its run (`ctx`)."""
    return TaskContext(
        run_id=run.run_id,
        workflow=run.workflow,
        task=task.name,
        params=workflow.params_model.model_validate(run.params),
        attempt=attempt,
        logical_date=parse_iso(run.logical_date),
        logger=logger,
        item_index=index,
        env=dict(task.env),
        secrets=declared_secrets(task.permissions),
        secret_hint=rt.secret_hint,
        lineage=lineage or LineageReport(task.name, list(task.reads), list(task.writes)),
    )


def resolve_input(rt: Runtime, run: RunContext, value: Any, consumer: str) -> Any:
    """An upstream output (or for-each item) as its task returned it: references fetched, only
    those the runtime made for this run (`ArtifactStore.resolve`)."""
    return rt.need_artifacts().resolve(value, workflow=run.workflow, run_id=run.run_id, consumer=consumer)


def _call(workflow: Workflow, task: Task, event: TaskEvent, rt: Runtime, attempt: int, lineage: LineageReport) -> Any:
    artifacts = rt.need_artifacts()
    inputs = {k: resolve_input(rt, event.run, v, f"task {task.name!r}, input {k!r}") for k, v in event.inputs.items()}
    kwargs: dict[str, Any] = {}
    for param in task.signature.parameters.values():
        if param.name in CONTEXT_PARAM_NAMES:
            kwargs[param.name] = task_context(workflow, task, event.run, rt, attempt, event.index, lineage)
        elif task.for_each and param.name == ITEM_PARAM_NAME:
            kwargs[param.name] = resolve_input(rt, event.run, event.item, f"task {task.name!r}, item {event.index}")
        elif param.name in inputs:
            kwargs[param.name] = inputs[param.name]
    result = task.fn(**kwargs)
    if task.condition and not isinstance(result, bool):
        raise TypeError(
            f"condition task {task.name!r} must return True or False, got {type(result).__name__} {result!r}"
        )
    if event.items is not None and not isinstance(result, list):
        consumers = sorted(t.name for t in workflow.tasks.values() if t.for_each == task.name)
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
    key = artifact_key(event.run.workflow, event.run.run_id, task.name, attempt, event.index)
    value = artifacts.offload(result, limit=event.limit, key=key, item_limit=event.items)
    return source_output(artifacts, event, value)  # a for-each's list: in the state while it fits, else stored
