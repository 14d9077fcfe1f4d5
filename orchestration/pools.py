"""Pools: a cap on the tasks running at once across runs and workflows (pure).

`Pool("warehouse", slots=4)` declared on tasks (`@wf.task(pool=...)`, a Pool or its name) lets at
most 4 of them run at once in a stack (or a local cloud), whatever run or workflow they belong to.
A pooled task's run state is preceded by an acquire (a `.waitForTaskToken` call of the pool
function, released at once while a slot is free, else queued) and followed, whatever the task
ended with, by a release that hands the slot to the oldest waiter (docs/architecture.md, Pools).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from orchestration.errors import WorkflowDefinitionError
from orchestration.protocol import Payload

POOL_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
POOL_FUNCTION = "fn__pool"  # the definition substitution holding the pool function's ARN


@dataclass(frozen=True)
class Pool:
    """A named number of slots shared by every task declared with it."""

    name: str
    slots: int


class Pooled(Protocol):
    """What pool resolution reads of a task."""

    @property
    def pool(self) -> Pool | str | None: ...


def declared_pools(tasks: Mapping[str, Pooled]) -> dict[str, list[Pool]]:
    """Pool name -> the distinct Pool declarations the tasks carry (by task name order)."""
    out: dict[str, list[Pool]] = {}
    for _, task in sorted(tasks.items()):
        if isinstance(task.pool, Pool) and task.pool not in out.setdefault(task.pool.name, []):
            out[task.pool.name].append(task.pool)
    return out


def task_pools(tasks: Mapping[str, Pooled]) -> dict[str, Pool]:
    """Task name -> its pool, for every pooled task whose pool is known (a name resolves to the Pool
    another task of the workflow declares with that name)."""
    declared = declared_pools(tasks)
    out: dict[str, Pool] = {}
    for name, task in sorted(tasks.items()):
        if isinstance(task.pool, Pool):
            out[name] = task.pool
        elif isinstance(task.pool, str) and declared.get(task.pool):
            out[name] = declared[task.pool][0]
    return out


def pool_problems(tasks: Mapping[str, Pooled]) -> list[str]:
    """Every problem of the tasks' pool declarations, with the value received and the fix."""
    out: list[str] = []
    declared = declared_pools(tasks)
    for name, task in sorted(tasks.items()):
        pool = task.pool
        if pool is None:
            continue
        if not isinstance(pool, Pool | str):
            out.append(f"task {name!r}: pool= takes a Pool(...) or a pool's name, got {pool!r}")
            continue
        label = pool.name if isinstance(pool, Pool) else pool
        if not isinstance(label, str) or not POOL_NAME_RE.match(label):
            out.append(f"task {name!r}: pool name {label!r} is invalid; use 1-64 letters, digits, '_' or '-'")
        if isinstance(pool, Pool) and not _valid_slots(pool.slots):
            out.append(f"task {name!r}: pool {label!r} has slots={pool.slots!r}; give it an int >= 1")
        if isinstance(pool, str) and not declared.get(pool):
            out.append(
                f"task {name!r}: pool {pool!r} is named but never declared; pass Pool({pool!r}, slots=N) "
                "on this or another task of the workflow"
            )
    out.extend(slot_conflicts((f"task {n!r}", t.pool) for n, t in sorted(tasks.items()) if isinstance(t.pool, Pool)))
    return out


def _valid_slots(slots: object) -> bool:
    return isinstance(slots, int) and not isinstance(slots, bool) and slots >= 1


def slot_conflicts(declarations: Iterable[tuple[str, Pool]]) -> list[str]:
    """A pool name declared with two different slot counts (`declarations`: where -> Pool)."""
    seen: dict[str, dict[int, list[str]]] = {}
    for where, pool in declarations:
        users = seen.setdefault(pool.name, {}).setdefault(pool.slots, [])
        if where not in users:
            users.append(where)
    return [
        f"pool {name!r} is declared with different slot counts: "
        + "; ".join(f"slots={slots} in {', '.join(users)}" for slots, users in sorted(counts.items()))
        + "; declare one Pool and share it"
        for name, counts in sorted(seen.items())
        if len(counts) > 1
    ]


def holder_id(workflow: str, run_id: str, task: str, repair: int, item: int | None = None) -> str:
    """Who holds a slot: a task's pass in a run, or one item of a for-each. Workflow names, run ids
    and task names hold no '#', so `<workflow>#<run_id>` is a prefix of exactly that run's holders."""
    base = f"{workflow}#{run_id}#{task}#{repair}"
    return base if item is None else f"{base}#{item}"


def run_holder_prefix(workflow: str, run_id: str) -> str:
    return f"{workflow}#{run_id}"


def holds(holder: str, prefix: str) -> bool:
    """Is `holder` the holder `prefix` or one below it (a for-each item of a task, a task of a run)?"""
    return holder == prefix or holder.startswith(f"{prefix}#")


# -- the pool function's payloads ------------------------------------------------------------------------


class PoolAcquire(Payload):
    """A `.waitForTaskToken` call before a pooled task (or for-each item): the token is released at
    once while the pool has a free slot, otherwise when a release hands it one."""

    action: Literal["acquire"] = "acquire"
    token: str
    pool: str
    slots: int
    workflow: str
    run_id: str
    repair: int = 0
    task: str
    item: int | None = None


class PoolRelease(Payload):
    """After a pooled task (or item) ended, whatever its status: free its slot, wake the oldest waiter.
    `abandon`: a for-each ended early; its items still queued give up their place."""

    action: Literal["release"] = "release"
    pool: str
    slots: int
    workflow: str
    run_id: str
    repair: int = 0
    task: str
    item: int | None = None
    abandon: bool = False


class PoolResponse(Payload):
    admitted: int


class PoolsOf(Protocol):
    """What `stack_pools` reads of a workflow."""

    @property
    def name(self) -> str: ...

    @property
    def tasks(self) -> Mapping[str, Pooled]: ...


def stack_pools(workflows: Iterable[PoolsOf]) -> dict[str, list[str]]:
    """Workflow -> the pools its tasks use, for workflows deployed together (a stack, a local cloud);
    raises WorkflowDefinitionError when two of them declare a pool with different slot counts."""
    found = {wf.name: task_pools(wf.tasks) for wf in workflows}
    conflicts = slot_conflicts(
        (f"workflow {wf!r}", pool) for wf, pools in sorted(found.items()) for pool in pools.values()
    )
    if conflicts:
        raise WorkflowDefinitionError("; ".join(conflicts))
    return {wf: sorted({p.name for p in pools.values()}) for wf, pools in sorted(found.items()) if pools}
