"""Trigger declarations (pure): validation messages, S3 helper, schedule preview."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration import Param, Workflow
from orchestration.triggers import (
    EventTrigger,
    Schedule,
    TriggerError,
    event_params,
    next_fire_times,
    on_s3_object_created,
    triggers_of,
)
from orchestration.validation import problems
from tests.helpers import AWS_SDK, modules_loaded_by


def _wf(**kwargs: Any) -> Workflow:
    wf = Workflow("t", params={"key": str, "n": Param(int, default=1)}, **kwargs)

    @wf.task
    def a() -> None: ...

    return wf


def test_valid_declarations_have_no_problems_and_default_names() -> None:
    wf = _wf(
        schedule=Schedule(rate="1 hour", params={"key": "k"}),
        triggers=[
            EventTrigger(pattern={"source": ["x"]}, params={"key": "$.detail.k"}),
            EventTrigger(pattern={"source": ["y"]}, constants={"key": "fixed"}),
            Schedule(cron="0 6 ? * MON-FRI *", params={"key": "k"}),
        ],
    )
    assert problems(wf) == []
    assert list(triggers_of(wf)) == ["schedule", "event", "event_2", "schedule_2"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"schedule": Schedule(cron="0 6 * * *", params={"key": "k"})}, "has 5 fields; EventBridge cron has 6"),
        ({"schedule": Schedule(cron="0 6 * * 1 *", params={"key": "k"})}, "exactly one of day-of-month"),
        ({"schedule": Schedule(cron="0 25 * * ? *", params={"key": "k"})}, "25 is out of range for hours"),
        ({"schedule": Schedule(rate="1 hours", params={"key": "k"})}, "write '1 hour'"),
        ({"schedule": Schedule(rate="5 minute", params={"key": "k"})}, "write '5 minutes'"),
        ({"schedule": Schedule(rate="weekly", params={"key": "k"})}, "is not a rate"),
        ({"schedule": Schedule(params={"key": "k"})}, "exactly one of cron= or rate="),
        ({"schedule": Schedule(rate="1 day", timezone="Mars/Base", params={"key": "k"})}, "not an IANA time zone"),
        ({"schedule": Schedule(rate="1 day", flexible_window_minutes=0, params={"key": "k"})}, "flexible_window"),
        ({"schedule": Schedule(rate="1 day", retry_attempts=200, params={"key": "k"})}, "0 to 185"),
        ({"schedule": Schedule(rate="1 day", max_event_age_seconds=10, params={"key": "k"})}, "60 to 86400"),
        ({"schedule": Schedule(rate="1 day")}, "leaves required parameter 'key' unset"),
        ({"schedule": Schedule(rate="1 day", params={"key": "k", "n": "x"})}, "parameter 'n' = 'x'"),
        ({"schedule": Schedule(rate="1 day", params={"key": "k", "zz": 1})}, "unknown parameter 'zz'"),
        ({"schedule": "daily"}, "use Schedule(cron=... or rate=...)"),
        ({"triggers": [EventTrigger(pattern={}, constants={"key": "k"})]}, "must be a non-empty dict"),
        ({"triggers": [EventTrigger(pattern={"source": "x"}, constants={"key": "k"})]}, "must be lists"),
        ({"triggers": [EventTrigger(pattern={"source": []}, constants={"key": "k"})]}, "empty list"),
        ({"triggers": [EventTrigger(pattern={"d": [{"numeric": [">"]}]}, constants={"key": "k"})]}, "'numeric' takes"),
        ({"triggers": [EventTrigger(pattern={"d": [{"regex": "x"}]}, constants={"key": "k"})]}, "unknown filter"),
        ({"triggers": [EventTrigger(pattern={"s": ["x"]}, params={"key": "detail.k"})]}, "not an event path"),
        ({"triggers": [EventTrigger(pattern={"s": ["x"]})]}, "leaves required parameter 'key' unset"),
        (
            {"triggers": [EventTrigger(pattern={"s": ["x"]}, params={"key": "$.a"}, constants={"key": "b"})]},
            "both from the event and as a constant",
        ),
        (
            {"triggers": [EventTrigger(pattern={"s": ["x"]}, constants={"key": "k"}, name="a b")]},
            "trigger name 'a b' is not allowed",
        ),
        (
            {
                "triggers": [
                    EventTrigger(pattern={"s": ["x"]}, constants={"key": "k"}, name="dup"),
                    Schedule(rate="1 day", params={"key": "k"}, name="dup"),
                ]
            },
            "trigger name 'dup' is used 2 times",
        ),
    ],
)
def test_problems_name_the_value_and_the_fix(kwargs: dict[str, Any], fragment: str) -> None:
    found = problems(_wf(**kwargs))
    assert any(fragment in p for p in found), found


def test_s3_helper_builds_the_eventbridge_pattern() -> None:
    both = on_s3_object_created("b", prefix="in/", suffix=".csv")
    assert both.pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["b"]}, "object": {"key": [{"wildcard": "in/*.csv"}]}},
    }
    assert on_s3_object_created("b", prefix="in/").pattern["detail"]["object"] == {"key": [{"prefix": "in/"}]}
    assert on_s3_object_created("b", suffix=".gz").pattern["detail"]["object"] == {"key": [{"suffix": ".gz"}]}
    assert "object" not in on_s3_object_created("b").pattern["detail"]
    assert on_s3_object_created("b", prefix="a*", suffix="x").pattern["detail"]["object"]["key"] == [
        {"wildcard": "a\\**x"}
    ]


def test_event_params_reads_paths() -> None:
    trig = EventTrigger(pattern={"s": ["x"]}, params={"key": "$.detail.items[1].k", "n": "$.detail.n"}, constants={})
    values, missing = event_params(trig, {"detail": {"items": [{}, {"k": "v"}]}})
    assert values == {"key": "v"} and missing == ["n <- $.detail.n"]


def test_next_fire_times_in_the_schedule_time_zone() -> None:
    after = datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # a Saturday
    paris = next_fire_times(Schedule(cron="0 6 ? * MON-FRI *", timezone="Europe/Paris"), 3, after=after)
    assert [t.isoformat() for t in paris] == [
        "2026-11-23T06:00:00+01:00",
        "2026-11-24T06:00:00+01:00",
        "2026-11-25T06:00:00+01:00",
    ]
    # Across the DST change (America/New_York springs forward on 2027-03-14), wall-clock time stays 09:00.
    ny = next_fire_times(
        Schedule(cron="0 9 * * ? *", timezone="America/New_York"), 2, after=datetime(2027, 3, 13, 15, 0, tzinfo=UTC)
    )
    assert [t.isoformat() for t in ny] == ["2027-03-14T09:00:00-04:00", "2027-03-15T09:00:00-04:00"]
    last_friday = next_fire_times(Schedule(cron="0 9 ? * 6L *"), 2, after=after)
    assert [t.date().isoformat() for t in last_friday] == ["2026-11-27", "2026-12-25"]
    year = next_fire_times(Schedule(cron="0 0 1 1 ? 2028-2029"), 3, after=after)
    assert [t.year for t in year] == [2028, 2029]
    rate = next_fire_times(Schedule(rate="90 minutes"), 2, after=after)
    assert [t.isoformat() for t in rate] == ["2026-11-21T01:30:00+00:00", "2026-11-21T03:00:00+00:00"]
    with pytest.raises(TriggerError, match="exactly one of"):
        next_fire_times(Schedule(), 1)


def test_the_pure_core_imports_no_aws_sdk() -> None:
    assert modules_loaded_by("import orchestration, orchestration.triggers", *AWS_SDK) == []
