"""A task's run state: a Lambda task, an inline Map for a for-each, or for a task running another
workflow a Parallel state whose one branch is an attempt: start, the child's execution, end (pure)."""

from __future__ import annotations

from typing import Any

from orchestration.compiler.foreach_quota import feed
from orchestration.compiler.foreach_states import scaled_map
from orchestration.compiler.layout import Layout, Scope
from orchestration.compiler.paths import (
    ENTERED_TIME,
    EXECUTION_ID,
    INVOKE_RESPONSE,
    MAP_ITEM_INDEX,
    MAP_ITEM_VALUE,
    RESPONSE_OUTPUT,
    RESPONSE_STATUS,
    RETRY_COUNT,
    output_of,
    result_path,
)
from orchestration.compiler.pool_states import pooled_item
from orchestration.compiler.rules import upstream_results
from orchestration.compiler.states import (
    Asl,
    Branch,
    MapState,
    ParallelState,
    StartExecutionState,
    TaskState,
    catch_all,
    platform_retry,
    retrier,
    select,
)
from orchestration.foreach import INLINE_MAP_MAX_CONCURRENCY
from orchestration.model import Task
from orchestration.protocol import (
    CTX_PATH,
    FOR_EACH_ITEM_INLINE,
    REUSED_ERROR,
    ChildAttempt,
    ChildEnd,
    ChildReuse,
    ChildStart,
    ChildStarted,
    JsonPath,
    TaskEvent,
    TaskResponse,
    TaskResult,
    state_path,
    workflow_placeholder,
)
from orchestration.status import TaskStatus


def run_state(
    layout: Layout, task: Task, scope: Scope, catch: list[Asl], decides: bool = False
) -> TaskState | MapState | ParallelState:
    """`decides`: the task decides its run-if itself (only a plain Lambda task can, see `task_state`)."""
    if task.subflow is not None:
        return subflow_state(layout, task, scope, catch)
    if task.for_each:
        return map_state(layout, task, scope, catch)
    return task_state(layout, task, scope, catch, decides)


def _inputs(layout: Layout, task: Task, scope: Scope) -> Asl:
    """The outputs of the dependencies the task receives as arguments."""
    return select({d.upstream: output_of(scope[d.upstream]) for d in layout.deps[task.name] if d.data})


def _items(layout: Layout, task: Task) -> dict[str, Any]:
    """For a task whose output a for-each iterates: offload big items, and where the list travels."""
    fed = feed(layout, task.name)
    return {} if fed is None else {"items": FOR_EACH_ITEM_INLINE, "feed": fed.model_dump()}


def retry_policy(task: Task) -> list[Asl]:
    return [platform_retry(), *task_retry(task)]


def task_retry(task: Task) -> list[Asl]:
    """The task's own retry policy (none when it has no retries)."""
    r = task.retry
    if r.max_attempts <= 0:
        return []
    return [
        retrier(
            r.errors,
            r.interval_seconds,
            r.max_attempts,
            r.backoff_rate,
            max_delay_seconds=r.max_delay_seconds,
            jitter=r.jitter,
        )
    ]


def task_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl], decides: bool = False) -> TaskState:
    """A Lambda task. `decides`: its payload carries its dependencies' results and its function
    decides whether it runs, returning its status (SKIPPED, UPSTREAM_FAILED) when it does not: no
    Choice state before it."""
    upstream = {"upstream": upstream_results(layout.deps[task.name], scope)} if decides else {}
    status: TaskStatus | JsonPath = JsonPath(RESPONSE_STATUS) if decides else TaskStatus.SUCCEEDED
    return TaskState(
        function=layout.functions[task.name],
        payload=TaskEvent.template(
            run=JsonPath(CTX_PATH),
            task=task.name,
            attempt=JsonPath(RETRY_COUNT),
            inputs=_inputs(layout, task, scope),
            limit=layout.limit,
            **_items(layout, task),
            **upstream,
        ),
        result_selector=TaskResult.template(status=status, output=JsonPath(RESPONSE_OUTPUT)),
        result_path=result_path(task.name),
        timeout_seconds=task.timeout_seconds or None,
        retry=retry_policy(task),
        catch=catch,
    )


def map_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl]) -> MapState | ParallelState:
    """A for-each: an inline Map calling the task's function once per item of its source's output,
    or beyond it a Distributed Map (`foreach_states.scaled_map`). Each item's input is a `TaskEvent`
    without the task and attempt, which the item state adds."""
    assert task.for_each is not None
    inline = MapState(
        items_path=output_of(scope[task.for_each]),
        max_concurrency=min(task.max_concurrency, INLINE_MAP_MAX_CONCURRENCY),
        item_selector=TaskEvent.template(
            run=JsonPath(CTX_PATH),
            item=JsonPath(MAP_ITEM_VALUE),
            index=JsonPath(MAP_ITEM_INDEX),
            inputs=_inputs(layout, task, scope),
        ),
        processor=_item_processor(layout, task),
        result_selector=TaskResult.template(status=TaskStatus.SUCCEEDED, output=JsonPath("$")),
        result_path=result_path(task.name),
        catch=catch,
    )
    return scaled_map(layout, task, scope, catch, inline, lambda: _item_processor(layout, task))


def _item_processor(layout: Layout, task: Task) -> Branch:
    """What a for-each runs per item: the task's function (between a pool's acquire and release)."""
    item_input = {name: JsonPath(state_path(TaskEvent.key(name))) for name in ("run", "inputs", "item", "index")}
    item = TaskState(
        function=layout.functions[task.name],
        payload=TaskEvent.template(
            run=item_input["run"],
            task=task.name,
            attempt=JsonPath(RETRY_COUNT),
            limit=FOR_EACH_ITEM_INLINE,  # each item's output is one item of the for-each's list
            inputs=item_input["inputs"],
            item=item_input["item"],
            index=item_input["index"],
        ),
        output_path=RESPONSE_OUTPUT,
        timeout_seconds=task.timeout_seconds or None,
        retry=retry_policy(task),
        end=True,
    )
    pool = layout.pools.get(task.name)
    return pooled_item(pool, task.name, item) if pool else Branch(f"{task.name}.item", {f"{task.name}.item": item})


def subflow_state(layout: Layout, task: Task, scope: Scope, catch: list[Asl]) -> ParallelState:
    """A run_workflow task. Its retry policy is on the Parallel state, so each retry runs the whole
    branch again: a new attempt and a new child run. The branch:

    <task>.start  the task's function claims the attempt, checks the child's parameters and records
                  the child run in the ledger (QUEUED, linked to this run and task);
    <task>.run    startExecution.sync:2 of the child's state machine, named after the child run;
    <task>.end    the task's function records the attempt's end and returns the task's output, or
                  fails with the child's outcome (then Retry, then Catch, as for any task);
    <task>.reuse  only in a repair that reuses the task (its start step raised REUSED_ERROR): returns
                  the recorded output, with no child run and no new attempt.
    """
    assert task.subflow is not None
    child = task.subflow.workflow.name
    name, fn = task.name, layout.functions[task.name]
    started, execution = state_path(ChildAttempt.key("child")), state_path(ChildAttempt.key("execution"))
    response = state_path(ChildAttempt.key("response"))
    start = TaskState(
        function=fn,
        payload=ChildStart.template(
            step="start",
            run=JsonPath(CTX_PATH),
            task=name,
            entered=JsonPath(ENTERED_TIME),
            execution=JsonPath(EXECUTION_ID),
            inputs=JsonPath(state_path(ChildAttempt.key("inputs"))),
        ),
        result_selector=ChildStarted.template(
            **{field: JsonPath(f"{INVOKE_RESPONSE}.{ChildStarted.key(field)}") for field in ChildStarted.model_fields}
        ),
        result_path=started,
        retry=[platform_retry()],
        # A repair that reuses the task: the start step starts no child, the reuse step returns the output.
        catch=[{"ErrorEquals": [REUSED_ERROR], "ResultPath": started, "Next": f"{name}.reuse"}],
        next=f"{name}.run",
    )
    reuse = TaskState(
        function=fn,
        payload=ChildReuse.template(step="reuse", run=JsonPath(CTX_PATH), task=name),
        result_selector=TaskResponse.template(output=JsonPath(RESPONSE_OUTPUT)),
        result_path=response,
        retry=[platform_retry()],
        end=True,
    )
    run = StartExecutionState(
        state_machine=workflow_placeholder(child),
        name=f"{started}.{ChildStarted.key('run_id')}",
        input=f"{started}.{ChildStarted.key('input')}",
        result_selector=select({"Status": "$.Status", "Output": "$.Output"}),
        result_path=execution,
        timeout_seconds=task.timeout_seconds or None,
        catch=[catch_all(execution, f"{name}.end")],
        next=f"{name}.end",
    )
    end = TaskState(
        function=fn,
        payload=ChildEnd.template(
            step="end",
            run=JsonPath(CTX_PATH),
            task=name,
            child=JsonPath(started),
            execution=JsonPath(execution),
            limit=layout.limit,
        ),
        result_selector=TaskResponse.template(output=JsonPath(RESPONSE_OUTPUT)),
        result_path=response,
        retry=[platform_retry()],
        end=True,
    )
    # The output read from the branch's document, not as "$[0].output": moto's JSONPath returns a
    # list for a key right after an index.
    output = f"$[0].{ChildAttempt.key('response')}.{TaskResponse.key('output')}"
    return ParallelState(
        comment=f"Run workflow {child}: one child run per attempt",
        parameters=ChildAttempt.template(ctx=JsonPath(CTX_PATH), inputs=_inputs(layout, task, scope)),
        branches=[
            Branch(
                f"{name}.start",
                {f"{name}.start": start, f"{name}.run": run, f"{name}.end": end, f"{name}.reuse": reuse},
            )
        ],
        result_selector=TaskResult.template(status=TaskStatus.SUCCEEDED, output=JsonPath(output)),
        result_path=result_path(name),
        retry=task_retry(task) or None,
        catch=catch,
    )
