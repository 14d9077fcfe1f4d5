"""A task's run state: a Lambda task, or an inline Map for a for-each (pure)."""

from __future__ import annotations

from orchestration.compiler.layout import Layout, Scope
from orchestration.compiler.paths import (
    MAP_ITEM_INDEX,
    MAP_ITEM_VALUE,
    RESPONSE_OUTPUT,
    RETRY_COUNT,
    output_of,
    result_path,
)
from orchestration.compiler.states import Asl, Branch, MapState, TaskState, platform_retry, retrier, select
from orchestration.model import Task
from orchestration.protocol import (
    CTX_PATH,
    FOR_EACH_ITEM_INLINE,
    JsonPath,
    TaskEvent,
    TaskResult,
    function_placeholder,
    state_path,
)
from orchestration.status import TaskStatus


def run_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl]) -> TaskState | MapState:
    return map_state(layout, task, scope, catch) if task.for_each else task_state(layout, task, scope, catch)


def _inputs(layout: Layout, task: Task, scope: Scope) -> Asl:
    """The outputs of the dependencies the task receives as arguments."""
    return select({d.upstream: output_of(scope[d.upstream]) for d in layout.deps[task.name] if d.data})


def _items(layout: Layout, task: Task) -> dict[str, int]:
    """For a task whose output a for-each iterates: keep its list in the state, offload big items."""
    return {"items": FOR_EACH_ITEM_INLINE} if task.name in layout.for_each_sources else {}


def retry_policy(task: Task) -> list[Asl]:
    r = task.retry
    retry = [platform_retry()]
    if r.max_attempts > 0:
        retry.append(
            retrier(
                r.errors,
                r.interval_seconds,
                r.max_attempts,
                r.backoff_rate,
                max_delay_seconds=r.max_delay_seconds,
                jitter=r.jitter,
            )
        )
    return retry


def task_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl]) -> TaskState:
    return TaskState(
        function=function_placeholder(task.name),
        payload=TaskEvent.template(
            run=JsonPath(CTX_PATH),
            task=task.name,
            attempt=JsonPath(RETRY_COUNT),
            inputs=_inputs(layout, task, scope),
            limit=layout.limit,
            **_items(layout, task),
        ),
        result_selector=TaskResult.template(status=TaskStatus.SUCCEEDED, output=JsonPath(RESPONSE_OUTPUT)),
        result_path=result_path(task.name),
        timeout_seconds=task.timeout_seconds or None,
        retry=retry_policy(task),
        catch=catch,
    )


def map_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl]) -> MapState:
    """A for-each: an inline Map calling the task's function once per item of its source's output.
    Each item's input is a `TaskEvent` without the task and attempt, which the item state adds."""
    assert task.for_each is not None
    item_input = {name: JsonPath(state_path(TaskEvent.key(name))) for name in ("run", "inputs", "item", "index")}
    item = TaskState(
        function=function_placeholder(task.name),
        payload=TaskEvent.template(
            run=item_input["run"],
            task=task.name,
            attempt=JsonPath(RETRY_COUNT),
            limit=FOR_EACH_ITEM_INLINE,
            **_items(layout, task),
            inputs=item_input["inputs"],
            item=item_input["item"],
            index=item_input["index"],
        ),
        output_path=RESPONSE_OUTPUT,
        timeout_seconds=task.timeout_seconds or None,
        retry=retry_policy(task),
        end=True,
    )
    return MapState(
        items_path=output_of(scope[task.for_each]),
        max_concurrency=task.max_concurrency,
        item_selector=TaskEvent.template(
            run=JsonPath(CTX_PATH),
            item=JsonPath(MAP_ITEM_VALUE),
            index=JsonPath(MAP_ITEM_INDEX),
            inputs=_inputs(layout, task, scope),
        ),
        processor=Branch(f"{task.name}.item", {f"{task.name}.item": item}),
        result_selector=TaskResult.template(status=TaskStatus.SUCCEEDED, output=JsonPath("$")),
        result_path=result_path(task.name),
        catch=catch,
    )
