"""`orch backfill --stack`: start the backfill on the stack's backfill state machine, then follow it
in the run ledger (or return at once with --no-wait: it goes on without this command)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.cli.common import EXIT_OK, EXIT_RUN_FAILED
from orchestration.model import Workflow
from orchestration.operations.source import RunSource
from orchestration.operations.stack import StackRuns
from orchestration.operations.stack_backfill import StackProgress, follow, run_results, start_stack_backfill
from orchestration.status import is_ok_run
from orchestration.triggers.backfill import BackfillRun


def on_stack(
    source: RunSource,
    wf: Workflow,
    chosen: Sequence[BackfillRun],
    report: dict[str, Any],
    *,
    max_concurrent: int,
    wait: bool,
    as_json: bool,
) -> None:
    """Start the backfill of `chosen` on the stack, follow it unless not `wait`, report, exit."""
    assert isinstance(source, StackRuns)
    console = Console(stderr=True)
    backfill = start_stack_backfill(source, wf, chosen, max_concurrent=max_concurrent, by=source.caller())
    report["backfill_execution"] = backfill.execution_arn
    report["started"] = backfill.started
    report["max_concurrent"] = backfill.max_concurrent
    verb = "started" if backfill.started else "is already going (the same backfill)"
    if not as_json:
        console.print(
            f"backfill of [bold]{wf.name}[/] on {source.where}: {len(chosen)} runs, at most "
            f"{backfill.max_concurrent} at once; execution {backfill.name} {verb}",
            highlight=False,
        )
    if backfill.max_concurrent < max_concurrent and not as_json:
        console.print(
            f"--max-concurrent {max_concurrent} is capped at {wf.name}'s max_concurrent_runs="
            f"{backfill.max_concurrent}; runs its schedule or events start meanwhile are not counted against "
            f"it: pause the schedule during the backfill (orch schedule pause {wf.name} --stack ...)",
            highlight=False,
        )
    if not wait:
        if as_json:
            click.echo(json.dumps(report, indent=2))
        else:
            console.print(f"follow it with: orch runs list --stack {source.stack_name} --workflow {wf.name}")
        sys.exit(EXIT_OK)
    with Progress(
        TextColumn("backfill {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[running]} running"),
        TimeElapsedColumn(),
        console=console,
        disable=as_json or not console.is_terminal,
    ) as bar:
        task = bar.add_task(wf.name, total=len(chosen), running=0)

        def show(p: StackProgress) -> None:
            bar.update(task, completed=p.finished, running=p.running)

        progress = follow(source, wf.name, backfill, on_progress=show)
    runs = run_results(progress, backfill.run_ids)
    report["runs"] = runs
    report["execution_status"] = progress.execution_status
    ok = all(r["status"] is not None and is_ok_run(r["status"]) for r in runs)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        failed = [r for r in runs if r["status"] is None or not is_ok_run(r["status"])]
        console.print(
            f"backfill of [bold]{wf.name}[/]: {len(runs)} runs, {len(runs) - len(failed)} succeeded, "
            f"{len(failed)} did not; {report['already_done']} intervals were done already",
            highlight=False,
        )
        for r in failed:
            why = r.get("error") or r["status"] or "not recorded yet (see orch runs list)"
            console.print(f"  [red]✗[/] {r['run_id']}: {why}", highlight=False)
    sys.exit(EXIT_OK if ok else EXIT_RUN_FAILED)
