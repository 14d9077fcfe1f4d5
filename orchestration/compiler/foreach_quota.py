"""What an inline for-each may hold without breaking Step Functions quotas (pure).

An inline Map writes its items' events into the run's execution history (25,000 events for a
Standard execution) and holds its list and its results in the run's state (262,144 bytes). Each
list feeding a for-each gets, compiled into its source's task event (`ForEachFeed`), the most items
and bytes it may keep in the state; the source's runtime keeps the list inline only under both and
otherwise stores it for a Distributed Map ("auto", "distributed") or fails the task ("inline").

The history estimate covers the whole execution: every other task's events (with its retries,
pools and joins) are taken off the budget first, and the rest is shared evenly between the
for-each tasks that may run inline.
"""

from __future__ import annotations

from orchestration.compiler.layout import Layout
from orchestration.foreach import ForEachMode, effective_mode
from orchestration.model import Task
from orchestration.protocol import PAYLOAD_LIMIT_BYTES, RESULT_OVERHEAD_BYTES, ForEachFeed

HISTORY_LIMIT_EVENTS = 25_000  # a Standard execution's history
HISTORY_MARGIN_EVENTS = 1_000  # kept free: estimates below are per state, not exact
RUN_EVENTS = 40  # the states every run passes (start, finalize, outcome) and the execution's own
TASK_EVENTS = 16  # a task: its check, its run state (scheduled, started, succeeded), its exits
RETRY_EVENTS = 3  # each retry: the Lambda call scheduled, started, failed
POOL_EVENTS = 12  # acquire (a callback) and release
JOIN_EVENTS = 6  # a join wait or a signal
FOR_EACH_EVENTS = 30  # a for-each's own states: Parallel, Choice, Map run, collect
MAP_ITEM_EVENTS = 7  # an inline Map item: iteration started/succeeded, its task's entered..exited
STATE_RESERVE_BYTES = 16_384  # the run context and the Parallel/join bookkeeping around the results


def mode_of(layout: Layout, task: Task) -> ForEachMode:
    """How the for-each compiles (`foreach.effective_mode` in this workflow)."""
    return effective_mode(task, express=layout.workflow.type == "EXPRESS")


def _retries(task: Task) -> int:
    return max(0, task.retry.max_attempts)


def item_events(layout: Layout, task: Task) -> int:
    """History events of one item of an inline for-each, at worst (every retry used)."""
    return MAP_ITEM_EVENTS + RETRY_EVENTS * _retries(task) + (POOL_EVENTS if task.name in layout.pools else 0)


def run_events(layout: Layout) -> int:
    """History events of a run without its inline for-each items, at worst."""
    total = RUN_EVENTS
    for task in layout.workflow.tasks.values():
        total += FOR_EACH_EVENTS if task.for_each else TASK_EVENTS + RETRY_EVENTS * _retries(task)
        total += POOL_EVENTS if task.name in layout.pools else 0
        total += JOIN_EVENTS * (len(layout.joined(task.name)) > 0) + JOIN_EVENTS * (task.name in layout.signals)
    return total


def inline_candidates(layout: Layout) -> list[Task]:
    """The for-each tasks that may run as an inline Map."""
    tasks = layout.workflow.tasks.values()
    return [t for t in tasks if t.for_each and mode_of(layout, t) is not ForEachMode.DISTRIBUTED]


def inline_capacity(layout: Layout, task: Task) -> tuple[int, int]:
    """(items, bytes of its list plus its results) an inline for-each may hold in the run's state."""
    shares = max(1, len(inline_candidates(layout)))
    events = (HISTORY_LIMIT_EVENTS - HISTORY_MARGIN_EVENTS - run_events(layout)) // shares
    tasks = len(layout.workflow.tasks)
    free = PAYLOAD_LIMIT_BYTES - tasks * (layout.limit + RESULT_OVERHEAD_BYTES) - STATE_RESERVE_BYTES
    # its list and its results each have an output's share, and the free rest is shared
    return max(0, events // item_events(layout, task)), max(0, 2 * layout.limit + max(0, free) // shares)


def feed(layout: Layout, source: str) -> ForEachFeed | None:
    """How the output of `source` travels when for-each tasks iterate it (None: none does)."""
    if source not in layout.for_each_sources:  # most tasks: no scan of the workflow's tasks
        return None
    consumers = sorted((t for t in layout.workflow.tasks.values() if t.for_each == source), key=lambda t: t.name)
    if not consumers:
        return None
    modes = {mode_of(layout, t) for t in consumers}
    mode = next(m for m in (ForEachMode.DISTRIBUTED, ForEachMode.INLINE, ForEachMode.AUTO) if m in modes)
    inline = [inline_capacity(layout, t) for t in consumers if mode_of(layout, t) is not ForEachMode.DISTRIBUTED]
    return ForEachFeed(
        mode=mode.value,
        max_items=min((c[0] for c in inline), default=0),
        max_bytes=min((c[1] for c in inline), default=0),
        consumers=[t.name for t in consumers],
    )
