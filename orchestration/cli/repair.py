"""`orch repair RUN_ID`: run again a finished run's failed tasks (or named ones) and everything
downstream of them, reusing the other tasks' recorded outputs; the run keeps its id."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from orchestration.cli.common import caller, guarded, parse_params, run_exit, set_local_log_levels
from orchestration.cli.display import print_summary, run_table
from orchestration.cli.history import open_source, source_options


@click.command()
@click.argument("run_id")
@click.option("--workflow", "-w", metavar="NAME", help="The run's workflow, when two workflows use this run id.")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False),
    help="The workflow file (default, locally: the one the run was started from; required with --stack).",
)
@click.option("--task", "-t", "tasks", multiple=True, metavar="NAME", help="Run this task again (repeatable).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Override a parameter (repeatable).")
@click.option(
    "--allow-changed-definition",
    is_flag=True,
    help="Repair even though the workflow compiles to another definition than the run ran.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the repaired run as `orch run --json` does.")
@source_options
@guarded
def repair(
    run_id: str,
    workflow: str | None,
    file: str | None,
    tasks: tuple[str, ...],
    params: tuple[str, ...],
    allow_changed_definition: bool,
    as_json: bool,
    stack: str | None,
    region: str | None,
    profile: str | None,
) -> None:
    """Repair a run: its failed, timed-out and upstream-failed tasks (or --task ones) and everything
    downstream of them run again; the other succeeded tasks keep their outputs. Exit status as `orch run`."""
    from orchestration.operations.repair_source import (
        RepairRequest,
        load_run_workflow,
        repair_local,
        start_stack_repair,
    )
    from orchestration.operations.stack import StackRuns

    overrides = parse_params(params)
    source = open_source(stack, region, profile)
    run = source.get_run(run_id, workflow)
    wf = load_run_workflow(source, run, file)
    by = source.caller() if isinstance(source, StackRuns) else caller()  # deployed: the AWS identity
    request = RepairRequest(tasks, overrides, allow_changed_definition, {"type": "repair", "by": by})
    console = Console(stderr=as_json)
    if isinstance(source, StackRuns):
        started = start_stack_repair(source, run, wf, request)
        console.print(f"repair {started.number} of run {run.run_id} started; reruns {', '.join(started.rerun)}")
        record = source.wait(run.workflow, run.run_id, repair=started.number)
    else:
        record = repair_local(source, run, wf, request, ready=set_local_log_levels)
    if as_json:
        click.echo(json.dumps(record.as_dict(), indent=2))
    else:
        console.print(run_table(wf, record))
        print_summary(console, record)
    sys.exit(run_exit(record.status))
