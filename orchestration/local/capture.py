"""What task code writes while it runs locally (print, `logging`, `ctx.logger`), kept per run.

On Lambda each task's function writes to its own CloudWatch log group; `orch logs` reads them there.
Locally every task shares one process, so lines are told apart by the thread that wrote them: while
a task's handler runs, its thread carries the task's (workflow, run id, task, attempt), and every
line written from that thread is collected for that run. Lines from other threads pass through.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from orchestration.operations.source import LogLine
from orchestration.times import now_iso

Handler = Callable[[dict[str, Any]], Any]
MAX_LINE_CHARS = 16_384  # a longer line is cut (CloudWatch Logs keeps events up to 256 KB)


@dataclass(frozen=True)
class _Writer:
    workflow: str
    run_id: str
    task: str
    attempt: int | None


class TaskLogs:
    """Collects task log lines by run: `lines[(workflow, run_id)]`, in the order they were written."""

    def __init__(self, *, echo: bool = False) -> None:
        self.echo = echo  # also let captured lines through to the terminal
        self.lines: dict[tuple[str, str], list[LogLine]] = {}
        self._current = threading.local()
        self._lock = threading.Lock()
        self._streams: tuple[TextIO, TextIO] | None = None
        self._handler = _Capture(self)

    def install(self) -> None:
        self._streams = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(self, sys.stdout)
        sys.stderr = _Tee(self, sys.stderr)
        logging.getLogger().addHandler(self._handler)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        for name in list(logging.root.manager.loggerDict):
            logging.getLogger(name).removeHandler(self._handler)
        if self._streams is not None:
            # put back only what is still ours (pytest, for one, swaps the streams per test)
            if isinstance(sys.stdout, _Tee) and sys.stdout.owner is self:
                sys.stdout = self._streams[0]
            if isinstance(sys.stderr, _Tee) and sys.stderr.owner is self:
                sys.stderr = self._streams[1]
            self._streams = None

    def watch(self, logger: logging.Logger) -> None:
        """Also collect from a logger that does not propagate to the root (Powertools' own)."""
        if self._handler not in logger.handlers:
            logger.addHandler(self._handler)

    def wrap(self, workflow: str, task: str, handler: Handler) -> Handler:
        """`handler` with its thread's lines collected for the run and the task its event names (tasks
        of one configuration share a function: `task`, the group's first, when the event names none)."""

        def call(event: dict[str, Any]) -> Any:
            run = event.get("run") if isinstance(event, dict) else None
            run_id = run.get("run_id") if isinstance(run, dict) else None
            if not isinstance(run_id, str):
                return handler(event)
            attempt, named = event.get("attempt"), event.get("task")
            self._current.writer = _Writer(
                workflow,
                run_id,
                named if isinstance(named, str) else task,
                attempt + 1 if isinstance(attempt, int) else None,
            )
            try:
                return handler(event)
            finally:
                self._current.writer = None

        return call

    def writer(self) -> _Writer | None:
        return getattr(self._current, "writer", None)

    def add(self, writer: _Writer, text: str) -> None:
        text = text.rstrip("\n")
        if not text.strip():
            return
        line = LogLine(now_iso(), writer.task, writer.attempt, text[:MAX_LINE_CHARS])
        with self._lock:
            self.lines.setdefault((writer.workflow, writer.run_id), []).append(line)

    def take(self, workflow: str, run_id: str) -> list[LogLine]:
        """The lines collected for a run since the last take (they are then forgotten here)."""
        with self._lock:
            return self.lines.pop((workflow, run_id), [])


class _Tee:
    """sys.stdout/sys.stderr: a task thread's writes are collected (and echoed only if asked)."""

    def __init__(self, logs: TaskLogs, stream: TextIO) -> None:
        self.owner = logs
        self._logs = logs
        self._stream = stream
        self._pending = threading.local()

    def write(self, text: str) -> int:
        writer = self._logs.writer()
        if writer is None:
            return self._stream.write(text)
        buffered = getattr(self._pending, "text", "") + text
        *complete, rest = buffered.split("\n")
        for line in complete:
            self._logs.add(writer, line)
        self._pending.text = rest
        if self._logs.echo:
            self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        writer = self._logs.writer()
        rest = getattr(self._pending, "text", "")
        if writer is not None and rest:
            self._logs.add(writer, rest)
            self._pending.text = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Capture(logging.Handler):
    """Log records emitted from a task's thread, formatted as their own handlers would (Powertools
    JSON for `ctx.logger`), else as "LEVEL name: message"."""

    def __init__(self, logs: TaskLogs) -> None:
        super().__init__(level=logging.DEBUG)
        self._logs = logs

    def emit(self, record: logging.LogRecord) -> None:
        writer = self._logs.writer()
        if writer is None:
            return
        logger = logging.getLogger(record.name)
        formatter = next((h.formatter for h in logger.handlers if h is not self and h.formatter), None)
        try:
            text = formatter.format(record) if formatter else f"{record.levelname} {record.name}: {record.getMessage()}"
        except Exception:  # a record whose message cannot be formatted still says something
            text = f"{record.levelname} {record.name}: {record.msg!r}"
        self._logs.add(writer, text)
