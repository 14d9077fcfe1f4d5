"""Schedules: rates, time zones, the Scheduler's limits, and a preview of the next fire times."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestration.errors import TriggerError
from orchestration.triggers.cron import MAX_YEAR, parse_cron, to_croniter, years
from orchestration.triggers.declarations import Schedule

RATE_RE = re.compile(r"^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$")
MAX_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE, MAX_EVENT_AGE = 60, 86_400
MAX_FLEXIBLE_WINDOW = 1_440
_PREVIEW_STEPS = 100_000  # croniter matches examined before a preview gives up (year filters)


def schedule_problems(s: Schedule, label: str = "schedule") -> list[str]:
    """Every problem with one schedule: its expression, time zone and delivery settings."""
    out: list[str] = []
    if (s.cron is None) == (s.rate is None):
        out.append(
            f"{label}: give exactly one of cron= or rate= (got cron={s.cron!r}, rate={s.rate!r}), e.g. "
            "Schedule(cron='0 6 * * ? *') or Schedule(rate='1 hour')"
        )
    else:
        try:
            if s.cron is not None:
                parse_cron(s.cron)
            else:
                parse_rate(str(s.rate))
        except TriggerError as exc:
            out.append(f"{label}: {exc}")
    try:
        zone(s.timezone)
    except TriggerError as exc:
        out.append(f"{label}: {exc}")
    w = s.flexible_window_minutes
    if w is not None and not int_in(w, 1, MAX_FLEXIBLE_WINDOW):
        out.append(
            f"{label}: flexible_window_minutes={w!r} must be None (fire on time) or an integer from 1 to "
            f"{MAX_FLEXIBLE_WINDOW}"
        )
    if not int_in(s.retry_attempts, 0, MAX_RETRY_ATTEMPTS):
        out.append(f"{label}: retry_attempts={s.retry_attempts!r} must be an integer from 0 to {MAX_RETRY_ATTEMPTS}")
    if not int_in(s.max_event_age_seconds, MIN_EVENT_AGE, MAX_EVENT_AGE):
        out.append(
            f"{label}: max_event_age_seconds={s.max_event_age_seconds!r} must be an integer from "
            f"{MIN_EVENT_AGE} to {MAX_EVENT_AGE} (24 hours)"
        )
    if not isinstance(s.params, Mapping):
        out.append(f"{label}: params={s.params!r} must be a dict of parameter values")
    return out


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a TriggerError naming examples."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerError(
            f"timezone={name!r} is not an IANA time zone: use e.g. 'UTC', 'Europe/Paris' or 'America/New_York'"
        ) from None


def parse_rate(rate: str) -> timedelta:
    """The interval of an EventBridge rate body (``'15 minutes'``, ``'1 hour'``)."""
    m = RATE_RE.match(rate)
    if not m:
        raise TriggerError(
            f"rate={rate!r} is not a rate: write '<number> <unit>' with unit minute(s), hour(s) or day(s), "
            "e.g. rate='15 minutes'"
        )
    value, unit = int(m.group(1)), m.group(2)
    if value < 1:
        raise TriggerError(f"rate={rate!r}: the value must be a positive whole number")
    singular = unit.rstrip("s")
    if value == 1 and unit.endswith("s"):
        raise TriggerError(f"rate={rate!r}: EventBridge wants the singular unit for 1: write '1 {singular}'")
    if value > 1 and not unit.endswith("s"):
        raise TriggerError(f"rate={rate!r}: EventBridge wants a plural unit above 1: write '{value} {singular}s'")
    return timedelta(**{singular + "s": value})


def next_fire_times(s: Schedule, count: int = 5, *, after: datetime | None = None) -> list[datetime]:
    """The next `count` fire times of a schedule, as aware datetimes in the schedule's time zone.

    A cron schedule fires at wall-clock times of its time zone (DST transitions as croniter handles
    them: a time skipped by a spring-forward moves to the next valid time). A rate schedule fires
    every interval from the moment it is created; the preview counts from `after` (default: now).
    A flexible window lets the actual invocation happen up to that many minutes later.
    """
    problems = schedule_problems(s)
    if problems:
        raise TriggerError("; ".join(problems))
    tz = zone(s.timezone)
    start = (after or datetime.now(UTC)).astimezone(tz)
    if s.rate is not None:
        step = parse_rate(s.rate)
        return [start + step * (i + 1) for i in range(count)]
    from croniter import CroniterError, croniter

    five, year_field = to_croniter(parse_cron(str(s.cron)))
    allowed = years(year_field)
    out: list[datetime] = []
    try:
        it = croniter(five, start.replace(second=0, microsecond=0))
        for _ in range(_PREVIEW_STEPS):
            moment: datetime = it.get_next(datetime)
            if moment.year > MAX_YEAR:
                break
            if moment > start and moment.year in allowed:
                out.append(moment)
                if len(out) == count:
                    break
    except CroniterError as exc:  # e.g. a day that never comes ('30 2': February 30th)
        raise TriggerError(f"cron={s.cron!r} cannot be previewed ({exc}); it may still be valid on AWS") from None
    return out


def int_in(value: object, low: int, high: int) -> bool:
    """An int (not a bool) from `low` to `high`."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


RATE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # rate intervals are counted from here (backfills too)


def rate_interval_start(rate: str, moment: datetime) -> datetime:
    """The start (UTC) of the epoch-grid interval of `rate` that `moment` (aware) falls in.

    A deployed rate schedule fires on a grid anchored at its creation, which nothing else knows; its
    runs take the epoch-grid interval they fall in as their logical date (and run id), which is what
    a backfill plans, so the two agree. Firings one interval apart fall in distinct intervals.
    """
    step = parse_rate(rate)
    return RATE_EPOCH + ((moment.astimezone(UTC) - RATE_EPOCH) // step) * step
