"""Hostile inputs: shared helpers (a workflow file written from source, the CLI, the ledger)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.local import LocalCloud
from orchestration.status import RunStatus

OPEN = {RunStatus.QUEUED, RunStatus.RUNNING}

HEADER = "from orchestration import Workflow, Param, Retry\n"


def write(tmp_path: Path, body: str, name: str = "wf.py") -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def cli(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    """Run `orch`; a BaseException escaping the command fails the test (never a traceback)."""
    try:
        result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=True)
    except BaseException as escaped:  # KeyboardInterrupt & co. pass through CliRunner
        pytest.fail(f"{type(escaped).__name__} escaped the command: {escaped!r}")
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}"
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def cloud(quiet_logs: None) -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        yield c


def open_runs(cloud: LocalCloud) -> list[str]:
    """Runs left PENDING/QUEUED/RUNNING in the ledger."""
    return [r.run_id for status in OPEN for r in cloud.ledger.runs_by_status(status)]
