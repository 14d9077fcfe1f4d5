"""The garbage collector in an `orch` process (orchestration.cli.startup): paused while a command starts,
what start-up built frozen after it, the collector running again; a command invoked in a test's process
(CliRunner) leaves the collector as it was."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest
from click.testing import CliRunner

from orchestration.cli import main, startup
from tests.samples import ROOT, example


def test_in_the_orch_process_start_up_pauses_the_collector_then_freezes_what_it_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(startup, "_program", True)
    frozen = gc.get_freeze_count()
    try:
        with startup.startup():
            assert not gc.isenabled()
            built = [{"kept": n} for n in range(100)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(built)
    finally:
        gc.unfreeze()


def test_a_failing_start_up_still_gives_the_collector_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "_program", True)
    try:
        with pytest.raises(ValueError, match="bad"), startup.startup():
            raise ValueError("bad")
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_command_in_a_tests_process_leaves_the_collector_alone() -> None:
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(main, ["validate", str(example("etl"))])
    assert result.exit_code == 0, result.output
    assert not startup._program
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_orch_process_runs_its_command_with_the_collector_on_and_the_start_up_frozen() -> None:
    code = (
        "import gc, sys\n"
        "from orchestration.cli import main\n"
        f"sys.argv = ['orch', 'validate', {str(example('etl'))!r}]\n"
        "main(standalone_mode=False)\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "True True"
