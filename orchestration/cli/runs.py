"""`orch run`: run a workflow locally on moto, with live progress; the run is kept in the local store."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.live import Live

from orchestration.cli.common import (
    FILE,
    WORKFLOW,
    caller,
    guarded,
    parse_iso_option,
    parse_params,
    run_exit,
    secrets_option,
    set_local_log_levels,
)
from orchestration.cli.display import print_summary, run_table
from orchestration.cli.history import source_options
from orchestration.cli.startup import startup
from orchestration.errors import ParameterError
from orchestration.loader import load_workflow
from orchestration.model import Workflow
from orchestration.times import iso


@click.command()
@FILE
@WORKFLOW
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Workflow parameter (repeatable).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object with the run's result and each task's output (a reference beyond 4 KiB).",
)
@click.option("--run-id", default=None, help="Run id (execution name); generated when omitted.")
@click.option(
    "--logical-date", default=None, metavar="ISO8601", help="Logical date of the run (as a scheduled run would get)."
)
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
@click.option("--verbose", "-v", is_flag=True, help="Show the tasks' own log lines (Powertools JSON).")
@secrets_option
@source_options
@guarded
def run(
    file: str,
    workflow: str | None,
    params: tuple[str, ...],
    as_json: bool,
    run_id: str | None,
    logical_date: str | None,
    quiet: bool,
    verbose: bool,
    secrets_file: str | None,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Run a workflow locally on moto with the real task code (with --stack: on a deployed stack)."""
    # up to the run's start, what is built (the local cloud, the deployed workflow) lasts until the process ends
    with ExitStack() as closing:
        with startup():
            wf = load_workflow(file, workflow)
            from orchestration.runtime.starter import check_run_id, checked_params

            values = parse_params(params)
            checked_params(wf, values)  # fail fast on a bad parameter or run id, before the local cloud starts
            if run_id is not None:
                check_run_id(run_id, option="--run-id")
            date = parse_iso_option("--logical-date", logical_date) if logical_date else None
            if stack is not None:
                _run_on_stack(wf, values, stack, region, profile, run_id=run_id, logical_date=date, as_json=as_json)
            from orchestration.local import LocalCloud
            from orchestration.operations.local_store import LocalStore

            store = LocalStore(cloud=LocalCloud)
            if run_id is not None and store.has(wf.name, run_id):
                raise ParameterError(
                    f"run id {run_id!r} of workflow {wf.name!r} is already in {store.where}: choose another run id, "
                    f"or see it with `orch runs show {run_id}`"
                )
            console = Console(stderr=as_json)
            cloud = closing.enter_context(LocalCloud(secrets=secrets_file, store=store, echo_task_output=verbose))
            set_local_log_levels(verbose=verbose)
            rid = cloud.start(wf, values, logical_date=date, run_id=run_id, trigger={"type": "manual", "by": caller()})
        if as_json or quiet or not console.is_terminal:
            record = cloud.wait(rid)
        else:
            with Live(run_table(wf, None), console=console, refresh_per_second=8, transient=False) as live:
                record = cloud.wait(rid, on_progress=lambda r: live.update(run_table(wf, r)))
                live.update(run_table(wf, record))
    if as_json:
        click.echo(json.dumps(record.as_dict(), indent=2))
    else:
        if not console.is_terminal and not quiet:
            console.print(run_table(wf, record))
        print_summary(console, record)
    sys.exit(run_exit(record.status))


def _run_on_stack(
    wf: Workflow,
    values: dict[str, Any],
    stack: str,
    region: str | None,
    profile: str | None,
    *,
    run_id: str | None,
    logical_date: datetime | None,
    as_json: bool,
) -> NoReturn:
    """`orch run --stack`: start the run on the deployed stack (the deployed code runs it), follow it in
    the stack's ledger, exit as a local run would."""
    from orchestration.local.cloud import new_run_id
    from orchestration.operations.stack import StackRuns
    from orchestration.operations.stack_start import start_on_stack

    source = StackRuns(stack, region=region, profile=profile)
    rid = run_id or new_run_id()
    date = iso(logical_date) if logical_date else None
    status = start_on_stack(source, wf, values, run_id=rid, logical_date=date)
    console = Console(stderr=True)
    console.print(f"run {rid} of {wf.name} on {source.where}: {status}", highlight=False)
    record = source.wait(wf.name, rid, repair=0)
    if as_json:
        click.echo(json.dumps(record.as_dict(), indent=2))
    else:
        print_summary(Console(), record)
    sys.exit(run_exit(record.status))
