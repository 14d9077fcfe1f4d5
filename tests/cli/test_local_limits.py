"""max_concurrent_runs across processes on one local store: two `orch run` processes of a limited
workflow do not both run (the second waits QUEUED, or is SKIPPED); a queued run is cancelled with
`orch runs cancel` from a third process."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_history import _orch, _wait_for, invoke

LIMITED = """
import time
from orchestration import Workflow

queued = Workflow("one_queued", params={"pause": float}, max_concurrent_runs=1, on_limit="queue")
skipped = Workflow("one_skipped", params={"pause": float}, max_concurrent_runs=1, on_limit="skip")

@queued.task
def work(ctx):
    time.sleep(ctx.params.pause)
    return 1

@skipped.task
def other(ctx):
    time.sleep(ctx.params.pause)
    return 2
"""


@pytest.fixture()
def limited(tmp_path: Path) -> str:
    path = tmp_path / "limited.py"
    path.write_text(LIMITED)
    return str(path)


def shown(run_id: str) -> dict[str, Any]:
    code, out, err = invoke("runs", "show", run_id, "--json")
    assert code == 0, err
    run: dict[str, Any] = json.loads(out)
    return run


def _ended(proc: subprocess.Popen[bytes]) -> int:
    return proc.wait(timeout=60)


def test_a_second_process_waits_queued_until_the_first_run_ends(limited: str) -> None:
    first = _orch("run", limited, "-w", "one_queued", "-q", "--run-id", "lim-1", "-p", "pause=60")
    _wait_for("RUNNING", "lim-1")
    second = _orch("run", limited, "-w", "one_queued", "-q", "--run-id", "lim-2", "-p", "pause=0")
    third = _orch("run", limited, "-w", "one_queued", "-q", "--run-id", "lim-3", "-p", "pause=0")
    _wait_for("QUEUED", "lim-2")
    _wait_for("QUEUED", "lim-3")
    time.sleep(1.5)  # several of their re-drains: neither starts while lim-1 holds the slot
    assert shown("lim-2")["status"] == shown("lim-3")["status"] == "QUEUED"

    code, out, err = invoke("runs", "cancel", "lim-2")  # cancelled while it waits
    assert code == 0, err
    assert "ABORTED" in out
    assert _ended(second) == 1
    withdrawn = shown("lim-2")
    assert withdrawn["status"] == "ABORTED" and withdrawn["started_at"] is None
    assert withdrawn["error"].startswith("Cancelled: cancelled while queued by ") and "@" in withdrawn["error"]
    code, _, err = invoke("runs", "cancel", "lim-2")
    assert code == 2 and "already ended (ABORTED)" in err

    assert invoke("runs", "cancel", "lim-1")[0] == 0  # frees the slot: lim-3's process starts it
    assert _ended(first) == 1
    assert _ended(third) == 0
    done, freed = shown("lim-3"), shown("lim-1")
    assert done["status"] == "SUCCEEDED" and done["started_at"] >= freed["ended_at"]
    assert not list((Path(os.environ["ORCH_HOME"]) / "slots").glob("*/*.json"))  # every process let go


def test_a_second_process_is_skipped_at_the_limit(limited: str) -> None:
    first = _orch("run", limited, "-w", "one_skipped", "-q", "--run-id", "skip-1", "-p", "pause=60")
    _wait_for("RUNNING", "skip-1")
    code, _, err = invoke("run", limited, "-w", "one_skipped", "-q", "--run-id", "skip-2", "-p", "pause=0")
    assert code == 0, err
    skipped = shown("skip-2")
    assert skipped["status"] == "SKIPPED" and "max_concurrent_runs=1" in skipped["error"]
    assert invoke("runs", "cancel", "skip-1")[0] == 0
    assert _ended(first) == 1
    code, _, err = invoke("run", limited, "-w", "one_skipped", "-q", "--run-id", "skip-3", "-p", "pause=0")
    assert code == 0, err
    assert shown("skip-3")["status"] == "SUCCEEDED"  # the slot was freed


def test_a_killed_process_holds_no_slot(limited: str) -> None:
    first = _orch("run", limited, "-w", "one_skipped", "-q", "--run-id", "kill-1", "-p", "pause=60")
    _wait_for("RUNNING", "kill-1")
    first.kill()
    first.wait(timeout=30)
    code, _, err = invoke("run", limited, "-w", "one_skipped", "-q", "--run-id", "kill-2", "-p", "pause=0")
    assert code == 0, err
    assert shown("kill-2")["status"] == "SUCCEEDED"
