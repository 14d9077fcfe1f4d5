"""How a for-each runs at scale: its mode and the item failures it tolerates (pure).

- `mode="inline"`: an inline Map (at most 40 items at once); the items and their results travel in
  the run's state, so the task runtime refuses, before the Map starts, a list whose items or
  results would break the history or payload quotas (`orchestration.compiler.foreach_quota`).
- `mode="distributed"`: a Distributed Map that reads the list from the artifact bucket and writes
  its results there (up to 10,000 items at once, one child execution per item).
- `mode="auto"` (default): the source's runtime keeps a list inline when it fits those quotas and
  writes it to the bucket otherwise; a Choice on the run picks the Map.

`tolerated_failure_count` / `tolerated_failure_percentage` let that many items fail without
failing the task (a failed item's result is None); only a Distributed Map tolerates failures, so
either makes an "auto" for-each distributed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypedDict, TypeVar

from orchestration.lineage import with_datasets

INLINE_MAP_MAX_CONCURRENCY = 40
DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000
MAX_TOLERATED_FAILURE_COUNT = 100_000_000  # Step Functions' bound on ToleratedFailureCount


class ForEachMode(StrEnum):
    INLINE = "inline"
    DISTRIBUTED = "distributed"
    AUTO = "auto"


@dataclass(frozen=True)
class ForEachScale:
    """A for-each's mode and tolerated item failures, as declared (checked by `scale_problems`)."""

    mode: str = ForEachMode.AUTO
    tolerated_failure_count: int = 0
    tolerated_failure_percentage: float = 0

    @property
    def tolerates(self) -> bool:
        return bool(self.tolerated_failure_count or self.tolerated_failure_percentage)

    @property
    def declared(self) -> bool:
        return self != ForEachScale()


DEFAULT_SCALE = ForEachScale()


class ScaleOptions(TypedDict, total=False):
    """The for-each options of `@workflow.task` besides `for_each=` and `max_concurrency=`."""

    mode: str  # "inline", "distributed" or "auto"
    tolerated_failure_count: int
    tolerated_failure_percentage: float


class _Scaled(Protocol):  # orchestration.model.Task (which imports this module)
    name: str
    for_each: str | None
    max_concurrency: int
    scale: ForEachScale
    reads: tuple[str, ...]
    writes: tuple[str, ...]


_Task = TypeVar("_Task", bound=_Scaled)


def with_scale(add: Callable[..., _Task], fn: Any, options: Mapping[str, Any], **fixed: Any) -> _Task:
    """`with_datasets(add, fn, options)` without the options of `ScaleOptions`, set on the task it returns."""
    scale = ForEachScale(**{k: v for k, v in options.items() if k in ScaleOptions.__annotations__})
    task = with_datasets(add, fn, {k: v for k, v in options.items() if k not in ScaleOptions.__annotations__}, **fixed)
    task.scale = scale
    return task


def effective_mode(task: _Scaled, *, express: bool = False) -> ForEachMode:
    """The mode the compiler emits: "auto" with tolerated failures is "distributed"; in an EXPRESS
    workflow (where Step Functions has no Distributed Map) "auto" is "inline"."""
    mode = ForEachMode(task.scale.mode)
    if express:
        return ForEachMode.INLINE
    return ForEachMode.DISTRIBUTED if mode is ForEachMode.AUTO and task.scale.tolerates else mode


def source_problems(tasks: Iterable[_Scaled], *, express: bool = False) -> list[str]:
    """A list iterated by an inline for-each stays in the state, by a distributed one goes to S3: one list
    cannot do both. An EXPRESS workflow has no Distributed Map."""
    by_source: dict[str, dict[ForEachMode, list[str]]] = {}
    out = []
    for task in tasks:
        if (
            express
            and task.for_each is not None
            and (task.scale.mode == ForEachMode.DISTRIBUTED or task.scale.tolerates)
        ):
            out.append(
                f"task {task.name!r}: an EXPRESS workflow has no Distributed Map (mode='distributed', tolerated "
                "failures): use type='STANDARD', or mode='inline'/'auto' without tolerated failures"
            )
        if task.for_each is not None and task.scale.mode in set(ForEachMode):
            by_source.setdefault(task.for_each, {}).setdefault(effective_mode(task), []).append(task.name)
    return out + [
        f"for-each tasks {sorted(modes[ForEachMode.INLINE])} (inline) and {sorted(modes[ForEachMode.DISTRIBUTED])} "
        f"(distributed) iterate the same list of {source!r}: give them the same mode, or mode='auto' to the inline ones"
        for source, modes in sorted(by_source.items())
        if ForEachMode.INLINE in modes and ForEachMode.DISTRIBUTED in modes
    ]


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def scale_problems(task: _Scaled) -> list[str]:
    """What is wrong with a task's for-each options: value received and the fix."""
    t, s = f"task {task.name!r}", task.scale
    if task.for_each is None:
        if s.declared:
            return [f"{t} sets mode/tolerated failures but is not a for-each task: add for_each=, or remove them"]
        return []
    modes = ", ".join(repr(m.value) for m in ForEachMode)
    if s.mode not in set(ForEachMode):
        return [f"{t}: mode={s.mode!r} is not a for-each mode: use one of {modes}"]
    out = []
    if not _whole(s.tolerated_failure_count, 0, MAX_TOLERATED_FAILURE_COUNT):
        out.append(
            f"{t}: tolerated_failure_count={s.tolerated_failure_count!r} must be a whole number of items from 0 to "
            f"{MAX_TOLERATED_FAILURE_COUNT}"
        )
    pct = s.tolerated_failure_percentage
    if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 100:
        out.append(f"{t}: tolerated_failure_percentage={pct!r} must be a number from 0 to 100")
    if s.mode == ForEachMode.INLINE and s.tolerates:
        out.append(
            f"{t}: mode='inline' cannot tolerate item failures (only a Distributed Map can): "
            "use mode='distributed' or 'auto', or remove tolerated_failure_count/percentage"
        )
    high = INLINE_MAP_MAX_CONCURRENCY if s.mode == ForEachMode.INLINE else DISTRIBUTED_MAP_MAX_CONCURRENCY
    if not _whole(task.max_concurrency, 1, high):
        kind = "an inline Map" if high == INLINE_MAP_MAX_CONCURRENCY else "a Distributed Map"
        out.append(
            f"{t}: max_concurrency={task.max_concurrency!r} is out of range: {kind} runs 1 to {high} items at once"
            + (" (mode='distributed' or 'auto' allows up to 10000)" if s.mode == ForEachMode.INLINE else "")
        )
    return out
