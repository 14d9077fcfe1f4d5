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
from orchestration.compiler import compile_machines, definition_hash, to_json
from orchestration.errors import CompileError, OrchestrationError
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
        found = problems(wf) or _compile_problems(wf)  # what `orch compile` would refuse, refused here too
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
        machines = compile_machines(wf)
        show_warnings(wf)
        named = [(wf.name, machines.definition)] + [(f"{wf.name}.part{p.number}", p.definition) for p in machines.parts]
        for name, definition in named:  # a split workflow: its parent, then each part
            _write(target / f"{name}.asl.json", definition, pretty)


def _compile_problems(wf: Workflow) -> list[str]:
    try:
        compile_machines(wf)
    except CompileError as exc:
        return [str(exc)]
    return []


def _write(path: Path, definition: dict[str, Any], pretty: bool) -> None:
    deployed = to_json(definition)
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
    total, todo = 0, [definition]
    while todo:
        for state in todo.pop().get("States", {}).values():
            total += 1
            todo += [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]
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
    parts = compile_machines(wf).parts
    if parts and fmt == "text":  # too big for one state machine: which tasks run in which part
        click.echo(f"split into {len(parts)} state machines, started at once by the workflow's:")
        for p in parts:
            click.echo(f"  part {p.number}: {len(p.tasks)} tasks: {', '.join(p.tasks)}")
