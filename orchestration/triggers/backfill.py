"""Backfill plans: one run per schedule interval in a window, with the scheduler's run ids (pure).

A backfill of a schedule over the window ``[start, end)`` plans one run per firing of the schedule
whose scheduled time lies in the window. Each run gets the run id and logical date the deployed
trigger function derives for that scheduled time (`schedule_run_id`), so re-issuing a backfill, or
overlapping the live schedule, starts nothing twice. Firings follow EventBridge Scheduler:

- cron: wall-clock times in the schedule's time zone; a time that a spring-forward skips does not
  fire, and a time that a fall-back repeats fires once (its first occurrence is planned);
- rate: every interval of absolute time (a day is 24 hours) from the Unix epoch unless `rate_anchor`
  is given (``rate(6 hours)``: 00:00, 06:00, ... UTC). A deployed schedule fires on a grid anchored
  at its creation (Scheduler refuses a StartDate more than 5 minutes in the past), so the trigger
  function gives each firing the epoch-grid interval it falls in (`rate_interval_start`): the
  scheduler's runs and a backfill's have the same run ids and logical dates.

A window bound without a UTC offset is a wall-clock time in the schedule's time zone
(``--start 2026-03-01`` is midnight where the schedule runs); one with an offset is that instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from orchestration.errors import OrchestrationError
from orchestration.status import is_ok_run, is_terminal
from orchestration.times import iso, parse_iso
from orchestration.triggers.cron import parse_cron, to_croniter, years
from orchestration.triggers.declarations import Schedule, triggers_of
from orchestration.triggers.runids import schedule_run_id
from orchestration.triggers.schedules import RATE_EPOCH, parse_rate, schedule_problems, zone

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow

MAX_RUNS = 10_000  # runs one backfill may plan
EPOCH = RATE_EPOCH
_WINDOW_EXAMPLE = "e.g. 2026-03-01, 2026-03-01T06:00 (the schedule's time zone) or 2026-03-01T06:00Z"


class BackfillError(OrchestrationError):
    """A backfill cannot be planned: no schedule to follow, or a bad window."""


class Reprocess(StrEnum):
    """Which planned runs a backfill starts when some of its run ids exist already."""

    MISSING = "missing"  # only run ids never started
    FAILED = "failed"  # those, and ended runs that did not succeed
    ALL = "all"  # every run id, except runs still queued or running


@dataclass(frozen=True)
class BackfillRun:
    """One planned run: the fields `start_run` takes, the firing it stands for, and whether it exists."""

    run_id: str
    params: dict[str, Any]  # the schedule's params overridden by the backfill's (unvalidated)
    logical_date: str  # = the scheduled time, as the trigger function records it
    trigger: dict[str, Any]
    scheduled_time: datetime  # aware, in the schedule's time zone
    rerun: bool = False  # the run id exists: starting it again needs a new execution name


def backfill_plan(
    wf: Workflow,
    *,
    start: datetime,
    end: datetime,
    schedule: str | None = None,
    params: Mapping[str, Any] | None = None,
    rate_anchor: datetime | None = None,
) -> list[BackfillRun]:
    """One run per firing of `wf`'s schedule in ``[start, end)``, oldest first (see the module doc)."""
    name, trig = backfill_schedule(wf, schedule)
    tz = zone(trig.timezone)
    first, last = _instant(start, tz), _instant(end, tz)
    if last <= first:
        raise BackfillError(
            f"the backfill window is {'empty' if last == first else 'reversed'}: start={_show(start)} must be "
            f"before end={_show(end)}; the window includes its start and excludes its end"
        )
    if trig.rate is not None:
        times: Iterable[datetime] = _rate_times(trig, tz, first, last, rate_anchor)
    else:
        times = _cron_times(trig, tz, first, last)
    bid = backfill_id(wf.name, name, first, last)
    values = {**dict(trig.params), **dict(params or {})}
    out: list[BackfillRun] = []
    for moment in times:
        date = iso(moment)
        out.append(
            BackfillRun(
                run_id=schedule_run_id(wf.name, name, moment),
                params=dict(values),
                logical_date=date,
                trigger={"type": "backfill", "schedule": name, "scheduled_time": date, "backfill_id": bid},
                scheduled_time=moment,
            )
        )
    return out


def next_firing(trig: Schedule, start: datetime, *, rate_anchor: datetime | None = None) -> datetime | None:
    """The schedule's first firing at or after `start` (aware), as a backfill plans it (same anchors,
    same time zone rules); None when it never fires again."""
    tz = zone(trig.timezone)
    first = _instant(start, tz)
    if trig.rate is not None:
        step = parse_rate(str(trig.rate))
        origin = EPOCH if rate_anchor is None else _instant(rate_anchor, tz)
        return (origin - ((origin - first) // step) * step).astimezone(tz)
    return next(_cron_times(trig, tz, first, datetime.max.replace(tzinfo=UTC)), None)


def backfill_schedule(wf: Workflow, schedule: str | None = None) -> tuple[str, Schedule]:
    """The schedule a backfill follows, with its name: the named one, else the only one."""
    schedules = {n: t for n, t in triggers_of(wf).items() if isinstance(t, Schedule)}
    if not schedules:
        raise BackfillError(
            f"workflow {wf.name!r} has no schedule, and a backfill starts one run per schedule interval: "
            "add one to the Workflow, e.g. schedule=Schedule(cron='0 6 * * ? *') or Schedule(rate='1 hour')"
        )
    names = ", ".join(schedules)
    if schedule is None:
        if len(schedules) > 1:
            raise BackfillError(
                f"workflow {wf.name!r} has {len(schedules)} schedules ({names}): name the one to backfill "
                "(--schedule NAME)"
            )
        schedule = next(iter(schedules))
    trig = schedules.get(schedule)
    if trig is None:
        raise BackfillError(f"workflow {wf.name!r} has no schedule named {schedule!r}: its schedules are {names}")
    problems = schedule_problems(trig, f"schedule {schedule!r}")
    if problems:
        raise BackfillError(f"workflow {wf.name!r}: " + "; ".join(problems))
    return schedule, trig


def backfill_id(workflow: str, schedule: str, start: datetime, end: datetime) -> str:
    """Deterministic id of a backfill (aware window bounds): ``b-<start>-<end>-<hash>``, at most 80
    characters of [A-Za-z0-9-], so it can name an execution."""
    digest = hashlib.sha256(f"{workflow}\x00{schedule}\x00{iso(start)}\x00{iso(end)}".encode()).hexdigest()[:16]
    return f"b-{_stamp(start)}-{_stamp(end)}-{digest}"


def select_runs(plan: Sequence[BackfillRun], existing: Mapping[str, str], reprocess: str) -> list[BackfillRun]:
    """The planned runs to start given `existing` (run id -> recorded run status) and `reprocess`.

    Runs whose id exists come back with ``rerun=True``. A run still queued or running is never
    started again, whatever `reprocess` says: that would run its interval twice at once.
    """
    mode = _reprocess(reprocess)
    out: list[BackfillRun] = []
    for run in plan:
        status = existing.get(run.run_id)
        if status is None:
            out.append(run)
        elif is_terminal(status) and (mode is Reprocess.ALL or (mode is Reprocess.FAILED and not is_ok_run(status))):
            out.append(replace(run, rerun=True))
    return out


def parse_window(start: str, end: str) -> tuple[datetime, datetime]:
    """``--start`` and ``--end`` as datetimes: ISO 8601 dates or date-times; naive without an offset."""
    return _parse_bound("--start", start), _parse_bound("--end", end)


def _parse_bound(option: str, value: str) -> datetime:
    moment = parse_iso(str(value).strip())
    if moment is None:
        raise BackfillError(f"{option} {value!r} is not an ISO 8601 date or date-time: write {_WINDOW_EXAMPLE}")
    return moment


def _reprocess(value: str) -> Reprocess:
    try:
        return Reprocess(value)
    except ValueError:
        choices = ", ".join(r.value for r in Reprocess)
        raise BackfillError(f"--reprocess {value!r} is not one of {choices}") from None


def _cron_times(trig: Schedule, tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The cron's firings in ``[start, end)`` (UTC bounds), aware in `tz`, at most MAX_RUNS of them."""
    from croniter import CroniterError, croniter

    five, year_field = to_croniter(parse_cron(str(trig.cron)))
    allowed = years(year_field)
    # croniter walks wall-clock times (naive); each is then placed in `tz` (fold=0: a repeated time
    # is its first occurrence). Mapped so, wall-clock order is time order: no firing precedes `start`'s.
    it = croniter(five, start.astimezone(tz).replace(tzinfo=None) - timedelta(minutes=1))
    count = 0
    try:
        while True:
            wall: datetime = it.get_next(datetime)
            if wall.year not in allowed:
                later = min((year for year in allowed if year > wall.year), default=None)
                if later is None:
                    return
                it = croniter(five, datetime(later, 1, 1) - timedelta(minutes=1))
                continue
            moment = wall.replace(tzinfo=tz)
            if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
                continue  # skipped by a spring-forward
            if moment >= end:
                return
            if moment >= start:
                count += 1
                if count > MAX_RUNS:
                    raise _too_many(f"more than {MAX_RUNS}", moment)
                yield moment
    except CroniterError as exc:  # e.g. a day that never comes ('30 2': February 30th)
        raise BackfillError(f"cron={trig.cron!r} cannot be expanded ({exc})") from None


def _rate_times(
    trig: Schedule, tz: ZoneInfo, start: datetime, end: datetime, anchor: datetime | None
) -> list[datetime]:
    """The rate's firings in ``[start, end)``: anchor + k * interval, aware in `tz`."""
    step = parse_rate(str(trig.rate))
    origin = EPOCH if anchor is None else _instant(anchor, tz)
    first = origin - ((origin - start) // step) * step  # the first firing at or after start
    count = max(0, -((first - end) // step))
    if count > MAX_RUNS:
        raise _too_many(str(count), first + MAX_RUNS * step)
    return [(first + i * step).astimezone(tz) for i in range(count)]


def _too_many(count: str, cut: datetime) -> BackfillError:
    return BackfillError(
        f"the backfill window holds {count} intervals, above the {MAX_RUNS} runs one backfill may start: "
        f"split it, e.g. a first backfill ending at --end {cut.isoformat()}"
    )


def _instant(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` in UTC; a naive one is a wall-clock time in `tz`."""
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 in a zone east of UTC
        raise BackfillError(f"{_show(moment)} is beyond the calendar once in UTC: use a later date") from None


def _show(moment: datetime) -> str:
    return moment.isoformat() + ("" if moment.tzinfo else " (in the schedule's time zone)")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
