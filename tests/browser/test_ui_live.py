"""A run going in another process, watched in `orch ui`: the page follows it live (no reload by the
reader) and its cancel button stops it, as `orch runs cancel` does."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.operations.local_store import HOME_ENV, LocalStore
from orchestration.ui import UIState, create_app, serving

pytestmark = pytest.mark.browser

SLOW = """
import time
from orchestration import Workflow

wf = Workflow("slow")

@wf.task
def first():
    return 1

@wf.task
def second(first):
    time.sleep(60)
    return first + 1
"""


@pytest.fixture()
def going(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalStore, subprocess.Popen[bytes]]]:
    """`orch run` of a workflow whose second task sleeps a minute, in another process, once RUNNING."""
    (tmp_path / "slow.py").write_text(SLOW)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "orch"))
    store = LocalStore(tmp_path / "orch")
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "run", str(tmp_path / "slow.py"), "-q", "--run-id", "slow-1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120  # a loaded machine takes a while to start moto in a new process
    while not any(r.status == "RUNNING" and "first" in r.tasks for r in _runs(store)):
        assert time.monotonic() < deadline and proc.poll() is None, "the run never started"
        time.sleep(0.2)
    yield store, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)


def _runs(store: LocalStore) -> list[Any]:
    from orchestration.operations.source import RunFilter

    return [store.get_run(r.run_id, r.workflow) for r in store.list_runs(RunFilter())]


def test_a_running_run_refreshes_itself_and_is_cancelled_from_the_page(
    page: Any, going: tuple[LocalStore, subprocess.Popen[bytes]], artifacts: Path
) -> None:
    store, proc = going
    with serving(create_app(UIState(store, refresh_seconds=0.3))) as url:
        page.goto(url + "runs/slow/slow-1")
        assert page.inner_text("#run-status") == "RUNNING" and page.is_visible("text=live")
        page.wait_for_selector(".bar[data-task=first].s-SUCCEEDED")
        page.screenshot(path=str(artifacts / "running.png"), full_page=True)
        page.click("#cancel")
        page.wait_for_function("document.getElementById('run-status').textContent === 'ABORTED'", timeout=60_000)
        assert not page.is_visible("text=live") and page.is_visible("#repair")  # ended: repair, no cancel
        page.screenshot(path=str(artifacts / "cancelled.png"), full_page=True)
    assert proc.wait(30) == 1  # the `orch run` process saw the stop and exited as a failed run
    assert store.get_run("slow-1").status == "ABORTED"
