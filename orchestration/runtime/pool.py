"""The pool function: slots of a pool shared by tasks across runs and workflows, with no polling.

`acquire` runs as a `.waitForTaskToken` task before a pooled task (or for-each item): it takes a
slot and releases the token at once, or queues the token. `release` runs after the task, whatever
it ended with: it frees the slot and hands free slots to the oldest waiters (`fill`). A waiter
whose token is dead (its run stopped or timed out: TaskTimedOut, InvalidToken) gets its slot taken
back and the next one is tried; a wake that fails otherwise (throttled) gives the slot back and
requeues the waiter before the call fails, so its retry (or the next fill) wakes it: an admitted
waiter is never left unwoken. The recorder frees a finished run's slots with `release_run`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, cast

from pydantic import Field, TypeAdapter

from orchestration.ledger.pools import Pools
from orchestration.pools import PoolAcquire, PoolRelease, PoolResponse, holder_id, run_holder_prefix
from orchestration.runtime import metrics
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.redact import parsed

PoolRequest = Annotated[PoolAcquire | PoolRelease, Field(discriminator="action")]


@cache
def _adapter() -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, PoolRequest))  # a special form: typed as Any for TypeAdapter


def parse_pool_request(payload: Any) -> PoolAcquire | PoolRelease:
    request: PoolAcquire | PoolRelease = _adapter().validate_python(payload)
    return request


def pools_of(rt: Runtime) -> Pools:
    return Pools(rt.ledger.table, rt.ledger.client)


def run_pool(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    request = parsed(parse_pool_request, payload, "the pool function's event")
    pools = pools_of(rt)
    holder = holder_id(request.workflow, request.run_id, request.task, request.repair, request.item)
    admitted = 0
    if isinstance(request, PoolAcquire):
        if pools.acquire(request.pool, request.slots, holder):
            if _wake(rt, request.token):
                admitted = 1
            else:  # its run already ended
                pools.remove(request.pool, frozenset({holder}))
        else:
            pools.enqueue(request.pool, holder, request.token)
    else:
        pools.release(request.pool, holder)
        if request.abandon:
            pools.drop_waiters(request.pool, holder)
    admitted += fill(rt, pools, request.pool)
    return PoolResponse(admitted=admitted).model_dump()


def fill(rt: Runtime, pools: Pools, pool: str) -> int:
    """Hand the pool's free slots to its oldest waiters; how many were admitted.

    Called after every change that may free a slot or add a waiter, so a waiter queued while the
    last slot was freed is still admitted: either the freeing call sees it, or its own call sees
    the free slot."""
    admitted = 0
    while True:
        state = pools.state(pool)
        if state is not None:  # after each change of its holders (every change is followed by a fill)
            metrics.pool_usage(pool, len(state.holders))
        if state is None or state.free == 0:
            return admitted
        waiter = pools.claim_oldest(pool)
        if waiter is None:
            return admitted
        if not pools.admit(pool, state.slots, waiter.holder):
            current = pools.state(pool)
            if current is None or waiter.holder not in current.holders:  # full again: keep its place
                pools.requeue(pool, waiter)
            continue  # (a waiter already holding a slot was a duplicate: dropped)
        try:
            woken = _wake(rt, waiter.token)
        except Exception:  # e.g. throttled: give the slot back, keep its place; the retried call wakes it
            pools.remove(pool, frozenset({waiter.holder}))
            pools.requeue(pool, waiter)
            raise
        if woken:
            admitted += 1
        else:  # a waiter of a run that ended: skipped
            pools.remove(pool, frozenset({waiter.holder}))


def release_run(rt: Runtime, workflow: str, run_id: str) -> int:
    """A run ended (any status): free every slot it holds in the pools its workflow uses, then wake
    waiters. Its own waiters are skipped when popped (their tokens are dead). Slots freed."""
    pools = pools_of(rt)
    freed = 0
    for pool in rt.pools.get(workflow, ()):
        freed += len(pools.release(pool, run_holder_prefix(workflow, run_id)))
        fill(rt, pools, pool)
    return freed


def _wake(rt: Runtime, token: str) -> bool:
    """Release a waiting token; False when it is dead (its execution or Map iteration ended)."""
    client = rt.stepfunctions
    try:
        client.send_task_success(taskToken=token, output=json.dumps({}))
    except (client.exceptions.TaskTimedOut, client.exceptions.InvalidToken, client.exceptions.TaskDoesNotExist) as exc:
        logger.info("pool waiter gone", extra={"error": type(exc).__name__})
        return False
    return True
