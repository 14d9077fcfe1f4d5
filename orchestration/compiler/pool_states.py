"""The states around a pooled task (pure)::

<task>.acquire          .waitForTaskToken on the pool function: wait for a slot
<task>                  the run state, unchanged (its retries run inside the slot)
<task>.release          after success: free the slot, hand it to the oldest waiter
<task>.failed.release   after <task>.failed (a failure after retries, a timeout, a failed acquire)

A for-each acquires and releases per item inside the Map iteration; after the Map failed, its
`.failed.release` frees the slots its items still hold and drops those still queued.
Only pooled tasks get these states: the others compile as before.
"""

from __future__ import annotations

from orchestration.compiler.layout import Exit
from orchestration.compiler.paths import REPAIR_NUMBER, RUN_ID, TASK_TOKEN, WORKFLOW_NAME
from orchestration.compiler.states import ALL_ERRORS, Asl, Branch, State, TaskState, platform_retry, retrier
from orchestration.model import Task
from orchestration.pools import POOL_FUNCTION, Pool, PoolAcquire, PoolRelease
from orchestration.protocol import JsonPath, RunContext, TaskEvent, state_path
from orchestration.status import TaskStatus

_ITEM_RUN = state_path(TaskEvent.key("run"))  # inside a Map iteration: the run context
ITEM_RESPONSE = state_path("response")  # inside a pooled Map iteration: the item's Lambda response


def acquire_state(pool: Pool, task: str, next_state: str, catch: list[Asl] | None, *, item: bool = False) -> TaskState:
    """Wait until the pool gives the task (or for-each item) a slot; the state's input passes on."""
    return TaskState(
        comment=f"Wait for a slot of pool {pool.name} ({pool.slots} at once)",
        function=POOL_FUNCTION,
        wait_for_token=True,
        payload=PoolAcquire.template(
            action="acquire",
            token=JsonPath(TASK_TOKEN),
            pool=pool.name,
            slots=pool.slots,
            task=task,
            **_holder(item),
        ),
        discard_result=True,
        retry=[platform_retry()],
        catch=catch,
        next=next_state,
    )


def release_state(pool: Pool, task: str, *, item: bool = False, abandon: bool = False) -> TaskState:
    """Free the task's (item's, or with `abandon` every item's) slot; the state's input passes on."""
    return TaskState(
        comment=f"Free the slot of pool {pool.name}",
        function=POOL_FUNCTION,
        payload=PoolRelease.template(
            action="release",
            pool=pool.name,
            slots=pool.slots,
            task=task,
            **_holder(item),
            **({"abandon": True} if abandon else {}),
        ),
        output_path=f"{ITEM_RESPONSE}.Payload.output" if item else None,
        discard_result=True,
        retry=[platform_retry(), retrier([ALL_ERRORS], 1, 5, 2.0)],
    )


def _holder(item: bool) -> dict[str, JsonPath]:
    """Who holds the slot: the run's task (paths into `$.ctx`), or a for-each item (into the item's input)."""
    if not item:
        return {"workflow": JsonPath(WORKFLOW_NAME), "run_id": JsonPath(RUN_ID), "repair": JsonPath(REPAIR_NUMBER)}
    return {
        "workflow": JsonPath(f"{_ITEM_RUN}.{RunContext.key('workflow')}"),
        "run_id": JsonPath(f"{_ITEM_RUN}.{RunContext.key('run_id')}"),
        "repair": JsonPath(f"{_ITEM_RUN}.{RunContext.key('repair')}"),
        "item": JsonPath(state_path(TaskEvent.key("index"))),
    }


def release_exits(pool: Pool, task: Task, states: dict[str, State], exits: list[Exit]) -> list[Exit]:
    """Route the task's run and failure exits through release states (skips never held a slot)."""
    out: list[Exit] = []
    for state, status in exits:
        if status == TaskStatus.SUCCEEDED and not task.for_each:  # a for-each's items freed their slots
            name = f"{task.name}.release"
        elif status == TaskStatus.FAILED:
            name = f"{task.name}.failed.release"
        else:
            out.append((state, status))
            continue
        state.next = name
        states[name] = release_state(pool, task.name, abandon=task.for_each is not None)
        out.append((states[name], status))
    return out


def pooled_item(pool: Pool, task: str, item: TaskState) -> Branch:
    """A for-each item in a pool: acquire, the item's run state (its response kept aside), release."""
    run, acquire, release = f"{task}.item", f"{task}.item.acquire", f"{task}.item.release"
    item.output_path, item.result_path, item.end, item.next = None, ITEM_RESPONSE, False, release
    released = release_state(pool, task, item=True)
    released.end = True
    return Branch(acquire, {acquire: acquire_state(pool, task, run, None, item=True), run: item, release: released})
