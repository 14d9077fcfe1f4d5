"""`orch runs list|show|cancel` and `orch logs`: the runs kept in the local store (`.orch/`, or
$ORCH_HOME), or with `--stack NAME` those of a deployed stack (through boto3)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from orchestration.cli.common import guarded, parse_iso_option
from orchestration.cli.display import STATUS_STYLE, duration
from orchestration.errors import ParameterError
from orchestration.operations.source import RunFilter, RunSource
from orchestration.status import TERMINAL_RUN, RunStatus

if TYPE_CHECKING:
    from orchestration.ledger import RunRecord

F = TypeVar("F", bound=Callable[..., Any])
SINCE_RE = re.compile(r"(\d+)\s*([mhd])")
SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def source_options(fn: F) -> F:
    """--stack, --region and --profile: where the runs are (default: the local store)."""
    for option in reversed(
        [
            click.option("--stack", metavar="NAME", help="A deployed stack's runs (boto3), not the local store."),
            click.option("--region", metavar="REGION", help="The stack's region (default: AWS_REGION, the profile's)."),
            click.option("--profile", metavar="PROFILE", help="The AWS profile to use with --stack."),
        ]
    ):
        fn = option(fn)
    return fn


def open_source(stack: str | None, region: str | None, profile: str | None) -> RunSource:
    """The local store, or the deployed stack named `stack`."""
    if stack is None:
        if region or profile:
            raise ParameterError("--region and --profile apply to a deployed stack: add --stack NAME")
        from orchestration.local import LocalCloud
        from orchestration.operations.local_store import LocalStore

        return LocalStore(cloud=LocalCloud)
    from orchestration.operations.stack import StackRuns

    return StackRuns(stack, region=region, profile=profile)


def parse_since(value: str) -> datetime:
    """--since: an ISO 8601 date-time, or an age such as 30m, 12h, 7d."""
    match = SINCE_RE.fullmatch(value.strip())
    if match:
        return datetime.now(UTC) - timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})
    try:
        return parse_iso_option("--since", value)
    except ParameterError:
        raise ParameterError(
            f"--since {value!r} is neither an ISO 8601 date-time nor an age: use e.g. 2026-11-21T00:00:00Z, 2h or 7d"
        ) from None


def _when(value: str | None) -> str:
    """An ISO time as 2026-11-21 17:17:44 (UTC)."""
    return (value or "").replace("T", " ")[:19]


def _repairs(run: RunRecord) -> int:
    return len(getattr(run, "repairs", None) or [])


def run_summary(run: RunRecord) -> dict[str, Any]:
    """A run's line of `orch runs list --json`."""
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "status": run.status,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "logical_date": run.logical_date,
        "trigger": run.trigger,
        "repairs": _repairs(run),
    }


@click.group("runs")
def runs_group() -> None:
    """List, show and cancel runs (the local store .orch/, or a deployed stack with --stack)."""


@runs_group.command("list")
@click.option("--workflow", "-w", metavar="NAME", help="Only this workflow's runs.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in RunStatus], case_sensitive=False),
    help="Only runs with this status.",
)
@click.option("--since", metavar="WHEN", help="Only runs created since: ISO 8601, or an age (30m, 12h, 7d).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, newest first.")
@source_options
@guarded
def list_cmd(
    workflow: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Runs, newest first: id, workflow, status, times, logical date, trigger, repairs."""
    which = RunFilter(
        workflow=workflow,
        status=status.upper() if status else None,
        since=parse_since(since) if since else None,
        limit=limit,
    )
    source = open_source(stack, region, profile)
    found = source.list_runs(which)
    if as_json:
        click.echo(json.dumps([run_summary(r) for r in found], indent=2))
        return
    console = Console()
    if not found:
        console.print(f"no runs in {source.where}" + (" match" if which != RunFilter(limit=limit) else ""))
        return
    from orchestration.cli.runview import describe_trigger

    table = Table(title=f"runs in {source.where}", title_justify="left")
    for col in ("run id", "workflow", "status", "started", "duration", "logical date", "trigger", "repairs"):
        table.add_column(col, no_wrap=col in ("run id", "status"))
    for run in found:
        style = STATUS_STYLE.get(run.status, "")
        table.add_row(
            run.run_id,
            run.workflow,
            f"[{style}]{run.status}[/]",
            _when(run.started_at or run.created_at),
            duration(run.started_at, run.ended_at),
            run.logical_date or "",
            describe_trigger(run.trigger),
            str(_repairs(run) or ""),
        )
    console.print(table)


@runs_group.command("show")
@click.argument("run_id")
@click.option("--workflow", "-w", metavar="NAME", help="The run's workflow, when two workflows use this run id.")
@click.option("--json", "as_json", is_flag=True, help="The `orch run --json` object plus every attempt.")
@click.option(
    "--file",
    type=click.Path(dir_okay=False),
    help="The workflow file, for the task graph where the runs' place does not keep it (a deployed stack).",
)
@source_options
@guarded
def show(
    run_id: str,
    workflow: str | None,
    as_json: bool,
    file: str | None,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """One run: its tasks, a timeline of their attempts and the task graph, coloured by status."""
    from orchestration.cli.runview import render_run, run_json

    source = open_source(stack, region, profile)
    run = source.get_run(run_id, workflow)
    notices = source.notices(run)
    if as_json:
        click.echo(json.dumps(run_json(run) | {"notifications": notices}, indent=2, default=str))
        return
    graph = source.graph(run)
    if file is not None:
        from orchestration.loader import load_workflow

        graph = {n: [d.upstream for d in deps] for n, deps in load_workflow(file, run.workflow).dependencies().items()}
    console = Console()
    console.print(render_run(run, graph, width=console.width, notices=notices))


@runs_group.command("cancel")
@click.argument("run_id")
@click.option("--workflow", "-w", metavar="NAME", help="The run's workflow, when two workflows use this run id.")
@source_options
@guarded
def cancel(run_id: str, workflow: str | None, stack: str | None, region: str | None, profile: str | None) -> None:
    """Stop a run that is still going; it is recorded ABORTED."""
    source = open_source(stack, region, profile)
    run = source.cancel(run_id, workflow)
    style = STATUS_STYLE.get(run.status, "")
    note = "" if run.status in TERMINAL_RUN else " (stop requested; the recorder records ABORTED when it ends)"
    Console().print(
        f"run [bold]{run.run_id}[/] of [bold]{run.workflow}[/]: [{style}]{run.status}[/]{note}", highlight=False
    )


@click.command("logs")
@click.argument("run_id")
@click.option("--task", "-t", metavar="NAME", help="Only this task's lines.")
@click.option("--workflow", "-w", metavar="NAME", help="The run's workflow, when two workflows use this run id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@source_options
@guarded
def logs(
    run_id: str,
    task: str | None,
    workflow: str | None,
    as_json: bool,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """What a run's tasks wrote (locally the captured output; deployed, their CloudWatch Logs)."""
    source = open_source(stack, region, profile)
    run = source.get_run(run_id, workflow)
    if task is not None and task not in run.tasks:
        known = ", ".join(sorted(run.tasks)) or "none"
        raise ParameterError(f"run {run_id!r} has no task {task!r} (its tasks: {known}): pass one of them to --task")
    count = 0
    for line in source.logs(run.run_id, task, run.workflow):
        count += 1
        if as_json:
            click.echo(json.dumps(line.__dict__))
        else:
            attempt = f"#{line.attempt}" if line.attempt is not None else ""
            click.echo(f"{line.at} {line.task}{attempt} {line.message}")
    if count == 0 and not as_json:
        click.echo(f"no log lines for run {run.run_id}" + (f", task {task}" if task else ""), err=True)
