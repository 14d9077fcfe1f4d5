"""Continuous mode (pure): one run after another, a new run as soon as the previous one ends.

``Workflow(..., triggers=[continuous(min_interval="5 minutes")])``. Exactly one run of the chain
goes at a time; when it ends (in any way) the next starts at ``max(now, previous start +
min_interval)``. After consecutive failed runs (anything but SUCCEEDED or SUCCEEDED_WITH_FAILURES)
the next waits at least ``min(min_interval * 2**failures, max_backoff)`` after the failed run's
end, so a chain that keeps failing slows down to one run per `max_backoff` (1 hour by default)
instead of stopping; the first success resets it. How the chain is kept going is in
`orchestration.runtime.continuous`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestration.errors import TriggerError

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow

INTERVAL_RE = re.compile(r"^\s*(\d+)\s+(second|seconds|minute|minutes|hour|hours|day|days)\s*$")
WATCHDOG_MIN = timedelta(minutes=5)  # the watchdog looks at the chain at least this often...
MAX_INTERVAL = timedelta(days=1)  # ...and a chain runs at least daily (a daily job wants a cron schedule)
RUN_ID_PREFIX = "c-"


@dataclass(frozen=True)
class Continuous:
    """Run the workflow continuously: one run at a time, each started when the previous ended, at
    least `min_interval` after the previous start (see `continuous`)."""

    min_interval: str = "1 minute"  # "<n> second(s)|minute(s)|hour(s)|day(s)"
    params: Mapping[str, Any] = field(default_factory=dict)  # constant parameter values
    max_backoff: str = "1 hour"  # the longest wait after consecutive failures
    name: str | None = None
    description: str = ""

    kind = "continuous"

    @property
    def interval(self) -> timedelta:
        return parse_interval(self.min_interval, "min_interval")

    @property
    def backoff_cap(self) -> timedelta:
        return parse_interval(self.max_backoff, "max_backoff")

    @property
    def watchdog_expression(self) -> str:
        """The rate of the watchdog schedule: every 5 minutes, or `min_interval` if longer (whole minutes)."""
        minutes = max(WATCHDOG_MIN, self.interval) // timedelta(minutes=1)
        return f"rate({minutes} minutes)"


def continuous(
    min_interval: str = "1 minute",
    *,
    params: Mapping[str, Any] | None = None,
    max_backoff: str = "1 hour",
    name: str | None = None,
    description: str = "",
) -> Continuous:
    """Continuous mode: a new run as soon as the previous one ends, `min_interval` apart at least.

    >>> Workflow("refresh", triggers=[continuous(min_interval="5 minutes", params={"full": False})])

    On AWS, EventBridge Scheduler starts each next run with 60-second precision, so intervals
    under a minute are exact only locally. Pause the chain with ``orch schedule pause WORKFLOW``.
    """
    return Continuous(
        min_interval=min_interval,
        params=dict(params or {}),
        max_backoff=max_backoff,
        name=name,
        description=description,
    )


def parse_interval(text: str, option: str = "min_interval") -> timedelta:
    """``'30 seconds'``, ``'5 minutes'``, ``'1 hour'``: as rate schedules, with seconds too."""
    m = INTERVAL_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise TriggerError(
            f"{option}={text!r} is not an interval: write '<number> <unit>' with unit second(s), minute(s), "
            "hour(s) or day(s), e.g. min_interval='5 minutes'"
        )
    value, unit = int(m.group(1)), m.group(2)
    singular = unit.rstrip("s") if unit != "seconds" else "second"
    if value < 1:
        raise TriggerError(f"{option}={text!r}: the value must be a positive whole number")
    if value == 1 and unit.endswith("s"):
        raise TriggerError(f"{option}={text!r}: write the singular unit for 1: '1 {singular}'")
    if value > 1 and not unit.endswith("s"):
        raise TriggerError(f"{option}={text!r}: write a plural unit above 1: '{value} {singular}s'")
    return timedelta(**{singular + "s": value})


def continuous_problems(wf: Workflow, trig: Continuous, label: str) -> list[str]:
    """Problems of one continuous declaration and of the workflow settings it cannot work with."""
    out: list[str] = []
    interval = backoff = None
    for option, value in (("min_interval", trig.min_interval), ("max_backoff", trig.max_backoff)):
        try:
            parsed = parse_interval(value, option)
        except TriggerError as exc:
            out.append(f"{label}: {exc}")
            continue
        if option == "min_interval":
            interval = parsed
        else:
            backoff = parsed
    if interval is not None and interval > MAX_INTERVAL:
        out.append(
            f"{label}: min_interval={trig.min_interval!r} is over a day: use a Schedule(cron=...) for runs "
            "that far apart"
        )
    if interval is not None and backoff is not None and backoff < interval:
        out.append(f"{label}: max_backoff={trig.max_backoff!r} is shorter than min_interval={trig.min_interval!r}")
    if not isinstance(trig.params, Mapping):
        out.append(f"{label}: params={trig.params!r} must be a dict of parameter values")
    if getattr(wf, "on_limit", "queue") == "skip" and getattr(wf, "max_concurrent_runs", None) is not None:
        out.append(
            f"{label}: on_limit='skip' cannot be combined with continuous mode (a skipped run never ends, so "
            "the chain would wait for the watchdog): use on_limit='queue'"
        )
    if getattr(wf, "type", "STANDARD") != "STANDARD":
        out.append(
            f"{label}: continuous mode needs type='STANDARD' (the next run starts when the recorder hears "
            "of the previous run's end; an Express execution sends no status-change event)"
        )
    return out


def chain_run_id(workflow: str, trigger: str, seq: int, after: str) -> str:
    """The run id of the chain's run number `seq`, derived from what it follows (the previous run
    id, or the watchdog firing that started the chain): every reader of one end computes the same."""
    digest = hashlib.sha256(f"{workflow}\x00{trigger}\x00{after}".encode()).hexdigest()[:16]
    return f"{RUN_ID_PREFIX}{seq:06d}-{digest}"


def backoff(interval: timedelta, failures: int, cap: timedelta) -> timedelta:
    """How long after a failed run's end the next waits, after `failures` consecutive failures."""
    if failures <= 0:
        return timedelta(0)
    return min(interval * (1 << min(failures, 32)), cap)


def next_start(
    *,
    now: datetime,
    started_at: datetime | None,
    interval: timedelta,
    failures: int,
    cap: timedelta,
) -> datetime:
    """When the next run starts: max(now, previous start + interval), and after failures no sooner
    than `backoff` after now (the failed run's end, as the recorder hears of it)."""
    due = max(now, (started_at or now) + interval)
    return max(due, now + backoff(interval, failures, cap))
