"""One-time timers on the local cloud: set once per key, fired once when due, cancellable."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration.errors import OrchestrationError
from orchestration.local import LocalCloud
from orchestration.runtime.deps import Runtime
from orchestration.runtime.timers import Timer, cancel_timer, parse_at, set_timer


@pytest.fixture()
def target(cloud: LocalCloud) -> tuple[str, list[Any], threading.Event]:
    """A function in the local cloud that records what it is invoked with."""
    calls: list[Any] = []
    done = threading.Event()
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:timer-target-{len(cloud.adapter.handlers)}"

    def handler(event: Any) -> None:
        calls.append(event)
        done.set()

    cloud.adapter.register(arn, handler)
    return arn, calls, done


def _rt(cloud: LocalCloud) -> Runtime:
    return cloud._runtime()


def test_a_timer_fires_once_with_its_payload_when_due(cloud: LocalCloud, target: Any) -> None:
    arn, calls, done = target
    at = datetime.now(UTC) + timedelta(seconds=1)
    timer = Timer("run-1/next", at, arn, {"kind": "next", "run_id": "run-1"})
    assert set_timer(_rt(cloud), timer) is True
    assert set_timer(_rt(cloud), timer) is False  # a duplicated delivery sets no second timer
    assert [name for name, _ in cloud.timers.pending()].count(timer.name) == 1
    assert done.wait(5)
    assert datetime.now(UTC) >= at.replace(microsecond=0)
    time.sleep(0.3)
    assert calls == [{"kind": "next", "run_id": "run-1"}]
    assert timer.name not in [name for name, _ in cloud.timers.pending()]  # deleted after firing


def test_a_cancelled_timer_never_fires(cloud: LocalCloud, target: Any) -> None:
    arn, calls, _ = target
    timer = Timer("run-2/late", datetime.now(UTC) + timedelta(seconds=1), arn, {"x": 1})
    set_timer(_rt(cloud), timer)
    assert cancel_timer(_rt(cloud), "run-2/late") is True
    assert cancel_timer(_rt(cloud), "run-2/late") is False
    assert cloud.timers.fire_due(datetime.now(UTC) + timedelta(minutes=1)) == 0
    assert calls == []


def test_fire_due_fires_only_what_is_due_in_time_order(cloud: LocalCloud, target: Any) -> None:
    arn, calls, _ = target
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    for key, minutes in (("b", 2), ("a", 1), ("c", 30)):
        set_timer(_rt(cloud), Timer(f"order/{key}", base + timedelta(minutes=minutes), arn, {"key": key}))
    assert cloud.timers.fire_due(base + timedelta(minutes=5)) == 2
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(c["key"] for c in calls) == ["a", "b"]
    assert cancel_timer(_rt(cloud), "order/c") is True


def test_timer_names_and_expressions_are_what_scheduler_accepts() -> None:
    timer = Timer("x" * 500, datetime(2026, 3, 29, 1, 30, 5, 900, tzinfo=UTC), "arn", {})
    assert len(timer.name) <= 64 and timer.name.replace("-", "").isalnum()
    assert timer.expression == "at(2026-03-29T01:30:05)"
    assert parse_at(timer.expression) == datetime(2026, 3, 29, 1, 30, 5, tzinfo=UTC)
    assert parse_at("rate(1 minute)") is None and parse_at("at(garbage)") is None


def test_a_function_without_timer_settings_says_what_is_missing(cloud: LocalCloud) -> None:
    with pytest.raises(OrchestrationError, match="ORCH_TIMER_GROUP"):
        set_timer(Runtime(ledger=cloud.ledger), Timer("k", datetime.now(UTC), "arn", {}))
