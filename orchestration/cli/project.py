"""`orch init DIR`: scaffold a project that uses orchestration."""

from __future__ import annotations

from pathlib import Path

import click

from orchestration.cli.common import guarded
from orchestration.scaffold import scaffold


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", "stack_name", default=None, help="Stack name (default: from the folder name).")
@click.option("--force", is_flag=True, help="Add the missing files to a non-empty folder (existing files are kept).")
@guarded
def init(directory: Path, stack_name: str | None, force: bool) -> None:
    """Create a project: workflows/, tests/, requirements.txt, cdk.json, package.json, README.md."""
    done = scaffold(directory, stack_name=stack_name, force=force)
    for path in done.written:
        click.echo(f"  created {directory / path}")
    for path in done.kept:
        click.echo(f"  kept {directory / path} (exists; not overwritten)", err=True)
    click.echo(
        f"\nNext, in {directory}:\n"
        "  python3 -m venv .venv && . .venv/bin/activate && pip install orchestration && npm ci\n"
        "  orch run workflows/daily_report.py\n"
        "  pytest\n"
        "  npx cdk synth"
    )
