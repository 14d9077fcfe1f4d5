"""How `orch` shows a run: the live task table and the one-line summary."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.filesize import decimal
from rich.table import Table
from rich.text import Text

from orchestration.artifacts import dumps, is_ref, shown
from orchestration.model import Workflow
from orchestration.status import RunStatus, TaskStatus
from orchestration.times import ms_between

if TYPE_CHECKING:  # the ledger imports boto3: keep the CLI fast to import
    from orchestration.ledger import RunRecord

# A StrEnum member equals its string, so one key covers a status both enums spell.
STATUS_STYLE: dict[str, str] = {
    TaskStatus.PENDING: "dim",
    TaskStatus.RUNNING: "cyan",
    TaskStatus.SUCCEEDED: "green",
    TaskStatus.FAILED: "red",
    TaskStatus.SKIPPED: "dim",
    TaskStatus.UPSTREAM_FAILED: "red",
    RunStatus.QUEUED: "dim",
    RunStatus.SUCCEEDED_WITH_FAILURES: "yellow",
    RunStatus.TIMED_OUT: "red",
    RunStatus.ABORTED: "red",
}

PREVIEW_CHARS = 40  # the output column shows this many characters of a task's output, at most


def duration(start: str | None, end: str | None) -> str:
    ms = ms_between(start, end)
    return "" if ms is None else f"{ms} ms"


def run_table(wf: Workflow, record: RunRecord | None) -> Table:
    """One row per task of `wf`, in declaration order; tasks the run has not reached are PENDING."""
    table = Table(title=f"{wf.name}" + (f"  run {record.run_id}" if record else ""), title_justify="left")
    for col in ("task", "status", "attempts", "duration"):
        table.add_column(col, no_wrap=True)
    table.add_column("error")
    # on a narrow terminal the preview is cut shorter (with an ellipsis), never wrapped
    table.add_column("output", max_width=PREVIEW_CHARS, overflow="ellipsis")
    tasks = record.tasks if record else {}
    for name in wf.tasks:
        t = tasks.get(name)
        status = t.status if t else TaskStatus.PENDING
        style = STATUS_STYLE.get(status, "")
        table.add_row(
            name,
            f"[{style}]{status}[/]",
            str(t.attempts if t else 0),
            duration(t.started_at, t.ended_at) if t else "",
            (t.error or "") if t else "",
            Text(output_preview(t.output) if t else "", style="dim", no_wrap=True, overflow="ellipsis"),
        )
    return table


def output_preview(output: Any) -> str:
    """A task output on one line: its JSON cut to PREVIEW_CHARS with an ellipsis; an output stored
    in the artifact bucket as its size."""
    if output is None:
        return ""
    if is_ref(output):
        return f"artifact, {decimal(int(output.get('bytes') or 0))}"
    text = dumps(shown(output))
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def print_summary(console: Console, record: RunRecord) -> None:
    counts = Counter(t.status for t in record.tasks.values())
    style = STATUS_STYLE.get(record.status, "")
    parts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    console.print(
        f"run [bold]{record.run_id}[/] of [bold]{record.workflow}[/]: [{style}]{record.status}[/] "
        f"in {duration(record.started_at, record.ended_at)} ({parts})",
        highlight=False,
        soft_wrap=True,
    )
    if record.error:
        console.print(f"  {record.error}", highlight=False, soft_wrap=True)
