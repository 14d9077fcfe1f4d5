"""`orch`: validate, compile, graph and run workflows locally.

Exit status: 0 success, 1 the run failed, 2 a user error (bad file, invalid workflow, bad parameter).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table

from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.errors import OrchestrationError, ParameterError
from orchestration.loader import load_file, select
from orchestration.model import Workflow
from orchestration.render import render_graph
from orchestration.validation import problems

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2
STATUS_STYLE = {
    "SUCCEEDED": "green",
    "SUCCEEDED_WITH_FAILURES": "yellow",
    "FAILED": "red",
    "UPSTREAM_FAILED": "red",
    "SKIPPED": "dim",
    "RUNNING": "cyan",
    "PENDING": "dim",
    "QUEUED": "dim",
    "TIMED_OUT": "red",
    "ABORTED": "red",
}

err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_USAGE)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors (user mistakes) into a message and exit status 2, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OrchestrationError as exc:
            fail(str(exc))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _pick(file: str, workflow: str | None) -> Workflow:
    return select(load_file(file), workflow, source=repr(file))


def _all_or_one(file: str, workflow: str | None) -> list[Workflow]:
    found = load_file(file)
    return [select(found, workflow, source=repr(file))] if workflow else [found[n] for n in sorted(found)]


FILE = click.argument("file", type=click.Path(dir_okay=False))
WORKFLOW = click.option(
    "--workflow", "-w", "workflow", metavar="NAME", help="Workflow to use when the file has several."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orchestration")
def main() -> None:
    """Serverless workflows for AWS: author in Python, compile to Step Functions, run offline on moto."""


@main.command()
@FILE
@WORKFLOW
@guarded
def validate(file: str, workflow: str | None) -> None:
    """Check workflows for errors (all problems at once)."""
    bad = 0
    for wf in _all_or_one(file, workflow):
        found = problems(wf)
        if found:
            bad += 1
            err_console.print(f"[red]✗[/] {wf.name}: {len(found)} problem{'s' if len(found) > 1 else ''}")
            for p in found:
                err_console.print(f"  - {p}", highlight=False)
        else:
            click.echo(f"✓ {wf.name}: {len(wf.tasks)} tasks, valid")
    if bad:
        sys.exit(EXIT_USAGE)


@main.command(name="compile")
@FILE
@WORKFLOW
@click.option("-o", "--output-dir", "out", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option("--pretty", is_flag=True, help="Indent the JSON for reading (the deployed definition is compact).")
@guarded
def compile_cmd(file: str, workflow: str | None, out: str, pretty: bool) -> None:
    """Write <workflow>.asl.json (Amazon States Language, JSONPath): the definition `cdk deploy` ships."""
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for wf in _all_or_one(file, workflow):
        definition = compile_workflow(wf)
        deployed = to_json(definition)
        path = target / f"{wf.name}.asl.json"
        path.write_text(to_json(definition, indent=2) if pretty else deployed, encoding="utf-8")
        click.echo(
            f"{path}  ({_count_states(definition)} states, {len(deployed.encode())} bytes deployed, "
            f"{definition_hash(deployed)})"
        )


def _count_states(definition: dict[str, Any]) -> int:
    total = 0
    for state in definition.get("States", {}).values():
        total += 1
        for branch in state.get("Branches", []):
            total += _count_states(branch)
        if "ItemProcessor" in state:
            total += _count_states(state["ItemProcessor"])
    return total


@main.command()
@FILE
@WORKFLOW
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text", show_default=True)
@guarded
def graph(file: str, workflow: str | None, fmt: str) -> None:
    """Show the DAG (text, Mermaid or Graphviz dot)."""
    wf = _pick(file, workflow)
    found = problems(wf)
    if found:
        from orchestration.errors import ValidationError

        raise ValidationError(wf.name, found)
    click.echo(render_graph(wf, fmt))


def parse_iso_option(option: str, value: str) -> datetime:
    """An ISO 8601 date-time given on the command line ('Z' accepted), or a ParameterError."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            f"{option} {value!r} is not an ISO 8601 date-time: use e.g. 2026-11-21T00:00:00Z"
        ) from None


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--param {pair!r} is not KEY=VALUE: write it as --param name=value")
        if key in params:
            raise ParameterError(f"--param {key!r} is given twice: pass each parameter once")
        stripped = value.strip()
        if stripped[:1] in ("[", "{"):
            try:
                params[key] = json.loads(stripped)
                continue
            except json.JSONDecodeError as exc:
                raise ParameterError(f"--param {key}={value!r} looks like JSON but is not valid ({exc.msg})") from None
        params[key] = value
    return params


@main.command()
@FILE
@WORKFLOW
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Workflow parameter (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the run's result.")
@click.option("--run-id", default=None, help="Run id (execution name); generated when omitted.")
@click.option(
    "--logical-date", default=None, metavar="ISO8601", help="Logical date of the run (as a scheduled run would get)."
)
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
@click.option("--verbose", "-v", is_flag=True, help="Show the tasks' own log lines (Powertools JSON).")
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
) -> None:
    """Run a workflow locally on moto with the real task code."""
    wf = _pick(file, workflow)
    values = _parse_params(params)
    wf.parse_params(values)  # fail fast on a bad parameter, before the local cloud starts
    date = parse_iso_option("--logical-date", logical_date) if logical_date else None
    import logging

    from orchestration.local import LocalCloud

    logging.getLogger("orchestration").setLevel(logging.INFO if verbose else logging.CRITICAL)
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # the interpreter logs every task failure
    console = Console(stderr=as_json)
    with LocalCloud() as cloud:
        rid = cloud.start(wf, values, logical_date=date, run_id=run_id)
        if as_json or quiet or not console.is_terminal:
            record = cloud.wait(rid)
        else:
            with Live(_table(wf, None), console=console, refresh_per_second=8, transient=False) as live:
                record = cloud.wait(rid, on_progress=lambda r: live.update(_table(wf, r)))
                live.update(_table(wf, record))
    result = record.as_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        if not console.is_terminal and not quiet:
            console.print(_table(wf, record))
        _summary(console, result)
    sys.exit(EXIT_OK if result["status"] in ("SUCCEEDED", "SUCCEEDED_WITH_FAILURES") else EXIT_RUN_FAILED)


def _table(wf: Workflow, record: Any) -> Table:
    table = Table(title=f"{wf.name}" + (f"  run {record.run_id}" if record else ""), title_justify="left")
    for col in ("task", "status", "attempts", "duration", "error"):
        table.add_column(col)
    tasks = record.tasks if record else {}
    for name in wf.tasks:
        t = tasks.get(name)
        status = t.status if t else "PENDING"
        duration = _duration(t.started_at, t.ended_at) if t else ""
        style = STATUS_STYLE.get(status, "")
        table.add_row(
            name, f"[{style}]{status}[/]", str(t.attempts if t else 0), duration, (t.error or "") if t else ""
        )
    return table


def _duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    a = datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return f"{(b - a).total_seconds() * 1000:.0f} ms"


def _summary(console: Console, result: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for t in result["tasks"].values():
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    style = STATUS_STYLE.get(result["status"], "")
    parts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    console.print(
        f"run [bold]{result['run_id']}[/] of [bold]{result['workflow']}[/]: [{style}]{result['status']}[/] "
        f"in {_duration(result['started_at'], result['ended_at'])} ({parts})",
        highlight=False,
        soft_wrap=True,
    )
    if result.get("error"):
        console.print(f"  {result['error']}", highlight=False, soft_wrap=True)


main.add_command(__import__("orchestration.cli_triggers", fromlist=["trigger"]).trigger)
main.add_command(__import__("orchestration.cli_triggers", fromlist=["schedule"]).schedule)


if __name__ == "__main__":  # pragma: no cover
    main()
