"""One-time wake-ups: an EventBridge Scheduler ``at()`` schedule that invokes a platform function once.

Platform functions set timers for what must happen later without anything running meanwhile (the
next run of a continuous workflow, the end of a file batch's quiet window, a duration-over
notification). A timer's name is derived from what it is for, so setting it twice (a retried or
duplicated delivery) creates one schedule; the schedule deletes itself after it fires
(``ActionAfterCompletion=DELETE``). Whatever a timer wakes up must check that it is still wanted:
a timer may fire late, and its target is invoked at least once.

On AWS the schedules live in the stack's schedule group (`Env.TIMER_GROUP`) and invoke their target
with the stack's timer role (`Env.TIMER_ROLE_ARN`); locally `orchestration.local.timers` fires them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.runtime.deps import Runtime
from orchestration.runtime.registry import Env

AT_FORMAT = "%Y-%m-%dT%H:%M:%S"  # Scheduler's at() expression, in the schedule's time zone (UTC here)
NAME_PREFIX = "orch-t-"


@dataclass(frozen=True)
class Timer:
    """Deliver `payload` to the function `target_arn` at `at` (UTC), once."""

    key: str  # what the timer is for: equal keys are one timer
    at: datetime
    target_arn: str
    payload: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The schedule's name (Scheduler allows 64 of ``[0-9A-Za-z_.-]``)."""
        return NAME_PREFIX + hashlib.sha256(self.key.encode()).hexdigest()[:40]

    @property
    def expression(self) -> str:
        return f"at({self.at.astimezone(UTC).strftime(AT_FORMAT)})"


def parse_at(expression: str) -> datetime | None:
    """The UTC time of an ``at(...)`` expression; None for other expressions."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    try:
        return datetime.strptime(expression[3:-1], AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _need(rt: Runtime) -> tuple[Any, str, str]:
    if rt.scheduler is None or not rt.timer_group or not rt.timer_role_arn:
        raise OrchestrationError(
            f"this function cannot set timers: it needs a scheduler client, {Env.TIMER_GROUP} and "
            f"{Env.TIMER_ROLE_ARN} (redeploy the stack)"
        )
    return rt.scheduler, rt.timer_group, rt.timer_role_arn


def set_timer(rt: Runtime, timer: Timer) -> bool:
    """Create the timer's schedule; False when a timer with that key is already set."""
    scheduler, group, role = _need(rt)
    try:
        scheduler.create_schedule(
            Name=timer.name,
            GroupName=group,
            ScheduleExpression=timer.expression,
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": timer.target_arn,
                "RoleArn": role,
                "Input": json.dumps(dict(timer.payload), sort_keys=True),
                "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3_600},
            },
        )
    except scheduler.exceptions.ConflictException:
        return False
    return True


def cancel_timer(rt: Runtime, key: str) -> bool:
    """Delete the timer set for `key`; False when there is none (already fired or never set)."""
    scheduler, group, _ = _need(rt)
    name = Timer(key, datetime.now(UTC), "", {}).name
    try:
        scheduler.delete_schedule(Name=name, GroupName=group)
    except scheduler.exceptions.ResourceNotFoundException:
        return False
    return True
