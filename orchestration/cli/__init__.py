"""`orch`: scaffold a project; validate, compile, graph and run workflows locally; list, show, cancel and
repair runs, backfill schedules, read run logs (the local store, or a deployed stack); deliver events,
preview schedules; replay a deployed stack's dead letters.

Exit status: 0 success, 1 the run failed, 2 a user error (bad file, invalid workflow, bad parameter).

One module per command group; `main` lists their commands. Command modules import
`orchestration.cli.common`, never this package, and import the local runtime inside the command.
"""

from __future__ import annotations

import click

from orchestration.cli.backfill import backfill
from orchestration.cli.dev import dev
from orchestration.cli.dlq import dlq
from orchestration.cli.history import logs, runs_group
from orchestration.cli.plan import plan
from orchestration.cli.pools import pools
from orchestration.cli.project import init
from orchestration.cli.repair import repair
from orchestration.cli.runs import run
from orchestration.cli.schedule import schedule
from orchestration.cli.triggers import trigger
from orchestration.cli.ui import ui
from orchestration.cli.workflows import compile_cmd, graph, validate


@click.group(
    commands=[init, validate, compile_cmd, graph, run, runs_group, logs, repair, backfill, trigger, schedule, dlq, ui],
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="orchestration")
def main() -> None:
    """Serverless workflows for AWS: author in Python, compile to Step Functions, run offline on moto."""


main.add_command(dev)
main.add_command(pools)
main.add_command(plan)
