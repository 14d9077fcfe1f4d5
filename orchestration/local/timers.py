"""Local one-time timers: fires the ``at()`` schedules platform functions set (`runtime.timers`) in the
embedded moto, which stores schedules but never fires them.

A background thread looks at the timer group every `POLL_SECONDS` while a timer may be waiting (one
was set through this cloud's Scheduler client, or the last look found one), otherwise every
`IDLE_POLL_SECONDS` (each look is a few emulated API calls that compete with a run); a due schedule is deleted first (so
it fires once, as ``ActionAfterCompletion=DELETE`` does) and its target function is invoked with the
schedule's input on a thread of its own, like Scheduler's asynchronous invocation. A target that fails
is logged, not retried: a local run shows the failure at once rather than an hour of retries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from orchestration.runtime.timers import parse_at

GROUP = "orch-timers"
POLL_SECONDS = 0.1
IDLE_POLL_SECONDS = 1.0
log = logging.getLogger("orchestration.local")

Handler = Callable[[Any], Any]


class LocalTimers:
    """Fires the due ``at()`` schedules of `group` through `handlers` (function ARN -> handler)."""

    def __init__(self, scheduler: Any, handlers: Mapping[str, Handler], group: str = GROUP) -> None:
        self.scheduler = scheduler
        self.handlers = handlers
        self.group = group
        self.fired: list[str] = []  # schedule names, in firing order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._calls: list[threading.Thread] = []
        self._armed = threading.Event()  # a timer may be waiting: look every POLL_SECONDS
        self._waiting = 0  # timers the last look found not due yet
        scheduler.meta.events.register("after-call.scheduler.CreateSchedule", lambda **_: self._armed.set())

    def start(self) -> None:
        self.scheduler.create_schedule_group(Name=self.group)
        self._thread = threading.Thread(target=self._loop, name="orch-local-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for call in list(self._calls):
            call.join(timeout=5)

    def pending(self) -> list[tuple[str, datetime]]:
        """(schedule name, due time) of the timers not fired yet."""
        return [(name, due) for name, due, _ in self._timers()]

    def _timers(self) -> list[tuple[str, datetime, dict[str, Any]]]:
        """(name, due time, GetSchedule answer) of each timer of the group, soonest first."""
        out = []
        for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.group):
            for item in page.get("Schedules", []):
                detail = self.scheduler.get_schedule(Name=item["Name"], GroupName=self.group)
                due = parse_at(detail.get("ScheduleExpression", ""))
                if due is not None:
                    out.append((item["Name"], due, detail))
        return sorted(out, key=lambda timer: timer[1])

    def fire_due(self, now: datetime | None = None) -> int:
        """Fire every timer due at `now` (default: the current time); returns how many fired."""
        moment = now or datetime.now(UTC)
        count = 0
        timers = self._timers()
        self._waiting = sum(due > moment for _, due, _ in timers)
        for name, due, detail in timers:
            if due > moment:
                break
            try:
                self.scheduler.delete_schedule(Name=name, GroupName=self.group)
            except self.scheduler.exceptions.ResourceNotFoundException:
                continue  # cancelled meanwhile
            target = detail["Target"]
            handler = self.handlers.get(target["Arn"])
            if handler is None:
                log.error("timer %s targets %s, which is not deployed in this local cloud", name, target["Arn"])
                continue
            call = threading.Thread(
                target=self._invoke, args=(name, handler, json.loads(target.get("Input") or "{}")), daemon=True
            )
            self._calls = [c for c in self._calls if c.is_alive()] + [call]
            self.fired.append(name)
            call.start()
            count += 1
        return count

    def _invoke(self, name: str, handler: Handler, payload: Any) -> None:
        try:
            handler(payload)
        except Exception as exc:  # a target's failure must not stop the timer thread
            log.error("timer %s: its target failed: %s: %s", name, type(exc).__name__, exc)

    def _loop(self) -> None:
        idle_until = 0.0
        while not self._stop.wait(POLL_SECONDS):
            if not self._armed.is_set() and time.monotonic() < idle_until:
                continue
            self._armed.clear()  # before looking: a timer set meanwhile arms it again
            idle_until = time.monotonic() + IDLE_POLL_SECONDS
            try:
                self.fire_due()
                if self._waiting:
                    self._armed.set()
            except Exception as exc:  # the embedded moto is stopping
                if not self._stop.is_set():
                    log.error("local timers: %s: %s", type(exc).__name__, exc)
