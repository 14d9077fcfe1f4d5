"""`orch`: scaffold a project; validate, compile, graph and run workflows locally; list, show, cancel and
repair runs, backfill schedules, read run logs (the local store, or a deployed stack); deliver events,
preview schedules; replay a deployed stack's dead letters.

Exit status: 0 success, 1 the run failed, 2 a user error (bad file, invalid workflow, bad parameter).

One module per command group; `main` lists their commands. Command modules import
`orchestration.cli.common`, never this package, and import the local runtime inside the command.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import click

from orchestration.cli import startup

# command name -> "module:attribute", imported when the command runs (or `orch --help` lists it):
# `orch run` does not import what the other commands need.
COMMANDS = {
    "backfill": "orchestration.cli.backfill:backfill",
    "compile": "orchestration.cli.workflows:compile_cmd",
    "dev": "orchestration.cli.dev:dev",
    "dlq": "orchestration.cli.dlq:dlq",
    "graph": "orchestration.cli.workflows:graph",
    "init": "orchestration.cli.project:init",
    "logs": "orchestration.cli.history:logs",
    "plan": "orchestration.cli.plan:plan",
    "pools": "orchestration.cli.pools:pools",
    "repair": "orchestration.cli.repair:repair",
    "run": "orchestration.cli.runs:run",
    "runs": "orchestration.cli.history:runs_group",
    "schedule": "orchestration.cli.schedule:schedule",
    "trigger": "orchestration.cli.triggers:trigger",
    "ui": "orchestration.cli.ui:ui",
    "validate": "orchestration.cli.workflows:validate",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, _, attr = COMMANDS[cmd_name].partition(":")
            with startup.startup():
                self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **options: Any) -> Any:
        if args is None:  # the `orch` process's own command line (a test's CliRunner passes its arguments)
            startup.program()
        return super().main(args, *rest, **options)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orchestration")
def main() -> None:
    """Serverless workflows for AWS: author in Python, compile to Step Functions, run offline on moto."""
