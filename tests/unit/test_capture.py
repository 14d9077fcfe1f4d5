"""Task output captured by thread (orchestration.local.capture): lines of a task's thread go to its
run; other threads' pass through; the streams are put back only when still ours."""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import Any

from orchestration.local.capture import TaskLogs


def test_a_task_thread_s_lines_are_kept_by_run_task_and_attempt() -> None:
    logs = TaskLogs(echo=False)
    outside = io.StringIO()
    saved = sys.stdout
    sys.stdout = outside
    logs.install()
    try:

        def task(event: dict[str, Any]) -> int:
            print("part one", end="")
            print(" and two")
            logging.getLogger("user").warning("careful")
            return 1

        handler = logs.wrap("wf", "load", task)
        assert handler({"run": {"run_id": "r1"}, "attempt": 1}) == 1
        other = threading.Thread(target=lambda: print("not a task"))
        other.start()
        other.join()
    finally:
        logs.uninstall()
        sys.stdout = saved
    lines = logs.take("wf", "r1")
    assert [(line.task, line.attempt, line.message) for line in lines] == [
        ("load", 2, "part one and two"),
        ("load", 2, "WARNING user: careful"),
    ]
    assert outside.getvalue() == "not a task\n"
    assert logs.take("wf", "r1") == []  # taken once


def test_streams_swapped_by_someone_else_are_left_alone() -> None:
    logs = TaskLogs()
    saved = sys.stdout
    logs.install()
    replacement = io.StringIO()
    sys.stdout = replacement  # e.g. pytest's capture, per test
    logs.uninstall()
    try:
        assert sys.stdout is replacement
    finally:
        sys.stdout = saved
