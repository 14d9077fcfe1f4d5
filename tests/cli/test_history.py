"""`orch runs list|show|cancel` and `orch logs` on the local store: what `orch run` and `orch trigger`
kept there, read by later commands (other processes), without a server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import invoke
from tests.samples import S3_EVENT, example

ETL = str(example("etl"))
FILE_ARRIVAL = str(example("file_arrival"))

CHATTY = """
import logging, time
from orchestration import Workflow

wf = Workflow("chatty", params={"pause": float})

@wf.task
def first(ctx):
    print("hello from first")
    ctx.logger.info("first is logging", extra={"rows": 3})
    logging.getLogger("user.module").warning("a user warning")
    return 1

@wf.task
def second(ctx, first):
    print("second sees", first)
    time.sleep(ctx.params.pause)
    return first + 1
"""

FAILING = """
from orchestration import Workflow

wf = Workflow("failing")

@wf.task
def ok():
    return 1

@wf.task
def broken(ok):
    raise ValueError("no such partition")
"""


def listed(*args: str) -> list[dict[str, Any]]:
    code, out, err = invoke("runs", "list", "--json", *args)
    assert code == 0, err
    runs: list[dict[str, Any]] = json.loads(out)
    return runs


@pytest.fixture()
def chatty(tmp_path: Path) -> str:
    path = tmp_path / "chatty.py"
    path.write_text(CHATTY)
    return str(path)


@pytest.fixture()
def failing(tmp_path: Path) -> str:
    path = tmp_path / "failing.py"
    path.write_text(FAILING)
    return str(path)


def test_runs_are_kept_and_listed_newest_first_with_filters(failing: str) -> None:
    assert invoke("run", ETL, "-q", "--run-id", "etl-1")[0] == 0
    assert invoke("run", failing, "-q", "--run-id", "fail-1")[0] == 1
    assert invoke("run", ETL, "-q", "--run-id", "etl-2")[0] == 0
    runs = listed()
    assert [r["run_id"] for r in runs] == ["etl-2", "fail-1", "etl-1"]
    first = runs[0]
    assert set(first) == {
        "run_id",
        "workflow",
        "status",
        "created_at",
        "started_at",
        "ended_at",
        "logical_date",
        "trigger",
        "repairs",
    }
    assert (first["workflow"], first["status"], first["repairs"]) == ("daily_etl", "SUCCEEDED", 0)
    assert first["trigger"]["type"] == "manual" and "@" in first["trigger"]["by"]  # who started it
    assert first["ended_at"] >= first["started_at"]
    assert [r["run_id"] for r in listed("--workflow", "daily_etl", "--limit", "1")] == ["etl-2"]
    assert [r["run_id"] for r in listed("--status", "failed")] == ["fail-1"]
    assert listed("--since", "2999-01-01T00:00:00Z") == []
    assert len(listed("--since", "1h")) == 3
    code, out, _ = invoke("runs", "list")
    assert code == 0 and "etl-2" in out and "FAILED" in out


def test_a_run_shows_its_tasks_attempts_timeline_and_graph(failing: str) -> None:
    invoke("run", failing, "-q", "--run-id", "fail-2")
    code, out, _ = invoke("runs", "show", "fail-2", "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["run_id"], shown["status"]) == ("fail-2", "FAILED")
    assert shown["tasks"]["broken"]["status"] == "FAILED" and "no such partition" in shown["tasks"]["broken"]["error"]
    assert shown["tasks"]["ok"]["output"] == 1
    assert [(a["task"], a["attempt"], a["status"]) for a in shown["attempts"]] == [  # oldest first
        ("ok", 1, "SUCCEEDED"),
        ("broken", 1, "FAILED"),
    ]
    code, out, _ = invoke("runs", "show", "fail-2")
    assert code == 0
    assert "timeline" in out and "graph" in out and "layer 2: broken" in out


def test_logs_are_what_the_tasks_wrote_by_task_and_attempt(chatty: str) -> None:
    assert invoke("run", chatty, "-q", "--run-id", "chat-1", "-p", "pause=0")[0] == 0
    code, out, _ = invoke("logs", "chat-1")
    assert code == 0
    lines = out.splitlines()
    assert any(line.endswith("first#1 hello from first") for line in lines)
    assert any("second#1 second sees 1" in line for line in lines)
    powertools = next(line for line in lines if "first is logging" in line)
    assert json.loads(powertools.split(" ", 2)[2])["rows"] == 3  # ctx.logger keeps its structured JSON
    assert any("WARNING user.module: a user warning" in line for line in lines)
    code, out, _ = invoke("logs", "chat-1", "--task", "second", "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["task"] for r in records} == {"second"} and records[0]["attempt"] == 1


def test_bad_requests_name_the_value_and_the_fix(chatty: str, tmp_path: Path) -> None:
    invoke("run", chatty, "-q", "--run-id", "chat-2", "-p", "pause=0")
    code, _, err = invoke("runs", "show", "nope")
    assert code == 2 and "no run 'nope'" in err and "orch runs list" in err
    code, _, err = invoke("logs", "chat-2", "--task", "third")
    assert code == 2 and "no task 'third'" in err and "first, second" in err
    code, _, err = invoke("runs", "cancel", "chat-2")
    assert code == 2 and "already ended (SUCCEEDED)" in err
    code, _, err = invoke("run", chatty, "-q", "--run-id", "chat-2", "-p", "pause=0")
    assert code == 2 and "'chat-2'" in err and "already in the local store" in err
    code, _, err = invoke("runs", "list", "--since", "yesterday")
    assert code == 2 and "--since 'yesterday'" in err
    code, _, err = invoke("runs", "list", "--region", "eu-west-1")
    assert code == 2 and "--stack" in err
    (tmp_path / "afile").write_text("x")
    os.environ["ORCH_HOME"] = str(tmp_path / "afile")
    code, _, err = invoke("runs", "list")
    assert code == 2 and "is a file, not a folder" in err


def test_a_second_delivery_of_an_event_in_a_later_command_is_a_duplicate(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({**S3_EVENT, "id": "same-event"}))
    assert invoke("trigger", FILE_ARRIVAL, "--event", str(event))[0] == 0
    (run,) = listed()
    code, _, err = invoke("trigger", FILE_ARRIVAL, "--event", str(event))
    assert code == 0 and "duplicate" in err
    (again,) = listed()
    assert again == run  # the stored run is intact


def _orch(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_for(status: str, run_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in listed() if r["run_id"] == run_id]
        if runs and runs[0]["status"] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{run_id} never became {status}")


def test_cancel_stops_a_run_going_in_another_process(chatty: str) -> None:
    proc = _orch("run", chatty, "-q", "--run-id", "long-1", "-p", "pause=60")
    _wait_for("RUNNING", "long-1")
    code, out, err = invoke("runs", "cancel", "long-1")
    assert code == 0, err
    assert "ABORTED" in out
    assert proc.wait(timeout=30) == 1
    code, out, _ = invoke("runs", "show", "long-1", "--json")
    shown = json.loads(out)
    assert shown["status"] == "ABORTED" and shown["error"].startswith("Aborted")
    assert shown["tasks"]["first"]["status"] == "SUCCEEDED"


def test_cancel_closes_a_run_whose_process_was_killed(chatty: str) -> None:
    proc = _orch("run", chatty, "-q", "--run-id", "long-2", "-p", "pause=60")
    _wait_for("RUNNING", "long-2")
    time.sleep(0.5)  # second is running
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert listed()[0]["status"] == "RUNNING"  # what the killed process left
    code, out, err = invoke("runs", "cancel", "long-2")
    assert "ABORTED" in out
    assert code == 0, err
    shown = json.loads(invoke("runs", "show", "long-2", "--json")[1])
    assert shown["status"] == "ABORTED" and "had ended" in shown["error"]


FLAKY = """
from pathlib import Path
from orchestration import Workflow

wf = Workflow("flaky")

@wf.task
def extract():
    return 21

@wf.task
def transform(extract):
    if not (Path(__file__).parent / "fixed").exists():
        raise RuntimeError("bad transform")
    return extract * 2

@wf.task
def report(transform):
    return f"total {transform}"

@wf.task
def audit(extract):
    return "audited"
"""


def test_repair_reruns_the_failed_task_and_downstream_only(tmp_path: Path) -> None:
    path = tmp_path / "flaky.py"
    path.write_text(FLAKY)
    assert invoke("run", str(path), "-q", "--run-id", "flaky-1")[0] == 1
    code, out, _ = invoke("repair", "flaky-1")
    assert code == 1 and "FAILED" in out  # not fixed yet: the repair fails the same way
    (tmp_path / "fixed").write_text("")
    code, out, err = invoke("repair", "flaky-1", "--json")
    assert code == 0, err
    repaired = json.loads(out)
    assert (repaired["run_id"], repaired["status"]) == ("flaky-1", "SUCCEEDED")
    assert repaired["tasks"]["report"]["output"] == "total 42"
    shown = json.loads(invoke("runs", "show", "flaky-1", "--json")[1])
    attempts = {t: [a["attempt"] for a in shown["attempts"] if a["task"] == t] for t in shown["tasks"]}
    assert attempts == {"extract": [1], "audit": [1], "transform": [1, 2, 3], "report": [1]}
    assert [r["number"] for r in shown["repairs"]] == [1, 2]
    assert [r["status"] for r in shown["repairs"]] == ["FAILED", "SUCCEEDED"]
    assert shown["repairs"][1]["trigger"]["type"] == "repair" and "@" in shown["repairs"][1]["trigger"]["by"]
    assert listed()[0]["repairs"] == 2
    code, _, err = invoke("repair", "flaky-1")
    assert code == 2 and "nothing to repair" in err
    code, _, err = invoke("repair", "flaky-1", "--task", "nope")
    assert code == 2 and "'nope'" in err
