"""`orch validate`, `orch compile` and `orch graph`: check, compile and draw workflows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from orchestration.cli.common import (
    EXIT_USAGE,
    FILE,
    WORKFLOW,
    err_console,
    guarded,
    workflows_in,
)
from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.errors import OrchestrationError
from orchestration.loader import load_workflow
from orchestration.model import Workflow
from orchestration.render import render_graph
from orchestration.validation import problems, warnings
from orchestration.validation import validate as check_workflow


@click.command()
@FILE
@WORKFLOW
@guarded
def validate(file: str, workflow: str | None) -> None:
    """Check workflows for errors (all problems at once)."""
    bad = 0
    for wf in workflows_in(file, workflow):
        found = problems(wf)
        if found:
            bad += 1
            err_console.print(f"[red]✗[/] {wf.name}: {len(found)} problem{'s' if len(found) > 1 else ''}")
            for p in found:
                err_console.print(f"  - {p}", highlight=False)
        else:
            click.echo(f"✓ {wf.name}: {len(wf.tasks)} tasks, valid")
        show_warnings(wf)
    if bad:
        sys.exit(EXIT_USAGE)


@click.command(name="compile")
@FILE
@WORKFLOW
@click.option("-o", "--output-dir", "out", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--pretty", is_flag=True, help="Indent the JSON for reading (the deployed definition is compact).")
@guarded
def compile_cmd(file: str, workflow: str | None, out: str, pretty: bool) -> None:
    """Write <workflow>.asl.json (Amazon States Language, JSONPath): the definition `cdk deploy` ships."""
    target = Path(out)
    found = workflows_in(file, workflow)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OrchestrationError(
            f"-o {out!r}: cannot create the output directory ({exc.strerror}): pass a writable directory"
        ) from None
    for wf in found:
        definition = compile_workflow(wf)
        show_warnings(wf)
        deployed = to_json(definition)
        path = target / f"{wf.name}.asl.json"
        try:
            path.write_text(to_json(definition, indent=2) if pretty else deployed, encoding="utf-8")
        except OSError as exc:
            what = "a directory is in the way" if path.is_dir() else exc.strerror
            raise OrchestrationError(
                f"cannot write {str(path)!r} ({what}): pass another -o directory or remove what is there"
            ) from None
        click.echo(
            f"{path}  ({_count_states(definition)} states, {len(deployed.encode())} bytes deployed, "
            f"{definition_hash(deployed)})"
        )


def show_warnings(wf: Workflow) -> None:
    """Print a workflow's warnings (to stderr); they never change the exit status."""
    for w in warnings(wf):
        err_console.print(f"[yellow]![/] {wf.name}: warning: {w}", highlight=False, soft_wrap=True)


def _count_states(definition: dict[str, Any]) -> int:
    total = 0
    for state in definition.get("States", {}).values():
        total += 1
        for branch in state.get("Branches", []):
            total += _count_states(branch)
        if "ItemProcessor" in state:
            total += _count_states(state["ItemProcessor"])
    return total


@click.command()
@FILE
@WORKFLOW
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True)
@guarded
def graph(file: str, workflow: str | None, fmt: str) -> None:
    """Show the DAG (text, Mermaid or Graphviz dot)."""
    wf = load_workflow(file, workflow)
    check_workflow(wf)
    click.echo(render_graph(wf, fmt))
