"""EventBridge cron: the rules EventBridge adds to classic cron, and the translation to croniter.

``cron(minutes hours day-of-month month day-of-week year)``: one of day-of-month and day-of-week
must be ``?``; day-of-week counts 1-7 from Sunday (croniter: 0-6), ``6L`` is the last Friday of
the month and ``6#3`` the third Friday; day-of-month accepts ``L`` (last day) and ``15W`` (the
weekday nearest the 15th); the year field (1970-2199) is a filter on top of the other five
(checked here: croniter's own year field stops at 2099). croniter checks the syntax of the first
five fields once they are translated (`to_croniter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.errors import TriggerError

FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
MIN_YEAR, MAX_YEAR = 1970, 2199
_RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
    "year": (MIN_YEAR, MAX_YEAR),
}
_MONTHS = frozenset({"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"})
_DAYS = frozenset({"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"})
# The words each field accepts: croniter also reads words EventBridge rejects, e.g. R (a random value).
_WORDS = {
    "minutes": frozenset[str](),
    "hours": frozenset[str](),
    "day-of-month": frozenset({"L", "W"}),
    "month": _MONTHS,
    "day-of-week": _DAYS | {"L"},
}
# L, W and # stand alone in their field: "L" or "15W" (day of month), "6L" or "6#3" (day of week);
# croniter also reads "W15", "1,L" and "MON#2".
_SPECIAL_FORMS = {"day-of-month": re.compile(r"L|\d{1,2}W"), "day-of-week": re.compile(r"[1-7](L|#[1-5])")}
_FORMS = {
    "minutes": "0-59 with ',' lists, '-' ranges, '*' and '/' steps, e.g. '0/15'",
    "hours": "0-23 with ',' lists, '-' ranges, '*' and '/' steps, e.g. '8-18'",
    "day-of-month": "1-31 with lists, ranges and steps, '?', 'L' (last day) or '15W' (weekday nearest the 15th)",
    "month": "1-12 or JAN-DEC with lists, ranges and steps, e.g. 'JAN,JUL'",
    "day-of-week": "1-7 (1 is Sunday) or SUN-SAT with lists, ranges and steps, '?', '6L' (last Friday) "
    "or '6#3' (third Friday)",
    "year": "1970-2199 with lists, ranges and steps, e.g. '*', '2027' or '2027-2030'",
}
_CHARACTERS = re.compile(r"[0-9A-Z*,/#-]+")
_NUMBER = re.compile(r"(?<![/#\d])\d+")  # a value, not a step or an nth
_YEAR_PART = re.compile(r"(?:\*|(?P<first>\d{4})(?:-(?P<last>\d{4}))?)(?:/(?P<step>\d{1,3}))?")


@dataclass(frozen=True)
class Cron:
    """A checked EventBridge cron body, upper-cased, one string per field."""

    fields: tuple[str, str, str, str, str, str]


def parse_cron(expr: str) -> Cron:
    """Check an EventBridge cron body (the part inside ``cron(...)``, which may be included)."""
    text = str(expr).strip()
    if text.startswith("cron(") and text.endswith(")"):
        text = text[5:-1].strip()
    parts = text.upper().split()
    if len(parts) == 5:
        raise TriggerError(
            f"cron={expr!r} has 5 fields; EventBridge cron has 6 (minutes hours day-of-month month "
            "day-of-week year) with '?' in day-of-month or day-of-week: e.g. "
            f"{_five_to_six(parts)!r}"
        )
    if len(parts) != 6:
        raise TriggerError(
            f"cron={expr!r} has {len(parts)} fields; EventBridge cron has 6: minutes hours day-of-month "
            "month day-of-week year, e.g. '0 6 * * ? *' (06:00 every day)"
        )
    for name, value in zip(FIELDS, parts, strict=True):
        problem = _field_problem(name, value)
        if problem:
            raise TriggerError(f"cron={expr!r}: {problem}")
    dom, dow = parts[2], parts[4]
    if (dom == "?") == (dow == "?"):
        raise TriggerError(
            f"cron={expr!r}: exactly one of day-of-month ({dom!r}) and day-of-week ({dow!r}) must be '?', "
            "e.g. '0 6 * * ? *' (every day) or '0 6 ? * MON-FRI *' (weekdays)"
        )
    return Cron((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]))


def _field_problem(name: str, value: str) -> str | None:
    """What is wrong with one field (syntax, then ranges, then croniter's reading), or None."""
    if value == "?" and name in ("day-of-month", "day-of-week"):
        return None
    syntax = f"the {name} field {value!r} is not valid EventBridge cron syntax: use {_FORMS[name]}"
    if name == "year":
        spans = _year_spans(value)
        if spans is None:
            return syntax
        numbers = [bound for first, last, _ in spans for bound in (first, last)]
    elif _eventbridge_form(name, value):
        numbers = [int(n) for n in _NUMBER.findall(value)]
    else:
        return syntax
    low, high = _RANGES[name]
    for number in numbers:
        if not low <= number <= high:
            return f"{number} is out of range for {name} ({low}-{high})"
    if name != "year":
        probe = ["*"] * 5
        probe[FIELDS.index(name)] = _classic(name, value)
        from croniter import croniter  # imported when a schedule is checked, not by every task function

        if not croniter.is_valid(" ".join(probe)):
            return syntax
    return None


def _eventbridge_form(name: str, value: str) -> bool:
    """The characters, names and L/W/# forms EventBridge accepts in this field (not the year)."""
    words = set(re.findall(r"[A-Z]+", value))
    if not _CHARACTERS.fullmatch(value) or words - _WORDS[name]:
        return False
    form = _SPECIAL_FORMS.get(name)
    special = "#" in value or bool(words & {"L", "W"})
    return not special or bool(form and form.fullmatch(value))


def _year_spans(value: str) -> list[tuple[int, int, int]] | None:
    """The (first, last, step) spans of a year field, or None when it is not year syntax."""
    spans: list[tuple[int, int, int]] = []
    for part in value.split(","):
        m = _YEAR_PART.fullmatch(part)
        if not m or (m["step"] and int(m["step"]) == 0):
            return None
        if m["first"] is None:  # '*'
            first, last = MIN_YEAR, MAX_YEAR
        else:
            first = int(m["first"])
            last = int(m["last"]) if m["last"] else MAX_YEAR if m["step"] else first
        spans.append((first, last, int(m["step"] or 1)))
    return spans


def years(year_field: str) -> frozenset[int]:
    """The years a checked year field selects: ``*``, ``2027``, ``2028-2030``, ``2030/2``, lists."""
    spans = _year_spans(year_field) or []
    return frozenset(year for first, last, step in spans for year in range(first, last + 1, step))


def _classic(name: str, value: str) -> str:
    """One field in croniter's form: ``?`` is ``*``; days of week count 0-6, ``6L`` is ``L5``."""
    if value == "?":
        return "*"
    if name != "day-of-week":
        return value
    if m := re.fullmatch(r"([1-7])L", value):
        return f"L{int(m.group(1)) - 1}"
    return _NUMBER.sub(lambda m: str(int(m.group()) - 1), value)


def to_croniter(cron: Cron) -> tuple[str, str]:
    """The 5-field classic expression croniter understands, plus the year field (applied as a filter)."""
    five = " ".join(_classic(name, value) for name, value in zip(FIELDS[:5], cron.fields[:5], strict=True))
    return five, cron.fields[5]


def _five_to_six(parts: list[str]) -> str:
    minute, hour, dom, month, dow = parts
    if dow == "*":
        return f"{minute} {hour} {dom} {month} ? *"
    shifted = re.sub(r"\d", lambda m: str(int(m.group()) % 7 + 1), dow)
    return f"{minute} {hour} ? {month} {shifted} *"
