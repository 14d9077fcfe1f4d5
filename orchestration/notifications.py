"""Notifications: who is told what about a workflow's runs (pure: no AWS SDK).

    Workflow("etl", notify=[
        on_failure(Email("data-team@example.com"), Webhook("https://hooks.example.com/orch", secret="orch/hook")),
        on_success(Slack(secret="orch/slack-url")),
        on_start(Webhook("https://hooks.example.com/orch")),
        on_duration_over(Email("oncall@example.com"), minutes=45),
    ])

A run is notified at most once per kind (and per repair pass), even when its status events come
twice. SUCCEEDED_WITH_FAILURES (a failure a handler absorbed) counts as a failure unless
`on_failure(..., partial=False)`. `on_duration_over` fires while the run is still going, once it has
run that long. What is sent is `payload()`: run id, workflow, status, times, failed task names and
the run's error; never parameter values or outputs. A webhook with a `secret` (the name of a Secrets
Manager secret holding the key) is signed: `X-Orch-Signature: sha256=<hex HMAC-SHA256 of
"<X-Orch-Timestamp>.<body>">`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from orchestration.errors import WorkflowDefinitionError
from orchestration.status import RunStatus, TaskStatus, is_ok_run

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SIGNATURE_HEADER, TIMESTAMP_HEADER, KIND_HEADER = "X-Orch-Signature", "X-Orch-Timestamp", "X-Orch-Kind"
MAX_MINUTES = 7 * 24 * 60  # a run longer than a week is beyond what a duration alert is for


class Kind(StrEnum):
    START = "start"
    SUCCESS = "success"
    FAILURE = "failure"
    DURATION = "duration"


@dataclass(frozen=True)
class Email:
    """An email address, told through the stack's notification topic (SNS; the address confirms
    its subscription once)."""

    address: str

    def describe(self) -> str:
        return f"email {self.address}"


@dataclass(frozen=True)
class Webhook:
    """An HTTPS endpoint that receives the payload as a JSON POST, signed when `secret` names a
    Secrets Manager secret holding the HMAC key. http:// is accepted for localhost only (tests)."""

    url: str
    secret: str | None = None

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.hostname}"  # never the path or query: they may hold tokens


@dataclass(frozen=True)
class Slack:
    """A Slack incoming webhook, its URL kept in the Secrets Manager secret named `secret`."""

    secret: str

    def describe(self) -> str:
        return f"slack (secret {self.secret})"


Destination = Email | Webhook | Slack


@dataclass(frozen=True)
class Notification:
    kind: Kind
    destinations: tuple[Destination, ...]
    minutes: float | None = None  # on_duration_over only
    partial: bool = True  # on_failure only: SUCCEEDED_WITH_FAILURES is a failure


def on_failure(*destinations: Destination, partial: bool = True) -> Notification:
    """When a run ends FAILED, TIMED_OUT or ABORTED (and SUCCEEDED_WITH_FAILURES unless partial=False)."""
    return Notification(Kind.FAILURE, destinations, partial=partial)


def on_success(*destinations: Destination) -> Notification:
    """When a run ends SUCCEEDED."""
    return Notification(Kind.SUCCESS, destinations)


def on_start(*destinations: Destination) -> Notification:
    """When a run starts running."""
    return Notification(Kind.START, destinations)


def on_duration_over(*destinations: Destination, minutes: float) -> Notification:
    """While a run is still going, once it has run `minutes`."""
    return Notification(Kind.DURATION, destinations, minutes=minutes)


def notification_problems(notify: Any) -> list[str]:
    """What is wrong with a workflow's `notify=` declarations, each naming the value and the fix."""
    if not isinstance(notify, list | tuple):
        return [
            f"notify={notify!r} must be a list of on_failure(...), on_success(...), on_start(...) or "
            "on_duration_over(...)"
        ]
    out: list[str] = []
    for i, n in enumerate(notify):
        where = f"notify[{i}]"
        if not isinstance(n, Notification):
            out.append(
                f"{where} is {type(n).__name__}: use on_failure(...), on_success(...), on_start(...) "
                "or on_duration_over(..., minutes=N)"
            )
            continue
        if not n.destinations:
            out.append(f"{where} ({n.kind}) has no destination: pass Email(...), Webhook(...) or Slack(...)")
        if n.kind is Kind.DURATION and not (
            isinstance(n.minutes, int | float) and not isinstance(n.minutes, bool) and 0 < n.minutes <= MAX_MINUTES
        ):
            out.append(f"{where}: minutes={n.minutes!r} must be a number of minutes above 0 and at most {MAX_MINUTES}")
        out.extend(f"{where}: {p}" for d in n.destinations for p in destination_problems(d))
    return out


def destination_problems(d: Any) -> list[str]:
    if isinstance(d, Email):
        ok = isinstance(d.address, str) and EMAIL_RE.match(d.address)
        return [] if ok else [f"Email({d.address!r}) is not an email address: write Email('team@example.com')"]
    if isinstance(d, Webhook):
        out = []
        parts = urlsplit(d.url) if isinstance(d.url, str) else None
        if parts is None or not parts.hostname or parts.scheme not in ("https", "http"):
            out.append(f"Webhook({d.url!r}) is not a URL: write Webhook('https://host/path')")
        elif parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            out.append(f"Webhook({d.url!r}) is plain http to {parts.hostname}: use https:// (http is for localhost)")
        if d.secret is not None and not (isinstance(d.secret, str) and SECRET_NAME_RE.match(d.secret)):
            out.append(f"Webhook secret={d.secret!r} is not a Secrets Manager secret name")
        return out
    if isinstance(d, Slack):
        ok = isinstance(d.secret, str) and SECRET_NAME_RE.match(d.secret)
        return [] if ok else [f"Slack(secret={d.secret!r}) must name the Secrets Manager secret holding the URL"]
    return [f"{d!r} is not a destination: use Email(...), Webhook(...) or Slack(...)"]


def check_notifications(notify: Any) -> tuple[Notification, ...]:
    problems = notification_problems(notify)
    if problems:
        raise WorkflowDefinitionError("; ".join(problems))
    return tuple(notify)


def due_at_end(notify: Iterable[Notification], status: str) -> list[Notification]:
    """The notifications a run that ended with `status` sends."""
    failed = not is_ok_run(status)
    partial = status == RunStatus.SUCCEEDED_WITH_FAILURES

    def due(n: Notification) -> bool:
        if n.kind is Kind.SUCCESS:
            return status == RunStatus.SUCCEEDED
        return n.kind is Kind.FAILURE and (failed or (partial and n.partial))

    return [n for n in notify if due(n)]


def payload(
    kind: Kind,
    run: Mapping[str, Any],
    tasks: Mapping[str, str],
    *,
    repair: int = 0,
    minutes: float | None = None,
) -> dict[str, Any]:
    """What a destination receives (documented in docs/operations.md, "Notifications"): no
    parameter value or output, ever."""
    failed = sorted(t for t, s in tasks.items() if s in (TaskStatus.FAILED, TaskStatus.UPSTREAM_FAILED))
    body: dict[str, Any] = {
        "kind": str(kind),
        "workflow": run.get("workflow"),
        "run_id": run.get("run_id"),
        "repair": repair,
        "status": run.get("status"),
        "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"),
        "logical_date": run.get("logical_date"),
        "failed_tasks": failed,
        "error": run.get("error"),
    }
    if minutes is not None:
        body["running_minutes_over"] = minutes
    return body


def sign(body: bytes, key: bytes, timestamp: str) -> str:
    """The X-Orch-Signature value of a webhook POST."""
    return "sha256=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def text(body: Mapping[str, Any]) -> str:
    """A one-line summary (Slack and email subjects)."""
    what = {
        Kind.START: "started",
        Kind.SUCCESS: "succeeded",
        Kind.FAILURE: f"ended {body.get('status')}",
        Kind.DURATION: f"is still running after {body.get('running_minutes_over')} minutes",
    }[Kind(body["kind"])]
    failed = body.get("failed_tasks") or []
    suffix = f" (failed: {', '.join(failed)})" if failed else ""
    return f"[orch] {body['workflow']} run {body['run_id']} {what}{suffix}"


def destinations_of(notify: Sequence[Notification], kind: Kind) -> list[Destination]:
    """Every destination of `kind` notifications, each once."""
    seen: dict[Destination, None] = {}
    for n in notify:
        if n.kind is kind:
            seen.update(dict.fromkeys(n.destinations))
    return list(seen)


def earliest_duration(notify: Iterable[Notification]) -> float | None:
    """The minutes of the first duration notification due (they share one notice per run)."""
    minutes = [float(n.minutes) for n in notify if n.kind is Kind.DURATION and n.minutes is not None]
    return min(minutes) if minutes else None


def secret_names(notify: Iterable[Notification]) -> list[str]:
    """The Secrets Manager secrets the destinations read (webhook keys, Slack URLs)."""
    names = {d.secret for n in notify for d in n.destinations if isinstance(d, Webhook | Slack) and d.secret}
    return sorted(names)


def email_routes(notify_by_workflow: Mapping[str, Iterable[Notification]]) -> dict[str, dict[str, list[str]]]:
    """address -> workflow -> the kinds it is told of: what each email subscription filters on."""
    routes: dict[str, dict[str, set[str]]] = {}
    for workflow, notify in notify_by_workflow.items():
        for n in notify:
            for d in n.destinations:
                if isinstance(d, Email):
                    routes.setdefault(d.address, {}).setdefault(workflow, set()).add(str(n.kind))
    return {a: {w: sorted(k) for w, k in sorted(by.items())} for a, by in sorted(routes.items())}
