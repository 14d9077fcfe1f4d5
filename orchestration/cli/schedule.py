"""`orch schedule`: preview a file's schedules (`orch schedule FILE`, as before), and on a deployed
stack list, pause and resume a workflow's triggers (`orch schedule list|pause|resume --stack NAME`).

Pausing stops new runs from every trigger of the workflow (its Scheduler schedules and its
EventBridge rules); runs already started go on. Exit status: 0 done (or already in that state), 2 a
user error (unknown stack, workflow or trigger: the message names the known ones).
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from orchestration.cli.common import err_console, guarded
from orchestration.cli.triggers import schedule as preview

STACK_OPTIONS = [
    click.option("--stack", required=True, metavar="NAME", help="The deployed stack."),
    click.option("--region", metavar="REGION", help="The stack's region (default: AWS_REGION, the profile's)."),
    click.option("--profile", metavar="PROFILE", help="The AWS profile to use."),
]


class _PreviewByDefault(click.Group):
    """`orch schedule FILE ...` is `orch schedule preview FILE ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["preview", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_PreviewByDefault)
def schedule() -> None:
    """Preview a file's schedules; list, pause or resume a deployed stack's triggers."""


schedule.add_command(preview, name="preview")


def _stack_options(fn: Any) -> Any:
    for option in reversed(STACK_OPTIONS):
        fn = option(fn)
    return fn


def _schedules(stack: str, region: str | None, profile: str | None) -> Any:
    from orchestration.operations.schedules import StackSchedules
    from orchestration.operations.stack import StackRuns

    return StackSchedules(StackRuns(stack, region=region, profile=profile))


@schedule.command("list")
@_stack_options
@click.option("--json", "as_json", is_flag=True, help="One JSON array.")
@guarded
def list_cmd(stack: str, region: str | None, profile: str | None, as_json: bool) -> None:
    """The stack's workflow triggers (schedules and event rules) and whether each is enabled."""
    found = _schedules(stack, region, profile)
    rows = found.states()
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in rows], indent=2))
        return
    if not rows:
        err_console.print(f"{found.source.where} has no schedule or event trigger", highlight=False)
        return
    table = Table(title=f"triggers of {found.source.where}", title_justify="left")
    for column in ("workflow", "trigger", "kind", "state", "expression or pattern"):
        table.add_column(column, overflow="fold")
    for t in rows:
        state = f"[green]{t.state}[/]" if t.state == "ENABLED" else f"[yellow]{t.state}[/]"
        table.add_row(t.workflow, t.trigger, t.kind, state, t.expression)
    Console().print(table)


def _set(workflow: str, trigger: str | None, stack: str, region: str | None, profile: str | None, on: bool) -> None:
    found = _schedules(stack, region, profile)
    verb = "resumed" if on else "paused"
    for trig in found.select(workflow, trigger):
        after, changed = found.set_state(trig, on)
        what = f"{trig.workflow} / {trig.trigger} ({trig.kind} {trig.name})"
        if changed:
            err_console.print(f"{verb} {what}: {after.state}", highlight=False, soft_wrap=True)
        else:
            err_console.print(
                f"{what} was already {verb} ({after.state}): nothing to do", highlight=False, soft_wrap=True
            )
    if not on:
        err_console.print("runs already started are not affected", highlight=False)


@schedule.command()
@click.argument("workflow")
@click.option("--trigger", metavar="NAME", help="Only this trigger (default: every trigger of the workflow).")
@_stack_options
@guarded
def pause(workflow: str, trigger: str | None, stack: str, region: str | None, profile: str | None) -> None:
    """Start no new runs of WORKFLOW: disable its schedules and event rules on the stack."""
    _set(workflow, trigger, stack, region, profile, on=False)


@schedule.command()
@click.argument("workflow")
@click.option("--trigger", metavar="NAME", help="Only this trigger (default: every trigger of the workflow).")
@_stack_options
@guarded
def resume(workflow: str, trigger: str | None, stack: str, region: str | None, profile: str | None) -> None:
    """Enable WORKFLOW's schedules and event rules on the stack again."""
    _set(workflow, trigger, stack, region, profile, on=True)
