"""`orch backfill`: one run per schedule interval of a past window, at most N at once, idempotent."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.cli.common import EXIT_OK, EXIT_RUN_FAILED, FILE, WORKFLOW, caller, guarded, parse_params
from orchestration.cli.history import open_source, source_options
from orchestration.loader import load_workflow
from orchestration.operations.source import RunFilter
from orchestration.status import is_ok_run
from orchestration.triggers.backfill import MAX_RUNS, Reprocess, backfill_plan, parse_window, select_runs


@click.command()
@FILE
@WORKFLOW
@click.option("--schedule", metavar="NAME", help="The schedule whose intervals to run, when the workflow has several.")
@click.option("--start", required=True, metavar="WHEN", help="Window start (ISO 8601; no offset: the schedule's zone).")
@click.option("--end", required=True, metavar="WHEN", help="Window end, excluded (ISO 8601).")
@click.option("--max-concurrent", type=click.IntRange(1, 100), default=4, show_default=True, help="Runs at once.")
@click.option(
    "--reprocess",
    type=click.Choice([r.value for r in Reprocess]),
    default=Reprocess.MISSING.value,
    show_default=True,
    help="Which intervals to run: those without a run, also those whose run failed, or all.",
)
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Override a parameter (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would start; start nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the plan and each run's outcome.")
@click.option("--no-wait", is_flag=True, help="With --stack: return once the backfill has started on the stack.")
@source_options
@guarded
def backfill(
    file: str,
    workflow: str | None,
    schedule: str | None,
    start: str,
    end: str,
    max_concurrent: int,
    reprocess: str,
    params: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    no_wait: bool,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Run a workflow once per interval of its schedule in [--start, --end), as the scheduler would have.

    Run ids and logical dates are the scheduler's, so re-issuing a backfill starts nothing already
    done (see --reprocess). With --stack the backfill runs on the stack itself (its backfill state
    machine): this command may stop, or return at once with --no-wait, without stopping it."""
    wf = load_workflow(file, workflow)
    window = parse_window(start, end)
    plan = backfill_plan(wf, start=window[0], end=window[1], schedule=schedule, params=parse_params(params))
    if no_wait and stack is None:
        raise click.UsageError("--no-wait applies to a backfill on a deployed stack: add --stack NAME")
    source = open_source(stack, region, profile)
    existing = {r.run_id: r.status for r in source.list_runs(RunFilter(workflow=wf.name, limit=MAX_RUNS * 10))}
    chosen = [replace(r, trigger={**r.trigger, "by": caller()}) for r in select_runs(plan, existing, reprocess)]
    if chosen:
        from orchestration.runtime.starter import checked_params

        checked_params(wf, chosen[0].params)  # a bad --param fails before anything starts
    report: dict[str, Any] = {
        "workflow": wf.name,
        "window": [start, end],
        "intervals": len(plan),
        "to_start": [{"run_id": r.run_id, "logical_date": r.logical_date, "rerun": r.rerun} for r in chosen],
        "already_done": len(plan) - len(chosen),
    }
    console = Console(stderr=True)
    if dry_run or not chosen:
        _print_plan(console, report, dry_run=dry_run, as_json=as_json)
        return
    if stack is not None:
        from orchestration.cli.stack_backfill import on_stack

        on_stack(source, wf, chosen, report, max_concurrent=max_concurrent, wait=not no_wait, as_json=as_json)
        return
    from orchestration.local import LocalCloud
    from orchestration.operations.backfill import run_backfill
    from orchestration.operations.local_store import LocalStore

    with (
        LocalCloud(store=LocalStore(cloud=LocalCloud), echo_task_output=False) as cloud,
        Progress(
            TextColumn("backfill {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running, {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json or not console.is_terminal,
        ) as bar,
    ):
        task = bar.add_task(wf.name, total=len(chosen), running=0, failed=0)

        def show(p: Any) -> None:
            failed = sum(not is_ok_run(r.status) for r in p.finished) + len(p.errors)
            bar.update(task, completed=len(p.finished) + len(p.errors), running=p.running, failed=failed)

        progress = run_backfill(cloud, wf, chosen, max_concurrent=max_concurrent, on_progress=show)
    runs = sorted(progress.finished, key=lambda r: r.logical_date or "")
    report["runs"] = [{"run_id": r.run_id, "logical_date": r.logical_date, "status": r.status} for r in runs]
    report["errors"] = progress.errors
    ok = all(is_ok_run(r.status) for r in runs) and not progress.errors
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        failed = [r for r in runs if not is_ok_run(r.status)]
        console.print(
            f"backfill of [bold]{wf.name}[/]: {len(runs)} runs, {len(runs) - len(failed)} succeeded, "
            f"{len(failed)} failed; {report['already_done']} intervals were done already",
            highlight=False,
        )
        for r in failed:
            console.print(f"  [red]✗[/] {r.run_id} ({r.logical_date}): {r.status}", highlight=False)
        for run_id, error in progress.errors.items():
            console.print(f"  [red]✗[/] {run_id}: {error}", highlight=False)
    sys.exit(EXIT_OK if ok else EXIT_RUN_FAILED)


def _print_plan(console: Console, report: dict[str, Any], *, dry_run: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    todo = report["to_start"]
    verb = "would start" if dry_run else "starts"
    console.print(
        f"backfill of [bold]{report['workflow']}[/] over {report['window'][0]} .. {report['window'][1]}: "
        f"{report['intervals']} intervals, {report['already_done']} done already; {verb} {len(todo)}",
        highlight=False,
    )
    for run in todo:
        console.print(f"  {run['logical_date']}  {run['run_id']}" + ("  (rerun)" if run["rerun"] else ""))
