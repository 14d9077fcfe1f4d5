"""`orch plan FILE`: what Step Functions and CloudFormation will meet, and a cost per run, before deploying.

The figures are `orchestration.planning`'s; durations come from the runs recorded in the local
store (`.orch/`) when there are some; resources per stack from an in-process synth of the stack
(infra's `resource_counts`, found through the `orchestration.deploy` entry point) unless `--no-synth`.
Exit 2 when a quota would be broken, naming it and the fix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from statistics import mean

import click
from rich.console import Console
from rich.table import Table

from orchestration.cli.common import EXIT_USAGE, FILE, WORKFLOW, err_console, guarded, workflows_in
from orchestration.compiler.quotas import MAX_DEFINITION_BYTES
from orchestration.errors import OrchestrationError
from orchestration.planning import (
    DEFAULT_ITEMS,
    MAX_HISTORY_EVENTS,
    MAX_STACK_RESOURCES,
    PRICE_PER_GB_SECOND,
    WorkflowPlan,
    plan_workflow,
    stack_problems,
)
from orchestration.protocol import PAYLOAD_LIMIT_BYTES

RECENT_RUNS = 20  # recorded local runs whose durations are averaged


@click.command()
@FILE
@WORKFLOW
@click.option("--stack-name", default="orch", show_default=True, help="The stack the resources are counted for.")
@click.option(
    "--items", type=click.IntRange(min=0), default=DEFAULT_ITEMS, show_default=True, help="Items per for-each and run."
)
@click.option("--arch", type=click.Choice(sorted(PRICE_PER_GB_SECOND)), default="x86_64", show_default=True)
@click.option("--synth/--no-synth", default=True, show_default=True, help="Count resources by synthesizing the stack.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@guarded
def plan(file: str, workflow: str | None, stack_name: str, items: int, arch: str, synth: bool, as_json: bool) -> None:
    """Quotas each workflow meets on AWS (states, definition bytes, state payload, history events,
    resources per stack) and its estimated cost per run; exit 2 when one would be broken."""
    plans = [
        plan_workflow(wf, durations=recorded_durations(wf.name), items=items, architecture=arch)
        for wf in workflows_in(file, workflow)
    ]
    resources = resource_counts(Path(file), stack_name) if synth else None
    problems = [f"{p.workflow}: {problem}" for p in plans for problem in p.problems]
    problems += stack_problems(resources or {})
    if as_json:
        out = {
            "workflows": [p.as_dict() for p in plans],
            "stack": {"name": stack_name, "resources": resources, "counted_by": "synth" if synth else None},
            "problems": problems,
        }
        click.echo(json.dumps(out, indent=2))
    else:
        show(plans, resources, stack_name)
        for problem in problems:
            err_console.print(f"[bold red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if problems:
        sys.exit(EXIT_USAGE)


def recorded_durations(workflow: str) -> dict[str, float]:
    """Mean seconds per task of the succeeded attempts of the workflow's recent local runs."""
    from orchestration.operations.local_store import LocalStore
    from orchestration.operations.source import RunFilter
    from orchestration.status import TaskStatus

    store = LocalStore()
    seconds: dict[str, list[float]] = {}
    for run in store.list_runs(RunFilter(workflow=workflow, limit=RECENT_RUNS)):
        for attempt in store.get_run(run.run_id, workflow).attempts:
            if attempt.status == TaskStatus.SUCCEEDED and attempt.duration_ms is not None:
                seconds.setdefault(attempt.task, []).append(attempt.duration_ms / 1000)
    return {task: mean(values) for task, values in seconds.items()}


def resource_counts(file: Path, stack_name: str) -> dict[str, int]:
    """Resources per stack, from infra's in-process synth of the file's folder's stack."""
    found = entry_points(group="orchestration.deploy", name="stack")
    if not found:
        raise OrchestrationError("counting resources needs the orchestration.deploy entry point: pass --no-synth")
    try:
        module = import_module(next(iter(found)).module)
    except ImportError as exc:
        raise OrchestrationError(
            f"counting resources needs aws-cdk-lib ({exc}): install it, or pass --no-synth"
        ) from None
    counts: Mapping[str, int] = module.resource_counts(file.parent.resolve(), file.name, stack_name)
    return dict(counts)


def show(plans: Sequence[WorkflowPlan], resources: Mapping[str, int] | None, stack_name: str) -> None:
    console = Console(highlight=False)
    for p in plans:
        table = Table(title=f"{p.workflow}: {p.tasks} tasks, {p.functions} task functions", title_justify="left")
        for column in ("state machine", "states", "definition", "history events", "transitions"):
            table.add_column(column, justify="left" if column == "state machine" else "right")
        for m in p.machines:
            table.add_row(
                m.name,
                f"{m.states:,}",
                f"{m.definition_bytes:,} B ({m.definition_bytes / MAX_DEFINITION_BYTES:.0%} of 1 MB)",
                f"{m.events:,} (retries: {m.events_worst:,}) of {MAX_HISTORY_EVENTS:,}",
                f"{m.transitions:,} (retries: {m.transitions_worst:,})",
            )
        console.print(table)
        console.print(
            f"  state payload, worst case: {p.state_bytes:,} of {PAYLOAD_LIMIT_BYTES:,} bytes"
            + (f"; {p.items} items assumed per for-each (--items)" if p.items is not None else ""),
            soft_wrap=True,
        )
        c = p.cost
        recorded = sum(1 for source in c.durations.values() if source == "recorded")
        source = (
            f"durations of recorded local runs for {recorded} of {len(c.durations)} tasks"
            + (", timeouts for the others" if recorded < len(c.durations) else "")
            if recorded
            else "no recorded local run: task timeouts as durations (an upper bound)"
        )
        console.print(
            f"  cost per run: ${c.total:.6f} (retries: ${c.total_worst:.6f}) = transitions ${c.transitions:.6f} "
            f"+ Lambda ${c.lambda_usd:.6f} ({c.gb_seconds:,.2f} GB-s, {c.requests} requests; {source})",
            soft_wrap=True,
        )
        for warning in p.warnings:
            console.print(f"  [yellow]warning:[/] {warning}", soft_wrap=True)
    if resources is not None:
        shown = ", ".join(f"{name} {count}" for name, count in sorted(resources.items()))
        console.print(
            f"resources per stack (synthesized {stack_name}): {shown} (of {MAX_STACK_RESOURCES} each)", soft_wrap=True
        )
    else:
        console.print("resources per stack: not counted (--no-synth)")
