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
from orchestration.errors import ParameterError
from orchestration.loader import load_workflow


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
    overrides = parse_params(params)
    source = open_source(stack, region, profile)
    run = source.get_run(run_id, workflow)
    path = file
    if path is None and stack is None:
        from orchestration.operations.local_store import LocalStore

        assert isinstance(source, LocalStore)
        path = source.source(run)
    if path is None:
        why = " (the stack's deployed code runs the tasks; the file gives their graph)" if stack else ""
        raise ParameterError(f"which file defines workflow {run.workflow!r}? pass --file FILE{why}")
    wf = load_workflow(path, run.workflow)
    trigger = {"type": "repair", "by": caller()}
    console = Console(stderr=as_json)
    if stack is not None:
        from orchestration.operations.stack import StackRuns

        assert isinstance(source, StackRuns)
        started = source.repair(
            wf,
            run.run_id,
            tasks=tasks or None,
            params=overrides,
            allow_changed_definition=allow_changed_definition,
            trigger=trigger,
        )
        console.print(f"repair {started.number} of run {run.run_id} started; reruns {', '.join(started.rerun)}")
        record = source.wait(run.workflow, run.run_id, repair=started.number)
    else:
        from orchestration.local import LocalCloud
        from orchestration.operations.local_store import LocalStore

        store = LocalStore(cloud=LocalCloud)
        with LocalCloud(store=store, echo_task_output=False) as cloud:
            set_local_log_levels()
            store.load(cloud, run.workflow, run.run_id)
            record = cloud.repair(
                run.run_id,
                tasks=tasks or None,
                params=overrides,
                allow_changed_definition=allow_changed_definition,
                workflow=wf,
                trigger=trigger,
            )
    if as_json:
        click.echo(json.dumps(record.as_dict(), indent=2))
    else:
        console.print(run_table(wf, record))
        print_summary(console, record)
    sys.exit(run_exit(record.status))
