"""The `orch` package: imports light, styles every status, keeps task logs out unless asked."""

from __future__ import annotations

import subprocess
import sys

from orchestration.cli.display import STATUS_STYLE
from orchestration.status import RunStatus, TaskStatus
from tests.helpers import AWS_SDK, modules_loaded_by
from tests.samples import ROOT


def test_every_status_has_a_style() -> None:
    assert {*TaskStatus, *RunStatus} <= set(STATUS_STYLE)


def test_importing_the_cli_loads_no_runtime() -> None:
    runtime = (*AWS_SDK, "functions", "aws_lambda_powertools", "orchestration.local")
    assert modules_loaded_by("import orchestration.cli", *runtime) == []


def _run_etl(*flags: str) -> str:
    args = [sys.executable, "-m", "orchestration", "run", "examples/etl.py", "-q", "-p", "rows=5", *flags]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stderr  # the quality check fails (and logs it)
    return out.stdout + out.stderr


def test_task_logs_show_only_with_verbose() -> None:
    assert '"level"' not in _run_etl()
    verbose = _run_etl("--verbose")
    assert '"message":"extracting"' in verbose and '"message":"task failed"' in verbose
