"""What the UI's pages show of runs (pure): a run's header, task rows, timeline bars and graph, as
plain data the templates render and the JSON endpoints return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestration.cli.display import output_preview
from orchestration.cli.runview import describe_trigger, human_ms
from orchestration.status import TaskStatus, is_terminal, merge_item_status
from orchestration.times import parse_iso

if TYPE_CHECKING:
    from orchestration.ledger import Attempt, RunRecord


@dataclass(frozen=True)
class Bar:
    """One attempt on the timeline (of a for-each task: all its items' attempts with that number),
    placed in percent of the run's span; `wait_left` is where the wait before it began (a retry's
    back-off after the previous attempt), None for a first attempt and for one a repair started
    (`repair`: that repair's number)."""

    task: str
    attempt: int
    status: str
    left: float
    width: float
    wait_left: float | None
    started_at: str
    ended_at: str | None
    ms: float
    items: int
    repair: int | None = None

    @property
    def duration(self) -> str:
        return human_ms(self.ms)


def at(value: str | None) -> datetime | None:
    """An ISO timestamp as an aware datetime (a zone-less one is UTC), or None."""
    moment = parse_iso(value)
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _ms(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start) / timedelta(milliseconds=1))


def took(start: str | None, end: str | None, running: bool, now: datetime) -> str:
    """How long a run or task took (or, still going, has taken so far)."""
    s, e = at(start), at(end)
    if s and e:
        return human_ms(_ms(s, e))
    if s and running:
        return human_ms(_ms(s, now)) + " so far"
    return ""


def when(value: str | None) -> str:
    """An ISO time as 2026-11-21 17:17:44 (UTC)."""
    return (value or "").replace("T", " ")[:19]


def run_row(run: RunRecord, now: datetime) -> dict[str, Any]:
    """A run's row in the runs list."""
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status,
        "started": when(run.started_at or run.created_at),
        "duration": took(run.started_at, run.ended_at, not is_terminal(run.status), now),
        "logical_date": run.logical_date or "",
        "trigger": describe_trigger(run.trigger),
        "repairs": len(run.repairs or []),
        "terminal": is_terminal(run.status),
    }


def task_order(run: RunRecord, graph: Mapping[str, Sequence[str]] | None) -> list[str]:
    """Tasks in the graph's topological order (then any the graph does not name), else by start."""
    from orchestration.graph import topological_order

    names: list[str] = []
    if graph:
        names = list(topological_order({t: list(ups) for t, ups in graph.items()}))
    known = set(names)
    started = sorted(run.tasks.values(), key=lambda t: (t.started_at or "~", t.name))
    return names + [t.name for t in started if t.name not in known]


def _spans(attempts: Sequence[Attempt], now: datetime) -> list[tuple[int, str, datetime, datetime, int]]:
    """(attempt number, status, start, end, items) per attempt number of one task, oldest first."""
    merged: dict[int, tuple[str, datetime, datetime, int]] = {}
    for a in attempts:
        start = at(a.started_at)
        if start is None:
            continue
        end = at(a.ended_at) or (now if not is_terminal(a.status) else start)
        if a.attempt in merged:
            status, s, e, n = merged[a.attempt]
            merged[a.attempt] = (merge_item_status(status, a.status), min(s, start), max(e, end), n + 1)
        else:
            merged[a.attempt] = (a.status, start, end, 1)
    return [(n, *merged[n]) for n in sorted(merged)]


def timeline(run: RunRecord, order: Sequence[str], now: datetime) -> tuple[list[Bar], str]:
    """Every task's attempt bars, placed on the run's span, and that span's length in words."""
    by_task: dict[str, list[Attempt]] = {}
    for a in run.attempts:
        by_task.setdefault(a.task, []).append(a)
    spans = {task: _spans(by_task.get(task, []), now) for task in order}
    starts = [s[2] for v in spans.values() for s in v]
    ends = [s[3] for v in spans.values() for s in v]
    if not starts:
        return [], ""
    begin, finish = min(starts), max(ends)
    total = max(_ms(begin, finish), 1.0)
    repairs = [(at(r.get("started_at")), int(r.get("number") or 0)) for r in run.repairs or []]
    bars: list[Bar] = []
    for task in order:
        previous_end: datetime | None = None
        for number, status, start, end, items in spans[task]:
            left = 100 * _ms(begin, start) / total
            repair = next((n for s, n in repairs if s and previous_end and previous_end <= s <= start), None)
            waited = previous_end is not None and repair is None
            bars.append(
                Bar(
                    task=task,
                    attempt=number,
                    status=status,
                    left=round(left, 3),
                    width=round(max(100 * _ms(start, end) / total, 0.4), 3),
                    wait_left=round(100 * _ms(begin, previous_end) / total, 3) if waited and previous_end else None,
                    started_at=start.isoformat(),
                    ended_at=end.isoformat() if end else None,
                    ms=_ms(start, end),
                    items=items,
                    repair=repair,
                )
            )
            previous_end = end
    return bars, human_ms(total)


def run_view(run: RunRecord, graph: Mapping[str, Sequence[str]] | None, now: datetime | None = None) -> dict[str, Any]:
    """Everything the run page shows of a run."""
    moment = now or datetime.now(UTC)
    order = task_order(run, graph)
    running = not is_terminal(run.status)
    bars, span = timeline(run, order, moment)
    by_task: dict[str, list[Bar]] = {}
    for bar in bars:
        by_task.setdefault(bar.task, []).append(bar)
    tries: dict[str, list[Attempt]] = {}
    for a in sorted(run.attempts, key=lambda a: (a.attempt, a.index or 0, a.started_at)):
        tries.setdefault(a.task, []).append(a)
    tasks = []
    for name in order:
        t = run.tasks.get(name)
        tasks.append(
            {
                "name": name,
                "status": t.status if t else TaskStatus.PENDING,
                "attempts": t.attempts if t else 0,
                "item_count": t.items if t else None,
                "duration": took(t.started_at, t.ended_at, False, moment) if t else "",
                "error": (t.error or "") if t else "",
                "output": output_preview(t.output) if t else "",
                "bars": by_task.get(name, []),
                "tries": [
                    {
                        "attempt": a.attempt,
                        "index": a.index,
                        "status": a.status,
                        "started": when(a.started_at),
                        "duration": human_ms(a.duration_ms),
                        "error": " ".join(x for x in (a.error, a.message) if x),
                    }
                    for a in tries.get(name, [])
                ],
            }
        )
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status,
        "terminal": not running,
        "created": when(run.created_at),
        "started": when(run.started_at),
        "ended": when(run.ended_at),
        "duration": took(run.started_at, run.ended_at, running, moment),
        "logical_date": run.logical_date or "",
        "trigger": describe_trigger(run.trigger),
        "definition_hash": run.definition_hash or "",
        "error": run.error or "",
        "params": run.params,
        "repair": run.repair,
        "repairs": list(run.repairs or []),
        "tasks": tasks,
        "statuses": {t["name"]: t["status"] for t in tasks},
        "span": span,
        "graph": {name: list((graph or {}).get(name, ())) for name in order} if graph else None,
        "version": fingerprint(run),
    }


def fingerprint(run: RunRecord) -> str:
    """Changes whenever the run page would show something new (live refresh compares it)."""
    ended = sum(1 for a in run.attempts if a.ended_at)
    return f"{run.status}:{run.repair}:{len(run.attempts)}:{ended}:{run.ended_at or ''}"
