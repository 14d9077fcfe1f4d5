"""Trigger declarations: what starts a workflow's runs on AWS (pure: no AWS SDK, no I/O).

Two kinds, both declared on the workflow (``Workflow(..., schedule=..., triggers=[...])``):

- `Schedule`: an EventBridge Scheduler schedule, ``cron`` (EventBridge's 6-field syntax) or ``rate``,
  in a time zone, with a flexible window and a retry policy. A scheduled run gets the scheduled time
  as its logical date.
- `EventTrigger`: an EventBridge rule with an event pattern; ``params`` maps workflow parameters to
  fields of the event (``"$.detail.object.key"``). `on_s3_object_created` builds one for file arrival.

`trigger_problems(wf)` validates the declarations (called by `orchestration.validation.problems`);
`next_fire_times` previews a schedule. The deployable stack (`infra/`) and the trigger function
(`functions/trigger.py`) read the same declarations.

EventBridge cron versus classic cron (how the preview translates it, see `to_croniter`):
``cron(minutes hours day-of-month month day-of-week year)``; one of day-of-month and day-of-week
must be ``?``; day-of-week counts 1-7 from Sunday (classic cron: 0-6), ``6L`` is the last Friday of
the month and ``6#3`` the third Friday; day-of-month accepts ``L`` (last day) and ``15W`` (the
weekday nearest the 15th). The year field is applied as a filter on top of the 5-field expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestration.errors import OrchestrationError

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow

TRIGGER_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
EVENT_PATH_RE = re.compile(r"^\$(\.[A-Za-z0-9_@:/+-][A-Za-z0-9_@:/+.-]*?|\[\d+\])*$")
_PATH_STEP_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
RATE_RE = re.compile(r"^\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*$")
FILTER_NAMES = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "cidr", "wildcard"}
)
NUMERIC_OPERATORS = frozenset({"<", "<=", "=", ">=", ">"})
MAX_RETRY_ATTEMPTS = 185
MIN_EVENT_AGE, MAX_EVENT_AGE = 60, 86_400
MAX_FLEXIBLE_WINDOW = 1_440
MAX_PATTERN_BYTES = 4_096


class TriggerError(OrchestrationError):
    """A trigger declaration is unusable, or an event cannot be mapped to parameters."""


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule that starts the workflow.

    >>> Schedule(cron="0 6 ? * MON-FRI *", timezone="Europe/Paris", params={"rows": 100})
    >>> Schedule(rate="15 minutes", flexible_window_minutes=5)
    """

    cron: str | None = None  # EventBridge cron body, 6 fields: "0 6 * * ? *"
    rate: str | None = None  # "1 hour", "15 minutes", "1 day"
    timezone: str = "UTC"
    flexible_window_minutes: int | None = None  # None: fire exactly on time
    retry_attempts: int = 3  # delivery retries to the trigger function (0-185)
    max_event_age_seconds: int = 3_600  # give up delivering after this long (60-86400)
    params: Mapping[str, Any] = field(default_factory=dict)  # constant parameter values
    name: str | None = None
    enabled: bool = True
    description: str = ""

    kind = "schedule"

    @property
    def expression(self) -> str:
        """The Scheduler expression: ``cron(...)`` or ``rate(...)``."""
        return f"cron({self.cron.strip()})" if self.cron else f"rate({(self.rate or '').strip()})"


@dataclass(frozen=True)
class EventTrigger:
    """An EventBridge rule: every event matching `pattern` starts one run.

    `params` maps a workflow parameter to a path in the event (``"$.detail.order_id"``);
    `constants` gives fixed parameter values. Other parameters take their defaults.
    """

    pattern: Mapping[str, Any]
    params: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    event_bus: str = "default"
    description: str = ""

    kind = "event"


Trigger = Schedule | EventTrigger


def on_s3_object_created(
    bucket: str,
    *,
    prefix: str | None = None,
    suffix: str | None = None,
    params: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> EventTrigger:
    """File arrival: an S3 "Object Created" event for `bucket`, keys filtered by prefix and/or suffix.

    The bucket must send events to EventBridge (S3 console: Properties > Amazon EventBridge > On,
    or ``aws s3api put-bucket-notification-configuration --bucket B
    --notification-configuration '{"EventBridgeConfiguration": {}}'``). Map the object key to a
    parameter with ``params={"key": "$.detail.object.key"}``.
    """
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if prefix and suffix:
        # A list of filters is an OR; prefix AND suffix on one field needs a wildcard filter.
        escape = str.maketrans({"*": "\\*", "\\": "\\\\"})
        detail["object"] = {"key": [{"wildcard": f"{prefix.translate(escape)}*{suffix.translate(escape)}"}]}
    elif prefix:
        detail["object"] = {"key": [{"prefix": prefix}]}
    elif suffix:
        detail["object"] = {"key": [{"suffix": suffix}]}
    return EventTrigger(
        pattern={"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail},
        params=dict(params or {}),
        constants=dict(constants or {}),
        name=name,
        description=f"s3://{bucket}/{prefix or ''}*{suffix or ''} created",
    )


# -- declarations on a workflow -------------------------------------------------------------------


def declared(wf: Workflow) -> list[Any]:
    """The raw trigger declarations of a workflow: its `schedule` first, then `triggers`."""
    raw_schedule = getattr(wf, "schedule", None)
    raw_triggers = getattr(wf, "triggers", None) or ()
    out: list[Any] = [] if raw_schedule is None else [raw_schedule]
    if isinstance(raw_triggers, Schedule | EventTrigger):
        raw_triggers = [raw_triggers]
    out.extend(raw_triggers if isinstance(raw_triggers, list | tuple) else [raw_triggers])
    return out


def triggers_of(wf: Workflow) -> dict[str, Trigger]:
    """Valid declarations by name (``schedule``, ``event``, then ``schedule_2``, ``event_2``, ...)."""
    named: dict[str, Trigger] = {}
    counts = {"schedule": 0, "event": 0}
    for trig in declared(wf):
        if not isinstance(trig, Schedule | EventTrigger):
            continue
        counts[trig.kind] += 1
        default = trig.kind if counts[trig.kind] == 1 else f"{trig.kind}_{counts[trig.kind]}"
        named.setdefault(trig.name or default, trig)
    return named


def trigger_problems(wf: Workflow) -> list[str]:
    """Every problem with the workflow's trigger declarations (empty when they are usable)."""
    out: list[str] = []
    raw_triggers = getattr(wf, "triggers", None)
    if raw_triggers is not None and not isinstance(raw_triggers, list | tuple | Schedule | EventTrigger):
        out.append(
            f"triggers={raw_triggers!r} must be a list of Schedule(...) / EventTrigger(...): write triggers=[...]"
        )
        return out
    seen: dict[str, int] = {}
    counts = {"schedule": 0, "event": 0}
    for trig in declared(wf):
        if not isinstance(trig, Schedule | EventTrigger):
            where = "schedule=" if trig is getattr(wf, "schedule", None) else "triggers="
            out.append(
                f"{where} got {trig!r}: use Schedule(cron=... or rate=...), EventTrigger(pattern=...) or "
                "on_s3_object_created(bucket, ...) from orchestration.triggers"
            )
            continue
        counts[trig.kind] += 1
        default = trig.kind if counts[trig.kind] == 1 else f"{trig.kind}_{counts[trig.kind]}"
        name = trig.name or default
        if not isinstance(name, str) or not TRIGGER_NAME_RE.match(name):
            out.append(
                f"trigger name {name!r} is not allowed: use 1-32 letters, digits, '_' or '-', starting "
                "with a letter (it becomes part of AWS resource names and run ids)"
            )
        seen[name] = seen.get(name, 0) + 1
        label = f"{trig.kind} trigger {name!r}"
        if isinstance(trig, Schedule):
            out.extend(schedule_problems(trig, label))
            constants = dict(trig.params) if isinstance(trig.params, Mapping) else {}
            out.extend(_param_problems(wf, label, constants, {}, "Schedule(params={'%s': ...})"))
        else:
            out.extend(pattern_problems(trig.pattern, label))
            paths = trig.params if isinstance(trig.params, Mapping) else {}
            if not isinstance(trig.params, Mapping):
                out.append(f"{label}: params={trig.params!r} must map parameter names to event paths")
            if not isinstance(trig.constants, Mapping):
                out.append(f"{label}: constants={trig.constants!r} must map parameter names to values")
            for param, path in paths.items():
                if not isinstance(path, str) or not EVENT_PATH_RE.match(path):
                    out.append(
                        f"{label}: parameter {param!r} maps to {path!r}, which is not an event path: write "
                        "'$.detail.field' (dots and [index] steps)"
                    )
            constants = dict(trig.constants) if isinstance(trig.constants, Mapping) else {}
            out.extend(
                _param_problems(
                    wf, label, constants, paths, "params={'%s': '$.detail.<field>'} or constants={'%s': ...}"
                )
            )
    for name, count in sorted(seen.items()):
        if count > 1:
            out.append(f"trigger name {name!r} is used {count} times: give each trigger a unique name=")
    return out


def _param_problems(
    wf: Workflow, label: str, constants: Mapping[str, Any], paths: Mapping[str, Any], how: str
) -> list[str]:
    """Unknown names, overlaps and missing required parameters; constant values are type-checked."""
    out: list[str] = []
    fields = wf.params_model.model_fields
    known = ", ".join(fields) or "none"
    for param in [*paths, *constants]:
        if param not in fields:
            out.append(f"{label} sets unknown parameter {param!r} (known parameters: {known})")
    for param in sorted(set(paths) & set(constants)):
        out.append(f"{label} sets parameter {param!r} both from the event and as a constant: keep one")
    for param, f in fields.items():
        if f.is_required() and param not in paths and param not in constants:
            fix = how.replace("%s", param)
            out.append(f"{label} leaves required parameter {param!r} unset: give it a value with {fix}")
    if not out and constants:
        # Type-check the constants; parameters that come from the event get stand-in values.
        try:
            wf.params_model.model_validate({**_placeholders(wf, paths), **constants})
        except Exception as exc:  # pydantic.ValidationError
            for err in getattr(exc, "errors", list)():
                loc = ".".join(str(p) for p in err.get("loc", ()))
                if loc not in paths:
                    out.append(f"{label}: parameter {loc!r} = {err.get('input')!r}: {err.get('msg')}")
    return out


def _placeholders(wf: Workflow, paths: Mapping[str, Any]) -> dict[str, Any]:
    """Stand-in values for parameters that come from the event (only their presence matters here)."""
    out: dict[str, Any] = {}
    for name in paths:
        f = wf.params_model.model_fields.get(name)
        if f is None:
            continue
        out[name] = f.default if not f.is_required() else _sample(f.annotation)
    return out


def _sample(annotation: Any) -> Any:
    from pydantic import TypeAdapter

    candidates: tuple[Any, ...] = ("x", 0, 0.0, False, [], {})
    for candidate in candidates:
        try:
            return TypeAdapter(annotation).validate_python(candidate)
        except Exception:
            continue
    return None


# -- schedules --------------------------------------------------------------------------------------


def schedule_problems(s: Schedule, label: str = "schedule") -> list[str]:
    out: list[str] = []
    if (s.cron is None) == (s.rate is None):
        out.append(
            f"{label}: give exactly one of cron= or rate= (got cron={s.cron!r}, rate={s.rate!r}), e.g. "
            "Schedule(cron='0 6 * * ? *') or Schedule(rate='1 hour')"
        )
    elif s.cron is not None:
        try:
            parse_cron(s.cron)
        except TriggerError as exc:
            out.append(f"{label}: {exc}")
    else:
        try:
            parse_rate(str(s.rate))
        except TriggerError as exc:
            out.append(f"{label}: {exc}")
    try:
        zone(s.timezone)
    except TriggerError as exc:
        out.append(f"{label}: {exc}")
    w = s.flexible_window_minutes
    if w is not None and not _int_in(w, 1, MAX_FLEXIBLE_WINDOW):
        out.append(
            f"{label}: flexible_window_minutes={w!r} must be None (fire on time) or an integer from 1 to "
            f"{MAX_FLEXIBLE_WINDOW}"
        )
    if not _int_in(s.retry_attempts, 0, MAX_RETRY_ATTEMPTS):
        out.append(f"{label}: retry_attempts={s.retry_attempts!r} must be an integer from 0 to {MAX_RETRY_ATTEMPTS}")
    if not _int_in(s.max_event_age_seconds, MIN_EVENT_AGE, MAX_EVENT_AGE):
        out.append(
            f"{label}: max_event_age_seconds={s.max_event_age_seconds!r} must be an integer from "
            f"{MIN_EVENT_AGE} to {MAX_EVENT_AGE} (24 hours)"
        )
    if not isinstance(s.params, Mapping):
        out.append(f"{label}: params={s.params!r} must be a dict of parameter values")
    return out


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TriggerError(
            f"timezone={name!r} is not an IANA time zone: use e.g. 'UTC', 'Europe/Paris' or 'America/New_York'"
        ) from None


def parse_rate(rate: str) -> timedelta:
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


_CRON_FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_FIELD_RE = {
    "minutes": re.compile(r"^(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?(,(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?)*$"),
    "hours": re.compile(r"^(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?(,(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?)*$"),
    "day-of-month": re.compile(
        r"^(\?|L|\d{1,2}W|(\*|\d{1,2}(-\d{1,2})?)(/\d{1,2})?(,\d{1,2}(-\d{1,2})?(/\d{1,2})?)*)$"
    ),
    "month": re.compile(
        rf"^(\*|(\d{{1,2}}|{_MONTHS})(-(\d{{1,2}}|{_MONTHS}))?)(/\d{{1,2}})?(,(\d{{1,2}}|{_MONTHS})(-(\d{{1,2}}|{_MONTHS}))?)*$"
    ),
    "day-of-week": re.compile(
        rf"^(\?|[1-7]L|[1-7]#[1-5]|(\*|([1-7]|{_DAYS})(-([1-7]|{_DAYS}))?)(/\d)?(,([1-7]|{_DAYS})(-([1-7]|{_DAYS}))?)*)$"
    ),
    "year": re.compile(r"^(\*|\d{4}(-\d{4})?)(/\d{1,3})?(,\d{4}(-\d{4})?)*$"),
}
_RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "year": (1970, 2199),
}


@dataclass(frozen=True)
class Cron:
    fields: tuple[str, str, str, str, str, str]

    @property
    def text(self) -> str:
        return " ".join(self.fields)


def parse_cron(expr: str) -> Cron:
    """Check an EventBridge cron body (the part inside ``cron(...)``)."""
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
    for name, value in zip(_CRON_FIELDS, parts, strict=True):
        if not _FIELD_RE[name].match(value):
            raise TriggerError(f"cron={expr!r}: the {name} field {value!r} is not valid EventBridge cron syntax")
        low, high = _RANGES.get(name, (0, 10_000))
        if name in _RANGES:
            for num in re.findall(r"(?<![/#\d])\d+", value):
                if not low <= int(num) <= high:
                    raise TriggerError(f"cron={expr!r}: {num} is out of range for {name} ({low}-{high})")
    dom, dow = parts[2], parts[4]
    if (dom == "?") == (dow == "?"):
        raise TriggerError(
            f"cron={expr!r}: exactly one of day-of-month ({dom!r}) and day-of-week ({dow!r}) must be '?', "
            "e.g. '0 6 * * ? *' (every day) or '0 6 ? * MON-FRI *' (weekdays)"
        )
    return Cron(tuple(parts))  # type: ignore[arg-type]


def _five_to_six(parts: list[str]) -> str:
    minute, hour, dom, month, dow = parts
    if dow == "*":
        return f"{minute} {hour} {dom} {month} ? *"
    shifted = re.sub(r"\d", lambda m: str(int(m.group()) % 7 + 1), dow)
    return f"{minute} {hour} ? {month} {shifted} *"


def to_croniter(cron: Cron) -> tuple[str, str]:
    """The 5-field classic expression croniter understands, plus the year field (applied as a filter)."""
    minute, hour, dom, month, dow, year = cron.fields
    dom = "*" if dom == "?" else dom
    if dow == "?":
        dow = "*"
    elif m := re.fullmatch(r"([1-7])L", dow):
        dow = f"L{int(m.group(1)) - 1}"  # last <weekday> of the month; croniter counts 0-6 from Sunday
    elif m := re.fullmatch(r"([1-7])#([1-5])", dow):
        dow = f"{int(m.group(1)) - 1}#{m.group(2)}"
    else:
        dow = re.sub(r"(?<![/\d])([1-7])", lambda m: str(int(m.group(1)) - 1), dow)
    return f"{minute} {hour} {dom} {month} {dow}", year


def _year_ok(year_field: str, year: int) -> bool:
    for part in year_field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            low, high = 1970, 2199
        elif "-" in base:
            a, b = base.split("-")
            low, high = int(a), int(b)
        else:
            low = high = int(base)
            if step:
                high = 2199
        if low <= year <= high and (not step or (year - low) % int(step) == 0):
            return True
    return False


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
    from croniter import croniter

    five, year_field = to_croniter(parse_cron(str(s.cron)))
    try:
        it = croniter(five, start.replace(second=0, microsecond=0))
    except Exception as exc:  # croniter's own errors: unsupported corner of the syntax
        raise TriggerError(f"cron={s.cron!r} cannot be previewed ({exc}); it may still be valid on AWS") from None
    out: list[datetime] = []
    for _ in range(100_000):
        moment: datetime = it.get_next(datetime)
        if moment.year > 2199:
            break
        if moment > start and _year_ok(year_field, moment.year):
            out.append(moment)
            if len(out) == count:
                break
    return out


# -- event patterns ---------------------------------------------------------------------------------


def pattern_problems(pattern: Any, label: str = "event trigger") -> list[str]:
    """Structural checks of an EventBridge event pattern (matching itself is EventBridge's)."""
    if not isinstance(pattern, Mapping) or not pattern:
        return [
            f"{label}: pattern={pattern!r} must be a non-empty dict, e.g. "
            "{'source': ['my.app'], 'detail-type': ['OrderPlaced']}"
        ]
    out: list[str] = []
    _check_node(pattern, label, "", out)
    try:
        import json

        size = len(json.dumps(pattern))
    except (TypeError, ValueError):
        out.append(f"{label}: the pattern is not JSON: use only dicts, lists, strings, numbers and booleans")
    else:
        if size > MAX_PATTERN_BYTES:
            out.append(f"{label}: the pattern takes {size} bytes; EventBridge accepts {MAX_PATTERN_BYTES}")
    return out


def _check_node(node: Mapping[str, Any], label: str, where: str, out: list[str]) -> None:
    for key, value in node.items():
        path = f"{where}.{key}" if where else str(key)
        if key == "$or":
            subs = value if isinstance(value, list) else []
            if len(subs) < 2 or not all(isinstance(v, Mapping) for v in subs):
                out.append(f"{label}: '$or' at {where or 'the top'} must be a list of at least two patterns")
            else:
                for sub in subs:
                    _check_node(sub, label, where, out)
        elif isinstance(value, Mapping):
            if not value:
                out.append(f"{label}: {path!r} is an empty object: remove it or give it fields")
            else:
                _check_node(value, label, path, out)
        elif isinstance(value, list):
            if not value:
                out.append(f"{label}: {path!r} is an empty list: EventBridge rejects empty arrays")
            for f in value:
                _check_filter(f, label, path, out)
        else:
            out.append(
                f"{label}: {path!r} = {value!r}: pattern values must be lists of allowed values, e.g. "
                f"{{{key!r}: [{value!r}]}}"
            )


def _check_filter(f: Any, label: str, path: str, out: list[str]) -> None:
    if f is None or isinstance(f, str | int | float | bool):
        return
    if not isinstance(f, Mapping) or len(f) != 1:
        out.append(
            f"{label}: {path!r} has filter {f!r}: a filter is a value or a one-key object like {{'prefix': 'x'}}"
        )
        return
    name, arg = next(iter(f.items()))
    if name not in FILTER_NAMES:
        choices = ", ".join(sorted(FILTER_NAMES))
        out.append(f"{label}: {path!r} uses unknown filter {name!r}: use one of {choices}")
    elif name == "exists" and not isinstance(arg, bool):
        out.append(f"{label}: {path!r}: 'exists' takes true or false, got {arg!r}")
    elif name == "numeric":
        ok = (
            isinstance(arg, list)
            and len(arg) in (2, 4)
            and all(
                (isinstance(arg[i], str) and arg[i] in NUMERIC_OPERATORS)
                and isinstance(arg[i + 1], int | float)
                and not isinstance(arg[i + 1], bool)
                for i in range(0, len(arg), 2)
            )
        )
        if not ok:
            out.append(
                f"{label}: {path!r}: 'numeric' takes [op, number] or [op, number, op, number] with op one of "
                f"< <= = >= >, got {arg!r}"
            )
    elif name in ("prefix", "suffix", "wildcard") and not isinstance(arg, str | Mapping):
        out.append(f"{label}: {path!r}: {name!r} takes a string, got {arg!r}")


# -- mapping events to parameters --------------------------------------------------------------------

_MISSING = object()


def event_value(event: Mapping[str, Any], path: str) -> Any:
    """The value at `path` ('$.detail.a[0].b') in `event`, or raise KeyError when absent."""
    if not EVENT_PATH_RE.match(path):
        raise TriggerError(f"{path!r} is not an event path: write '$.detail.field'")
    node: Any = event
    for key, index in _PATH_STEP_RE.findall(path[1:]):
        if key:
            if not isinstance(node, Mapping) or key not in node:
                raise KeyError(path)
            node = node[key]
        else:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                raise KeyError(path)
            node = node[i]
    return node


def event_params(trigger: EventTrigger, event: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Parameter values for a run started by `event`: constants plus mapped fields; and missing paths."""
    values: dict[str, Any] = dict(trigger.constants)
    missing: list[str] = []
    for param, path in trigger.params.items():
        try:
            values[param] = event_value(event, path)
        except KeyError:
            missing.append(f"{param} <- {path}")
    return values, missing


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def describe(trig: Trigger) -> str:
    """One line for listings: ``cron(0 6 * * ? *) Europe/Paris`` or the pattern."""
    if isinstance(trig, Schedule):
        window = f", flexible {trig.flexible_window_minutes} min" if trig.flexible_window_minutes else ""
        return f"{trig.expression} {trig.timezone}{window}"
    import json

    return json.dumps(dict(trig.pattern), sort_keys=True)


def all_triggers(workflows: Iterable[Workflow]) -> list[tuple[Workflow, str, Trigger]]:
    return [(wf, name, trig) for wf in workflows for name, trig in triggers_of(wf).items()]
