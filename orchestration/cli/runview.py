"""How `orch runs show` shows one run (pure): a header, the task table, a timeline of the task
attempts (a text Gantt chart) and the task graph in layers, each part coloured by status."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from orchestration.cli.display import PREVIEW_CHARS, STATUS_STYLE, output_preview
from orchestration.graph import topological_order
from orchestration.status import FAILED_LIKE, TaskStatus, is_terminal, merge_item_status
from orchestration.times import parse_iso

if TYPE_CHECKING:  # the ledger imports boto3: keep the CLI fast to import
    from orchestration.ledger import Attempt, RunRecord, TaskRecord

MAX_ROWS = 50  # tasks in the table and the timeline (failed and running ones are kept first)
MAX_LAYER_NAMES = 20  # task names shown per graph layer
MAX_LABEL = 24  # characters of a task name in the timeline
ERROR_CHARS = 40  # the table's error column is cut to this many characters
# A bar cell per attempt status: distinct glyphs keep statuses apart without colour too.
BAR: dict[str, str] = {TaskStatus.SUCCEEDED: "█", TaskStatus.FAILED: "▓", TaskStatus.RUNNING: "▒"}
OTHER_BAR = "░"
WAIT = "·"  # between two attempts of a task (a retry's back-off)
SPLIT = "│"  # the first cell of an attempt that starts where the one before it ended
# A status mark after each task name in the graph (PENDING and the rest: "·").
MARK: dict[str, str] = {
    TaskStatus.SUCCEEDED: "✓",
    TaskStatus.FAILED: "✗",
    TaskStatus.UPSTREAM_FAILED: "✗",
    TaskStatus.RUNNING: "▸",
    TaskStatus.SKIPPED: "-",
}


@dataclass(frozen=True)
class _Span:
    """One bar segment: an attempt (of a for-each task: all its items' attempts with that number)."""

    start: datetime
    end: datetime
    status: str


def render_run(
    run: RunRecord,
    graph: Mapping[str, Sequence[str]] | None,
    *,
    width: int = 100,
    now: datetime | None = None,
    notices: Sequence[Mapping[str, Any]] = (),
) -> Group:
    """The run as `orch runs show` prints it; `graph` maps each task to its upstream tasks (None: no
    graph section). A running run's open attempts reach `now` (default: the current time)."""
    moment = now or datetime.now(UTC)
    layers = _layers(graph) if graph else []
    order = _task_order(run, layers)
    statuses = {name: run.tasks[name].status if name in run.tasks else TaskStatus.PENDING for name in order}
    shown, hidden = _capped(order, statuses)
    parts: list[RenderableType] = [
        _header(run, moment),
        _heading("tasks"),
        _task_table(run, shown, _at(run.started_at)),
        _heading("timeline"),
        *_timeline(run, shown, width, moment),
    ]
    if hidden:
        parts.append(Text(f"{_count(hidden, 'more task')} not shown (failed and running ones first); --json lists all"))
    if graph is not None:
        parts += [_heading("graph"), *_graph_lines(layers, statuses)]
    if notices:
        parts += [_heading("notifications"), *(Text(notice_line(n)) for n in notices)]
    return Group(*parts)


def notice_line(notice: Mapping[str, Any]) -> str:
    """A notification of a run in one line: its kind, pass, time and how each destination fared."""
    repair = f" (repair {notice['repair']})" if notice.get("repair") else ""
    head = f"{notice.get('kind')}{repair} at {str(notice.get('claimed_at') or '?').replace('T', ' ')[:19]}"
    results = notice.get("results")
    if results is None:
        return f"{head}: being sent (no outcome recorded)"
    return f"{head}: " + "; ".join(_delivery(r) for r in results)


def _delivery(result: Mapping[str, Any]) -> str:
    tries = int(result.get("attempts") or 1)
    after = f" after {_count(tries, 'attempt')}" if tries > 1 or not result.get("ok") else ""
    if not result.get("ok"):
        return f"{result.get('destination')} failed{after}: {result.get('error', '')}"
    return f"{result.get('destination')} {'recorded (not sent)' if result.get('sent') is False else 'sent'}{after}"


def run_json(run: RunRecord) -> dict[str, Any]:
    """`orch runs show --json`: the `orch run --json` object plus every attempt, oldest first."""
    from orchestration.ledger.records import output_view

    attempts = sorted(run.attempts, key=lambda a: (a.started_at or "", a.task, a.attempt, a.index or 0))
    listed = [dataclasses.asdict(a) | {"output": output_view(a.output)} for a in attempts]
    return run.as_dict() | {"attempts": listed}


def describe_trigger(trigger: Mapping[str, Any]) -> str:
    """What started a run, in a few words (the run's recorded `trigger`)."""
    kind = str(trigger.get("type") or "unknown")
    t = {k: v for k, v in trigger.items() if v not in (None, "")}
    if kind == "schedule":
        return f"schedule {t.get('name', '?')} at {t.get('scheduled_time', '?')}"
    if kind == "event":
        source = f" from {t['source']}" if "source" in t else ""
        return f"event {t.get('event_id', '?')}{source} (trigger {t.get('name', '?')})"
    if kind == "workflow" and "upstream_run_id" in t:  # an on_workflow trigger
        repair = f" (repair {t['upstream_repair']})" if t.get("upstream_repair") else ""
        return (
            f"{t.get('upstream_workflow', '?')} run {t['upstream_run_id']}{repair} ended {t.get('status', '?')} "
            f"(trigger {t.get('name', '?')})"
        )
    if kind == "workflow":
        task = f", task {t['parent_task']}" if "parent_task" in t else ""
        return f"run {t.get('parent_run_id', '?')} of {t.get('parent_workflow', '?')}{task}"
    if kind == "file_batch":
        return f"file batch of {t.get('files', '?')} files (trigger {t.get('name', '?')}, {t.get('reason', '?')})"
    if kind == "external" and "note" in t:
        return f"external: {t['note']}"
    return " ".join([kind, _pairs({k: v for k, v in t.items() if k != "type"})]).strip()


def _pairs(values: Mapping[str, Any]) -> str:
    """`key value, key value` for the plain values of a mapping (nested ones are left out)."""
    plain = (f"{k.replace('_', ' ')} {v}" for k, v in values.items() if isinstance(v, str | int | float | bool))
    return ", ".join(plain)


def human_ms(ms: float | None) -> str:
    """A duration, short: 850 ms, 12.3 s, 4m 05s, 2h 03m ("" when unknown)."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    return f"{minutes}m {sec:02d}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60:02d}m"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _at(value: str | None) -> datetime | None:
    """An ISO timestamp as an aware datetime (a zone-less one is UTC), or None."""
    moment = parse_iso(value)
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def _ms(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start) / timedelta(milliseconds=1))


def _styled(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _heading(title: str) -> Text:
    return Text(f"\n{title}", style="bold")


def _header(run: RunRecord, now: datetime) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    start, end = _at(run.started_at), _at(run.ended_at)
    took = ""
    if start and end:
        took = human_ms(_ms(start, end))
    elif start and not is_terminal(run.status):
        took = human_ms(_ms(start, now)) + " so far"
    rows: list[tuple[str, str | Text | None]] = [
        ("run", Text(run.run_id, style="bold")),
        ("workflow", run.workflow),
        ("status", _styled(run.status)),
        ("started", run.started_at),
        ("ended", run.ended_at),
        ("duration", took),
        ("logical date", run.logical_date),
        ("trigger", describe_trigger(run.trigger)),
        ("definition", run.definition_hash),
        ("error", Text(run.error, style="red") if run.error else None),
    ]
    for i, repair in enumerate(getattr(run, "repairs", None) or [], 1):  # a mapping or a dataclass each
        is_record = dataclasses.is_dataclass(repair) and not isinstance(repair, type)
        fields = dataclasses.asdict(repair) if is_record else repair
        rows.append((f"repair {i}", _pairs(fields) if isinstance(fields, Mapping) else str(repair)))
    for key, value in rows:
        if value:
            grid.add_row(key, value)
    return grid


def _task_table(run: RunRecord, names: Sequence[str], start: datetime | None) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    # on a narrow terminal a long task name is cut, never the status
    table.add_column("task", max_width=MAX_LABEL, no_wrap=True, overflow="ellipsis")
    table.add_column("status", min_width=len(TaskStatus.SUCCEEDED), no_wrap=True)
    for col in ("attempts", "items", "started", "duration"):  # headings never cut
        table.add_column(
            col, min_width=len(col), no_wrap=True, justify="right" if col in {"attempts", "items"} else "left"
        )
    table.add_column("error", max_width=ERROR_CHARS, no_wrap=True, overflow="ellipsis")
    table.add_column("output", max_width=PREVIEW_CHARS, no_wrap=True, overflow="ellipsis")
    for name in names:
        t = run.tasks.get(name)
        t_start, t_end = (_at(t.started_at), _at(t.ended_at)) if t else (None, None)
        table.add_row(
            name,
            _styled(t.status if t else TaskStatus.PENDING),
            str(t.attempts) if t else "0",
            "" if t is None or t.items is None else str(t.items),
            f"+{human_ms(_ms(start, t_start))}" if start and t_start else "",
            human_ms(_ms(t_start, t_end)) if t_start and t_end else "",
            Text((t.error or "") if t else "", style="red", no_wrap=True, overflow="ellipsis"),
            Text(output_preview(t.output) if t else "", style="dim", no_wrap=True, overflow="ellipsis"),
        )
    return table


def _layers(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The graph's tasks by layer (a task sits one layer below the deepest of its upstream tasks),
    each layer in the graph's own order (the workflow's declaration order, as the caller builds it)."""
    depth: dict[str, int] = {}
    for name in topological_order(graph):
        depth[name] = max((depth[u] + 1 for u in graph[name] if u in depth), default=0)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in graph:
        if name in depth:
            layers[depth[name]].append(name)
    return layers


def _task_order(run: RunRecord, layers: Sequence[Sequence[str]]) -> list[str]:
    """The graph's tasks layer by layer, then any other task of the run by start time."""
    ordered = [name for layer in layers for name in layer]
    known = set(ordered)
    starts = {name: t.started_at for name, t in run.tasks.items() if t.started_at}
    rest = {*run.tasks, *(a.task for a in run.attempts)} - known
    return ordered + sorted(rest, key=lambda n: (starts.get(n, "~"), n))


def _capped(order: Sequence[str], statuses: Mapping[str, str]) -> tuple[list[str], int]:
    """At most MAX_ROWS tasks, in order: the failed and running ones first, then the others."""
    if len(order) <= MAX_ROWS:
        return list(order), 0
    urgent = [n for n in order if statuses[n] in FAILED_LIKE or statuses[n] == TaskStatus.RUNNING]
    keep = set(urgent[:MAX_ROWS])
    for name in order:
        if len(keep) >= MAX_ROWS:
            break
        keep.add(name)
    return [n for n in order if n in keep], len(order) - len(keep)


def _task_spans(tasks: Iterable[TaskRecord], until: datetime) -> dict[str, list[_Span]]:
    """Each task as one bar from its first start to its last end (for a record without attempts)."""
    spans: dict[str, list[_Span]] = {}
    for t in tasks:
        start, end = _at(t.started_at), _at(t.ended_at)
        if start is not None:
            end = end or (start if is_terminal(t.status) else max(start, until))
            spans[t.name] = [_Span(start, end, t.status)]
    return spans


def _spans(attempts: Iterable[Attempt], until: datetime) -> tuple[dict[str, list[_Span]], int]:
    """Each task's bar segments, by attempt number, and how many attempts have no start to draw.
    An attempt still open runs until `until`; a for-each's items merge into one segment per number."""
    merged: dict[tuple[str, int], _Span] = {}
    undrawn = 0
    for a in attempts:
        start = _at(a.started_at)
        if start is None:
            undrawn += 1
            continue
        end = _at(a.ended_at)
        if end is None:
            end = start + timedelta(milliseconds=a.duration_ms or 0) if is_terminal(a.status) else max(start, until)
        key = (a.task, a.attempt)
        if key in merged:
            prev = merged[key]
            status = merge_item_status(prev.status, a.status)
            merged[key] = _Span(min(prev.start, start), max(prev.end, end), status)
        else:
            merged[key] = _Span(start, end, a.status)
    spans: dict[str, list[_Span]] = {}
    for (task, _), span in sorted(merged.items()):
        spans.setdefault(task, []).append(span)
    return spans, undrawn


def _timeline(run: RunRecord, names: Sequence[str], width: int, now: datetime) -> list[Text]:
    """One row per task: its attempts as bars on a shared time axis from the run's start to its end."""
    ended = _at(run.ended_at)
    until = ended or now
    spans, undrawn = _spans(run.attempts, until) if run.attempts else (_task_spans(run.tasks.values(), until), 0)
    drawn = [s for task in names for s in spans.get(task, [])]
    if not drawn:
        return [Text(f"{_count(undrawn, 'attempt')} without a start time" if undrawn else "no attempts recorded yet")]
    t0 = min([s.start for s in drawn] + [m for m in [_at(run.started_at)] if m])
    # the axis ends when the run ended, now when it runs, else at its last attempt's end
    t1 = max([s.end for s in drawn] + ([until] if ended or not is_terminal(run.status) else []))
    label = min(MAX_LABEL, max(len(n) for n in names), max(4, width // 4))
    cols = max(10, width - label - 1)
    lines = []
    for name in names:
        short = name if len(name) <= label else name[: label - 1] + "…"
        line = Text(short.ljust(label) + " ", no_wrap=True, overflow="crop")
        for (char, style), run_of in groupby(_bar_cells(spans.get(name, []), t0, t1, cols)):
            line.append(char * len(list(run_of)), style)
        lines.append(line)
    lines += _axis(t0, t1, label + 1, cols)
    if undrawn:
        lines.append(Text(f"not drawn: {_count(undrawn, 'attempt')} without a start time", style="dim"))
    if not run.attempts:
        lines.append(Text("the record holds no attempts: one bar per task", style="dim"))
    return lines


def _bar_cells(spans: Sequence[_Span], t0: datetime, t1: datetime, cols: int) -> list[tuple[str, str]]:
    """A task's row of `cols` cells from t0 to t1, as (glyph, style): each attempt a bar, the waits
    between them dotted."""
    total = _ms(t0, t1)

    def cell(moment: datetime, *, end: bool) -> int:
        if total == 0:
            return 0
        x = _ms(t0, moment) / total * cols
        return min(cols - 1, max(0, math.ceil(x) - 1 if end else int(x)))

    row = [(" ", "")] * cols
    previous = -1
    for span in spans:
        first = cell(span.start, end=False)
        last = max(first, cell(span.end, end=True))
        style = STATUS_STYLE.get(span.status, "")
        row[first : last + 1] = [(BAR.get(span.status, OTHER_BAR), style)] * (last - first + 1)
        if previous >= 0:
            row[previous + 1 : first] = [(WAIT, "dim")] * max(0, first - previous - 1)
            if first <= previous + 1:  # a retry right after the attempt before it: mark where it starts
                row[first] = (SPLIT, style)
        previous = max(previous, last)
    return row


def _axis(t0: datetime, t1: datetime, indent: int, cols: int) -> list[Text]:
    """The time axis under the bars (start, duration, end) and the glyphs' legend."""
    total = _ms(t0, t1)

    def clock(moment: datetime) -> str:
        if t0.date() != t1.date():
            return moment.strftime("%m-%d %H:%M")
        return moment.strftime("%H:%M:%S") + ("" if total >= 60_000 else f".{moment.microsecond // 1000:03d}")

    start, middle, end = clock(t0), human_ms(total), clock(t1)
    gap = max(1, cols - len(start) - len(middle) - len(end))
    ticks = start + " " * (gap // 2) + middle + " " * (gap - gap // 2) + end
    pad = " " * indent
    legend = Text(pad, no_wrap=True)
    for status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.RUNNING):
        legend.append(BAR[status], STATUS_STYLE[status]).append(f" {status.lower()}  ")
    return [
        Text(pad + "└" + "─" * (cols - 1), style="dim", no_wrap=True),
        Text(pad + ticks, style="dim", no_wrap=True, overflow="crop"),
        legend.append(WAIT, "dim").append(" waiting to retry"),
    ]


def _graph_lines(layers: Sequence[Sequence[str]], statuses: Mapping[str, str]) -> list[Text]:
    """`layer N: a ✓, b ✗`: each task's name coloured by its status."""
    lines = []
    for depth, names in enumerate(layers[:MAX_ROWS], 1):
        line = Text().append(f"layer {depth}: ", "dim")
        for i, name in enumerate(names[:MAX_LAYER_NAMES]):
            status = statuses.get(name, TaskStatus.PENDING)
            line.append(", " if i else "").append(f"{name} {MARK.get(status, '·')}", STATUS_STYLE.get(status, ""))
        if len(names) > MAX_LAYER_NAMES:
            line.append(f", … {len(names) - MAX_LAYER_NAMES} more", "dim")
        lines.append(line)
    if len(layers) > MAX_ROWS:
        lines.append(Text(f"… {_count(len(layers) - MAX_ROWS, 'more layer')}", style="dim"))
    return lines
