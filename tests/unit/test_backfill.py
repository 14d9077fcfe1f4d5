"""Backfill plans: one run per schedule interval in the window, with the run ids the scheduler gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.model import Workflow
from orchestration.runtime.trigger import plan_run
from orchestration.status import RunStatus
from orchestration.triggers import EventTrigger, Schedule
from orchestration.triggers.backfill import (
    MAX_RUNS,
    BackfillError,
    BackfillRun,
    backfill_id,
    backfill_plan,
    parse_window,
    select_runs,
)
from orchestration.triggers.cron import parse_cron, to_croniter
from orchestration.triggers.runids import schedule_run_id

PARIS = ZoneInfo("Europe/Paris")


def wf_with(*schedules: Schedule, name: str = "daily_etl") -> Workflow:
    return Workflow(name, schedule=schedules[0], triggers=list(schedules[1:]))


def test_thirty_daily_runs_for_thirty_days() -> None:
    wf = wf_with(Schedule(cron="0 6 * * ? *", params={"rows": 10}))
    plan = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 31), params={"mode": "full"})
    assert len(plan) == 30
    assert [r.scheduled_time for r in plan] == [datetime(2026, 3, d, 6, tzinfo=UTC) for d in range(1, 31)]
    assert plan[0].logical_date == "2026-03-01T06:00:00.000Z"
    assert len({r.run_id for r in plan}) == 30
    assert all(r.params == {"rows": 10, "mode": "full"} and not r.rerun for r in plan)
    bid = backfill_id("daily_etl", "schedule", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert plan[0].trigger == {
        "type": "backfill",
        "schedule": "schedule",
        "scheduled_time": "2026-03-01T06:00:00.000Z",
        "backfill_id": bid,
    }
    assert bid.startswith("b-20260301T000000Z-20260331T000000Z-") and len(bid) <= 80


def test_params_override_the_schedule_params_and_are_not_shared() -> None:
    wf = wf_with(Schedule(cron="0 6 * * ? *", params={"rows": 10, "mode": "delta"}))
    plan = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 3), params={"mode": "full"})
    assert [r.params for r in plan] == [{"rows": 10, "mode": "full"}] * 2
    assert plan[0].params is not plan[1].params


def test_run_ids_and_logical_dates_are_the_scheduler_s() -> None:
    wf = wf_with(Schedule(cron="30 6 ? * MON-FRI *", timezone="Europe/Paris"))
    plan = backfill_plan(wf, start=datetime(2026, 3, 23), end=datetime(2026, 4, 4))
    assert len(plan) == 10  # two working weeks; DST starts on Sunday 29 March
    for run in (plan[0], plan[-1]):
        stamp = run.scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # as Scheduler sends it
        delivered = plan_run({"trigger": "schedule", "scheduled_time": stamp, "execution_id": "x"}, wf)
        assert (run.run_id, run.logical_date) == (delivered.run_id, delivered.logical_date)
    assert plan[0].logical_date == "2026-03-23T05:30:00.000Z"  # 06:30 CET
    assert plan[-1].logical_date == "2026-04-03T04:30:00.000Z"  # 06:30 CEST


def test_a_reissued_or_overlapping_backfill_plans_the_same_ids() -> None:
    wf = wf_with(Schedule(cron="0 * * * ? *"))
    whole = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 3))
    again = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 3))
    later = backfill_plan(wf, start=datetime(2026, 3, 2, 12), end=datetime(2026, 3, 4))
    assert [r.run_id for r in whole] == [r.run_id for r in again]
    assert [r.run_id for r in whole[36:]] == [r.run_id for r in later[:12]]
    assert whole[0].trigger["backfill_id"] == again[0].trigger["backfill_id"] != later[0].trigger["backfill_id"]


def test_hourly_cron_across_the_spring_forward_in_paris() -> None:
    wf = wf_with(Schedule(cron="0 * * * ? *", timezone="Europe/Paris"))
    plan = backfill_plan(wf, start=datetime(2026, 3, 29), end=datetime(2026, 3, 30))
    assert len(plan) == 23  # 02:00 does not exist that night: skipped, as EventBridge Scheduler does
    assert [r.scheduled_time.hour for r in plan] == [0, 1, *range(3, 24)]
    utc = [r.scheduled_time.astimezone(UTC) for r in plan]
    assert utc[0] == datetime(2026, 3, 28, 23, tzinfo=UTC) and utc[-1] == datetime(2026, 3, 29, 21, tzinfo=UTC)
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(utc))


def test_hourly_cron_across_the_fall_back_in_paris() -> None:
    wf = wf_with(Schedule(cron="0 * * * ? *", timezone="Europe/Paris"))
    plan = backfill_plan(wf, start=datetime(2026, 10, 25), end=datetime(2026, 10, 26))
    assert len(plan) == 24  # the day lasts 25 hours; the repeated 02:00 fires once, at its first occurrence
    assert [r.scheduled_time.hour for r in plan] == list(range(24))
    assert [r.logical_date for r in plan[1:4]] == [
        "2026-10-24T23:00:00.000Z",
        "2026-10-25T00:00:00.000Z",  # 02:00 CEST
        "2026-10-25T02:00:00.000Z",  # 03:00 CET
    ]


def test_naive_bounds_are_wall_clock_times_in_the_schedule_s_zone() -> None:
    wf = wf_with(Schedule(cron="0 0 * * ? *", timezone="Europe/Paris"))
    local = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 4))
    assert [r.scheduled_time.day for r in local] == [1, 2, 3]
    aware = backfill_plan(wf, start=datetime(2026, 3, 1, tzinfo=UTC), end=datetime(2026, 3, 4, tzinfo=UTC))
    assert [r.scheduled_time.day for r in aware] == [2, 3, 4]  # Paris midnight is 23:00 UTC the day before


def test_rate_six_hours_is_anchored_on_the_epoch_and_ignores_dst() -> None:
    wf = wf_with(Schedule(rate="6 hours", timezone="Europe/Paris"))
    plan = backfill_plan(wf, start=datetime(2026, 3, 28, 1, tzinfo=UTC), end=datetime(2026, 3, 30, tzinfo=UTC))
    assert [r.logical_date for r in plan] == [
        f"2026-03-{day}T{hour:02d}:00:00.000Z" for day in (28, 29) for hour in (0, 6, 12, 18)
    ][1:]
    assert plan[0].scheduled_time.tzinfo == PARIS
    exact = backfill_plan(wf, start=datetime(2026, 3, 28, 6, tzinfo=UTC), end=datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert [r.logical_date for r in exact] == ["2026-03-28T06:00:00.000Z"]  # start included, end excluded


def test_rate_anchor_follows_a_deployed_schedule_s_start() -> None:
    wf = wf_with(Schedule(rate="6 hours"))
    anchor = datetime(2026, 1, 1, 2, 15, tzinfo=UTC)
    plan = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 2), rate_anchor=anchor)
    assert [r.scheduled_time.strftime("%H:%M") for r in plan] == ["02:15", "08:15", "14:15", "20:15"]


def test_year_filter_and_schedules_that_never_fire_in_the_window() -> None:
    yearly = wf_with(Schedule(cron="0 0 1 1 ? 2027,2030"))
    plan = backfill_plan(yearly, start=datetime(2026, 1, 1), end=datetime(2031, 1, 1))
    assert [r.scheduled_time.year for r in plan] == [2027, 2030]
    assert backfill_plan(yearly, start=datetime(2031, 1, 1), end=datetime(2040, 1, 1)) == []
    weekly = wf_with(Schedule(cron="0 6 ? * MON *"))
    assert backfill_plan(weekly, start=datetime(2026, 3, 3), end=datetime(2026, 3, 9)) == []


def test_a_workflow_with_several_schedules_backfills_the_named_one() -> None:
    wf = wf_with(Schedule(cron="0 6 * * ? *"), Schedule(rate="12 hours", name="twice"), EventTrigger({"source": ["x"]}))
    with pytest.raises(BackfillError, match=r"has 2 schedules \(schedule, twice\): name the one"):
        backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 2))
    with pytest.raises(BackfillError, match="no schedule named 'nope': its schedules are schedule, twice"):
        backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 2), schedule="nope")
    plan = backfill_plan(wf, start=datetime(2026, 3, 1), end=datetime(2026, 3, 2), schedule="twice")
    assert [r.trigger["schedule"] for r in plan] == ["twice", "twice"]
    assert plan[0].run_id == schedule_run_id("daily_etl", "twice", plan[0].scheduled_time)


@pytest.mark.parametrize(
    ("wf", "start", "end", "message"),
    [
        (Workflow("nosched"), datetime(2026, 3, 1), datetime(2026, 3, 2), "has no schedule, and a backfill starts"),
        (
            Workflow("events", triggers=[EventTrigger({"source": ["x"]})]),
            datetime(2026, 3, 1),
            datetime(2026, 3, 2),
            r"add one to the Workflow, e.g. schedule=Schedule\(cron=",
        ),
        (wf_with(Schedule(rate="1 hours")), datetime(2026, 3, 1), datetime(2026, 3, 2), "write '1 hour'"),
        (
            wf_with(Schedule(cron="0 6 * * ? *")),
            datetime(2026, 3, 2),
            datetime(2026, 3, 1),
            r"window is reversed: start=2026-03-02T00:00:00 \(in the schedule's time zone\) must be before end=",
        ),
        (
            wf_with(Schedule(cron="0 6 * * ? *", timezone="Europe/Paris")),
            datetime(2026, 3, 1),
            datetime(2026, 2, 28, 23, tzinfo=UTC),  # the same instant
            "window is empty",
        ),
        (
            wf_with(Schedule(cron="* * * * ? *")),
            datetime(2026, 3, 1),
            datetime(2026, 3, 9),
            f"holds more than {MAX_RUNS} intervals.*a first backfill ending at --end 2026-03-07T22:40:00",
        ),
        (
            wf_with(Schedule(rate="1 minute")),
            datetime(2026, 1, 1),
            datetime(2027, 1, 1),
            f"holds 525600 intervals, above the {MAX_RUNS} runs.*--end 2026-01-07T22:40:00",
        ),
        (wf_with(Schedule(cron="0 0 30 2 ? *")), datetime(2026, 1, 1), datetime(2027, 1, 1), "cannot be expanded"),
        (
            wf_with(Schedule(cron="0 0 * * ? *", timezone="Asia/Tokyo")),
            datetime(1, 1, 1),
            datetime(2026, 1, 1),
            "beyond the calendar once in UTC",
        ),
    ],
)
def test_plans_that_cannot_be_made_say_why(wf: Workflow, start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(BackfillError, match=message):
        backfill_plan(wf, start=start, end=end)


def test_a_window_of_exactly_the_cap_is_planned() -> None:
    wf = wf_with(Schedule(rate="1 minute"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(backfill_plan(wf, start=start, end=start + timedelta(minutes=MAX_RUNS))) == MAX_RUNS


def _plan() -> list[BackfillRun]:
    return backfill_plan(wf_with(Schedule(cron="0 6 * * ? *")), start=datetime(2026, 3, 1), end=datetime(2026, 3, 9))


@pytest.mark.parametrize(
    ("reprocess", "started", "reruns"),
    [
        ("missing", [2, 7], []),
        ("failed", [1, 2, 3, 4, 7], [1, 3, 4]),
        ("all", [0, 1, 2, 3, 4, 5, 7], [0, 1, 3, 4, 5]),
    ],
)
def test_reprocess_selects_the_runs_to_start(reprocess: str, started: list[int], reruns: list[int]) -> None:
    plan = _plan()
    recorded = [
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        None,
        RunStatus.TIMED_OUT,
        RunStatus.ABORTED,
        RunStatus.SUCCEEDED_WITH_FAILURES,
        RunStatus.RUNNING,  # never started twice at once
        None,
    ]
    existing = {run.run_id: str(status) for run, status in zip(plan, recorded, strict=True) if status is not None}
    chosen = select_runs(plan, existing, reprocess)
    assert [plan.index(replace_rerun(r)) for r in chosen] == started
    assert [plan.index(replace_rerun(r)) for r in chosen if r.rerun] == reruns


def replace_rerun(run: BackfillRun) -> BackfillRun:
    return replace(run, rerun=False)


def test_a_second_identical_backfill_selects_nothing() -> None:
    plan = _plan()
    assert select_runs(plan, {r.run_id: RunStatus.SUCCEEDED for r in plan}, "missing") == []
    assert select_runs(plan, {}, "missing") == plan


def test_a_bad_reprocess_value_names_the_choices() -> None:
    with pytest.raises(BackfillError, match="--reprocess 'some' is not one of missing, failed, all"):
        select_runs(_plan(), {}, "some")


def test_parse_window_reads_dates_and_date_times() -> None:
    assert parse_window("2026-03-01", "2026-03-31T06:30") == (datetime(2026, 3, 1), datetime(2026, 3, 31, 6, 30))
    start, end = parse_window(" 2026-03-01T00:00Z", "2026-03-02T00:00:00+01:00")
    assert start == datetime(2026, 3, 1, tzinfo=UTC) and end == datetime(2026, 3, 1, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "option"), [("yesterday", "2026-03-01", "--start"), ("2026-03-01", "", "--end")]
)
def test_parse_window_names_the_bad_value_and_the_fix(start: str, end: str, option: str) -> None:
    bad = start if option == "--start" else end
    with pytest.raises(BackfillError, match=f"{option} {bad!r} is not an ISO 8601 date or date-time: write e.g."):
        parse_window(start, end)


# -- property: the plan is exactly the schedule's firings, whatever the window --------------------

SCHEDULES = [
    Schedule(cron="0 * * * ? *", timezone="Europe/Paris"),
    Schedule(cron="30 2 * * ? *", timezone="America/New_York"),  # 02:30 is skipped once a year there
    Schedule(cron="*/20 1-3 ? * SUN *", timezone="Europe/Paris"),
    Schedule(cron="15 0 * * ? *", timezone="Australia/Lord_Howe"),  # a 30-minute DST shift
]
TRANSITIONS = [datetime(2026, 3, 29), datetime(2026, 10, 25), datetime(2026, 3, 8), datetime(2026, 11, 1)]


def brute_force(s: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every UTC minute whose wall-clock time matches, counting a repeated wall-clock time once."""
    five, _ = to_croniter(parse_cron(str(s.cron)))
    tz = ZoneInfo(s.timezone)
    out, minute = [], start
    while minute < end:
        local = minute.astimezone(tz)
        if local.fold == 0 and croniter.match(five, local.replace(tzinfo=None)):
            out.append(minute)
        minute += timedelta(minutes=1)
    return out


@given(
    s=st.sampled_from(SCHEDULES),
    around=st.sampled_from(TRANSITIONS),
    offset=st.integers(-36 * 60, 36 * 60),
    minutes=st.integers(2, 48 * 60),
)
@settings(max_examples=40, deadline=None)
def test_the_plan_is_every_firing_in_the_window(s: Schedule, around: datetime, offset: int, minutes: int) -> None:
    wf = wf_with(s)
    start = (around + timedelta(minutes=offset)).replace(tzinfo=UTC)
    end = start + timedelta(minutes=minutes)
    plan = backfill_plan(wf, start=start, end=end)
    assert [r.scheduled_time.astimezone(UTC) for r in plan] == brute_force(s, start, end)
    assert len({r.run_id for r in plan}) == len(plan)
    middle = start + timedelta(minutes=minutes // 2)
    halves = backfill_plan(wf, start=start, end=middle) + backfill_plan(wf, start=middle, end=end)
    assert [r.run_id for r in halves] == [r.run_id for r in plan]


def test_a_deployed_rate_firing_gets_the_run_id_and_date_of_the_backfill_interval_it_falls_in() -> None:
    from orchestration.runtime.trigger import plan_run

    wf = Workflow("grid", schedule=Schedule(rate="6 hours"))
    wf.task(name="a")(lambda: 1)
    planned = backfill_plan(wf, start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 2, tzinfo=UTC))
    # Scheduler's grid starts at the schedule's creation (here 10:17:00): each firing is one interval on
    for fired, interval in (("2026-11-01T10:17:00Z", 1), ("2026-11-01T16:17:00Z", 2), ("2026-11-01T22:17:00Z", 3)):
        run = plan_run({"trigger": "schedule", "scheduled_time": fired, "execution_id": "x"}, wf)
        assert (run.run_id, run.logical_date) == (planned[interval].run_id, planned[interval].logical_date)
        assert run.trigger["scheduled_time"].startswith(fired[:19])  # when it really fired is kept too
