"""The tasks' declared `env` in `os.environ` during local runs (on Lambda each function has its own).

Local tasks share one process. A key that every task declaring it gives the same value is set for
the life of the LocalCloud. A key that tasks give different values is *contested*: it is set only
while a task declaring it runs, and such tasks run one at a time (a lock), so each sees its own
value; they may run in parallel on AWS. `ctx.env` always holds exactly the task's own env.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from orchestration.model import Task, Workflow

Handler = Callable[[dict[str, Any]], Any]


class TaskEnvironment:
    def __init__(self) -> None:
        self._values: dict[str, set[str]] = {}  # key -> every value a deployed task gives it
        self._saved: dict[str, str | None] = {}  # os.environ before this cloud touched the key
        self._lock = threading.Lock()

    def add(self, workflow: Workflow) -> None:
        """Take in a newly deployed workflow's tasks' env."""
        for task in workflow.tasks.values():
            for key, value in task.env.items():
                self._saved.setdefault(key, os.environ.get(key))
                self._values.setdefault(key, set()).add(value)
        for key, values in self._values.items():
            if len(values) == 1:
                os.environ[key] = next(iter(values))
            else:
                self._put_back(key)

    def wrap(self, task: Task, handler: Handler) -> Handler:
        """`handler` (the task's function) setting the task's contested keys while it runs."""

        def call(event: dict[str, Any]) -> Any:
            contested = {k: v for k, v in task.env.items() if len(self._values.get(k, ())) > 1}
            if not contested:
                return handler(event)
            with self._holding(contested):
                return handler(event)

        return call

    @contextmanager
    def _holding(self, values: dict[str, str]) -> Iterator[None]:
        with self._lock:
            os.environ.update(values)
            try:
                yield
            finally:
                for key in values:
                    self._put_back(key)

    def restore(self) -> None:
        """Put os.environ back as it was before the cloud started."""
        for key in self._saved:
            self._put_back(key)
        self._values.clear()
        self._saved.clear()

    def _put_back(self, key: str) -> None:
        before = self._saved.get(key)
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
