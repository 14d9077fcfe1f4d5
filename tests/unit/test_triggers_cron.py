"""EventBridge cron: what is accepted, what is refused (with the value and the fix), how it is previewed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.errors import OrchestrationError
from orchestration.triggers import Schedule, TriggerError, next_fire_times, parse_cron, to_croniter
from orchestration.triggers.cron import years


@pytest.mark.parametrize(
    "expr",
    [
        "0 6 * * ? *",
        "cron(0 6 * * ? *)",
        "0 6 ? * MON-FRI *",
        "0 0 ? * mon-fri *",
        "0 0 ? * FRI-MON *",
        "0 0 ? * SUN-SAT/2 *",
        "0 0 ? * 1,7 *",
        "0 9 ? * 6L *",
        "0 9 ? * 6#3 *",
        "15 10 L * ? 2027",
        "0 0 15W * ? *",
        "*/5 * * * ? *",
        "0/15 * * * ? *",
        "0,30 8-18/2 ? * MON-FRI *",
        "0 0 1 JAN-MAR ? *",
        "0 0 1 jan,jul ? *",
        "0 0 1/2 * ? *",
        "0 0 1 1 ? 2028-2029",
        "0 0 1 1 ? 2030/2",
        "0 0 1 1 ? */5",
        "0 0 1 1 ? 2025,2027",
        "0 0 1 1 ? 1970",
        "0 0 1 1 ? 2199",
    ],
)
def test_valid_eventbridge_cron(expr: str) -> None:
    assert len(parse_cron(expr).fields) == 6


# What the message says is wrong (after the value: it starts with cron='...').
WRONG = {
    "0 6 * * *": "has 5 fields; EventBridge cron has 6",
    "0 6 * * 1-5": "has 5 fields",
    "0 6 * * 1 * 2": "has 7 fields",
    "0 6 * * 1 *": "exactly one of day-of-month ('*') and day-of-week ('1') must be '?'",
    "0 6 ? * ? *": "exactly one of day-of-month",
    "60 0 * * ? *": "60 is out of range for minutes (0-59)",
    "0 24 * * ? *": "24 is out of range for hours (0-23)",
    "0 0 32 * ? *": "32 is out of range for day-of-month (1-31)",
    "0 0 0 * ? *": "0 is out of range for day-of-month (1-31)",
    "0 0 1 13 ? *": "13 is out of range for month (1-12)",
    "0 0 ? * 0 *": "0 is out of range for day-of-week (1-7)",
    "0 0 ? * 8L *": "the day-of-week field '8L' is not valid",
    "0 0 1 1 ? 1969": "1969 is out of range for year (1970-2199)",
    "0 0 1 1 ? 2100-2200": "2200 is out of range for year (1970-2199)",
    "H 0 * * ? *": "the minutes field 'H' is not valid",
    "R 0 * * ? *": "the minutes field 'R' is not valid",
    "0 ? * * ? *": "the hours field '?' is not valid",
    "0 0 W * ? *": "the day-of-month field 'W' is not valid",
    "0 0 W15 * ? *": "the day-of-month field 'W15' is not valid",
    "0 0 LW * ? *": "the day-of-month field 'LW' is not valid",
    "0 0 L-2 * ? *": "the day-of-month field 'L-2' is not valid",
    "0 0 1,L * ? *": "the day-of-month field '1,L' is not valid",
    "0 0 15W,20 * ? *": "the day-of-month field '15W,20' is not valid",
    "0 0 1-31/0 * ? *": "the day-of-month field '1-31/0' is not valid",
    "0 0 * FOO ? *": "the month field 'FOO' is not valid",
    "0 0 ? * L *": "the day-of-week field 'L' is not valid",
    "0 0 ? * 1#6 *": "the day-of-week field '1#6' is not valid",
    "0 0 ? * MON#2 *": "the day-of-week field 'MON#2' is not valid",
    "0 0 ? * 6L,2 *": "the day-of-week field '6L,2' is not valid",
    "0 0 ? * FUNDAY *": "the day-of-week field 'FUNDAY' is not valid",
    "0 0 * * ? 20": "the year field '20' is not valid",
    "0 0 * * ? */0": "the year field '*/0' is not valid",
    "0 0 * * ? 2020-20": "the year field '2020-20' is not valid",
}
# The fix it suggests.
FIX = {
    "0 6 * * *": "e.g. '0 6 * * ? *'",
    "0 6 * * 1-5": "e.g. '0 6 ? * 2-6 *'",
    "0 6 * * 1 * 2": "'0 6 * * ? *'",
    "0 0 ? * 8L *": "'6L' (last Friday)",
    "H 0 * * ? *": "use 0-59",
    "0 0 W * ? *": "'15W' (weekday nearest the 15th)",
    "0 0 * FOO ? *": "JAN-DEC",
    "0 0 ? * L *": "'6L' (last Friday)",
    "0 0 ? * 1#6 *": "'6#3' (third Friday)",
    "0 0 * * ? 20": "1970-2199",
}


@pytest.mark.parametrize(("expr", "fragment"), [*WRONG.items(), *FIX.items()])
def test_invalid_cron_names_the_value_and_the_fix(expr: str, fragment: str) -> None:
    with pytest.raises(TriggerError) as caught:
        parse_cron(expr)
    message = str(caught.value)
    assert message.startswith(f"cron={expr!r}"), message
    assert fragment in message, message
    assert isinstance(caught.value, OrchestrationError)


@pytest.mark.parametrize(
    ("expr", "classic", "years"),
    [
        ("0 6 ? * MON-FRI *", "0 6 * * MON-FRI", "*"),
        ("0 6 ? * 2-6 *", "0 6 * * 1-5", "*"),
        ("0 0 ? * 1,7 *", "0 0 * * 0,6", "*"),
        ("0 0 ? * 1-7/2 *", "0 0 * * 0-6/2", "*"),
        ("0 9 ? * 6L *", "0 9 * * L5", "*"),
        ("0 9 ? * 6#3 *", "0 9 * * 5#3", "*"),
        ("0 0 ? * 2#1 *", "0 0 * * 1#1", "*"),
        ("0 0 ? jan sun *", "0 0 * JAN SUN", "*"),
        ("0 0 15W * ? 2030/2", "0 0 15W * *", "2030/2"),
        ("cron(15 10 L * ? 2027)", "15 10 L * *", "2027"),
    ],
)
def test_translation_to_classic_cron(expr: str, classic: str, years: str) -> None:
    assert to_croniter(parse_cron(expr)) == (classic, years)


def test_year_field() -> None:
    assert years("*") == frozenset(range(1970, 2200))
    assert years("2030/5") == frozenset(range(2030, 2200, 5))
    assert years("*/100") == {1970, 2070, 2170}
    assert years("2025,2027-2028") == {2025, 2027, 2028}


def _dates(cron: str, after: datetime, count: int = 3) -> list[str]:
    return [t.date().isoformat() for t in next_fire_times(Schedule(cron=cron), count, after=after)]


def test_preview_of_l_w_and_nth_weekday() -> None:
    may = datetime(2027, 5, 1, tzinfo=UTC)  # 2027-05-01 is a Saturday, 05-15 a Saturday, 08-15 a Sunday
    assert _dates("0 0 1W * ? *", may, 1) == ["2027-05-03"]  # W does not cross into April
    assert _dates("0 0 15W 5,8 ? *", may, 2) == ["2027-05-14", "2027-08-16"]
    assert _dates("0 0 L 2 ? *", may, 2) == ["2028-02-29", "2029-02-28"]
    assert _dates("0 0 ? * 2#1 *", may, 2) == ["2027-05-03", "2027-06-07"]  # first Monday
    assert _dates("0 12 ? JAN,JUL 1L *", may, 2) == ["2027-07-25", "2028-01-30"]  # last Sunday
    assert _dates("0 0 1 1 ? 2030/5", may, 3) == ["2030-01-01", "2035-01-01", "2040-01-01"]
    assert _dates("0 0 1 1 ? 2025,2027", may) == []  # 2027-01-01 is before `after`


def test_a_day_that_never_comes_cannot_be_previewed() -> None:
    with pytest.raises(TriggerError, match="cannot be previewed"):
        next_fire_times(Schedule(cron="0 0 30 2 ? *"), 1)
