"""Continuous mode, the pure part: the declaration, its checks, run ids, spacing and backoff, and
when the watchdog leaves a chain alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration import Param, Workflow, continuous
from orchestration.ledger import RunRecord
from orchestration.ledger.chain import Chain
from orchestration.runtime.continuous import GRACE, chain_alive
from orchestration.status import RunStatus
from orchestration.triggers import Continuous, TriggerError, describe, parse_interval, triggers_of
from orchestration.triggers.continuous import backoff, chain_run_id, next_start
from orchestration.validation import problems

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def _wf(*triggers: Any, **kwargs: Any) -> Workflow:
    wf = Workflow("loop", params={"full": Param(bool, default=False)}, triggers=list(triggers), **kwargs)

    @wf.task
    def a() -> None: ...

    return wf


def test_a_continuous_declaration_is_named_continuous_and_valid() -> None:
    wf = _wf(continuous(min_interval="5 minutes", params={"full": True}))
    assert problems(wf) == []
    trig = triggers_of(wf)["continuous"]
    assert isinstance(trig, Continuous)
    assert trig.interval == timedelta(minutes=5) and trig.backoff_cap == timedelta(hours=1)
    assert describe(trig) == "continuous, min_interval 5 minutes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 second", timedelta(seconds=1)), ("30 seconds", timedelta(seconds=30)), ("2 hours", timedelta(hours=2))],
)
def test_intervals_parse_like_rates_with_seconds(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [("5", "not an interval"), ("0 seconds", "positive"), ("1 minutes", "'1 minute'"), ("2 hour", "'2 hours'")],
)
def test_bad_intervals_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(TriggerError, match=says):
        parse_interval(text)


def test_the_watchdog_looks_every_5_minutes_or_min_interval_if_longer() -> None:
    assert continuous("10 seconds").watchdog_expression == "rate(5 minutes)"
    assert continuous("2 hours").watchdog_expression == "rate(120 minutes)"


@pytest.mark.parametrize(
    ("wf_kwargs", "trigger", "says"),
    [
        ({}, continuous("5 minutes", params={"rows": 1}), "unknown parameter 'rows'"),
        ({}, continuous("2 days"), "over a day"),
        ({}, continuous("10 minutes", max_backoff="5 minutes"), "max_backoff='5 minutes' is shorter"),
        ({}, continuous("soon"), "min_interval='soon' is not an interval"),
        ({"max_concurrent_runs": 1, "on_limit": "skip"}, continuous(), "on_limit='skip' cannot be combined"),
        ({"type": "EXPRESS"}, continuous(), "needs type='STANDARD'"),
    ],
)
def test_continuous_problems_name_the_value_and_the_fix(wf_kwargs: dict[str, Any], trigger: Any, says: str) -> None:
    found = problems(_wf(trigger, **wf_kwargs))
    assert any(says in p for p in found), found


def test_a_workflow_runs_as_one_chain_at_most() -> None:
    found = problems(_wf(continuous(), continuous("5 minutes", name="other")))
    assert any("2 continuous triggers" in p for p in found), found


def test_a_limit_that_queues_is_fine_with_continuous_mode() -> None:
    assert problems(_wf(continuous(), max_concurrent_runs=1)) == []


def test_chain_run_ids_derive_from_what_they_follow() -> None:
    one = chain_run_id("loop", "continuous", 2, "c-000001-aaaa")
    assert one == chain_run_id("loop", "continuous", 2, "c-000001-aaaa")  # any reader of the end: the same
    assert one != chain_run_id("loop", "continuous", 2, "c-000001-bbbb")
    assert one.startswith("c-000002-") and len(one) <= 80


def test_the_next_run_starts_min_interval_after_the_previous_start_or_at_once() -> None:
    interval, cap = timedelta(minutes=5), timedelta(hours=1)
    short = next_start(now=T0 + timedelta(minutes=1), started_at=T0, interval=interval, failures=0, cap=cap)
    assert short == T0 + interval  # a short run: wait for the interval
    long = next_start(now=T0 + timedelta(minutes=9), started_at=T0, interval=interval, failures=0, cap=cap)
    assert long == T0 + timedelta(minutes=9)  # a long run: at once


def test_consecutive_failures_back_off_exponentially_up_to_the_cap() -> None:
    interval, cap = timedelta(minutes=5), timedelta(hours=1)
    assert [backoff(interval, n, cap) for n in range(6)] == [
        timedelta(0),
        timedelta(minutes=10),
        timedelta(minutes=20),
        timedelta(minutes=40),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    end = T0 + timedelta(minutes=30)
    assert next_start(now=end, started_at=T0, interval=interval, failures=2, cap=cap) == end + timedelta(minutes=20)
    assert backoff(interval, 10_000, cap) == cap


def _chain(next_at: datetime) -> Chain:
    return Chain("loop", "continuous", "c-000002-x", 2, next_at.isoformat())


def _run(status: RunStatus, ended: datetime | None = None) -> RunRecord:
    return RunRecord(
        run_id="c-000002-x",
        workflow="loop",
        status=status,
        created_at=T0.isoformat(),
        started_at=T0.isoformat(),
        ended_at=ended.isoformat() if ended else None,
    )


def test_the_watchdog_leaves_a_going_or_due_chain_alone_and_takes_over_a_broken_one() -> None:
    assert chain_alive(None, None, T0) is False  # no chain yet: start one
    due = _chain(T0)
    assert chain_alive(due, None, T0 + GRACE / 2) is True  # its timer is due
    assert chain_alive(due, None, T0 + GRACE) is False  # the timer never came
    assert chain_alive(due, _run(RunStatus.RUNNING), T0 + timedelta(days=1)) is True
    assert chain_alive(due, _run(RunStatus.QUEUED), T0 + timedelta(days=1)) is True
    ended = _run(RunStatus.FAILED, ended=T0)
    assert chain_alive(due, ended, T0 + GRACE / 2) is True  # the recorder is moving it on
    assert chain_alive(due, ended, T0 + GRACE) is False  # the recorder never did
