"""The notifier function: sends a workflow's notifications (`orchestration.notifications`) for its runs.

On AWS each workflow that declares `notify` has its own notifier function (it loads the workflow
file, like the trigger function), fed by an EventBridge rule with the status changes of that
workflow's state machine; the local cloud hands it the same events (`local.notify`). It receives:

- a "Step Functions Execution Status Change" event: RUNNING sends the start notifications and sets a
  one-time timer (`runtime.timers`) for the earliest `on_duration_over`, at the execution's start plus
  its minutes; an end sends the end notifications (the run's status as the ledger holds it, or as the
  recorder will close it) and cancels that timer;
- its own timer's payload (`{"timer": "duration", ...}`): the duration notifications, only if the
  run is still going (the ledger says so).

Each (run, repair pass, kind) is claimed once in the ledger (`ledger.notices`) before anything is
sent, so a duplicated event sends nothing twice, nor does a redelivered invocation. Each destination
is tried up to `ATTEMPTS` times and how it fared is recorded on the notice; a destination that keeps
failing is logged (never its URL) and never fails the function (nor the run). Email goes to the
stack's notification topic once per notice, with message attributes `workflow` and `kind` that each
address's subscription filters on.
"""

from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.notices import claim_notice, record_notice
from orchestration.notifications import (
    KIND_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Destination,
    Email,
    Kind,
    Notification,
    Slack,
    destinations_of,
    due_at_end,
    earliest_duration,
    payload,
    sign,
    text,
)
from orchestration.protocol import StatusChangeDetail, parse_execution_name
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.timers import Timer, cancel_timer, set_timer
from orchestration.status import CLOSING, TERMINAL_EXECUTION, ExecutionStatus, RunStatus, is_terminal
from orchestration.times import iso, now_iso

ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 1.0)  # before the 2nd and 3rd attempt
TIMEOUT_SECONDS = 5.0
TIMER = "duration"  # the `timer` field of this function's own timer payload


@dataclass
class Senders:
    """How notifications leave: secrets by name, and the notification topic for email (None: email is
    recorded, not sent). `publish(subject, message, attributes)`."""

    secret: Callable[[str], str]
    publish: Callable[[str, str, Mapping[str, str]], None] | None = None


def run_notifier(event: Any, rt: Runtime) -> dict[str, Any]:
    """The notifier function's work: a status-change event, or its duration timer."""
    workflow = rt.need_workflow()
    notify: tuple[Notification, ...] = tuple(workflow.notify or ())
    senders = senders_of(rt)
    if isinstance(event, Mapping) and event.get("timer") == TIMER:
        run_id, repair, minutes = str(event.get("run_id")), int(event.get("repair") or 0), float(event["minutes"])
        run = _run(rt, workflow.name, run_id)
        if run is None:
            return {"action": "ignored", "run_id": run_id}
        sent = notify_duration(workflow.name, notify, run, senders, rt.ledger, minutes=minutes, repair=repair)
        return {"action": "duration", "run_id": run_id, "sent": _summary(sent)}
    detail = _detail(event)
    if detail is None or detail.status is None or detail.name is None:
        logger.warning("not an execution status change event: ignored")
        return {"action": "ignored"}
    run_id, repair = parse_execution_name(detail.name)
    run = _run(rt, workflow.name, run_id) or _unrecorded(workflow.name, run_id, detail)
    key = f"notify/{workflow.name}/{run_id}/{repair}"
    earliest = earliest_duration(notify)
    if detail.status == ExecutionStatus.RUNNING:
        run = replace(run, status=RunStatus.RUNNING)
        sent = notify_status(workflow.name, notify, run, senders, rt.ledger, repair=repair)
        armed = earliest is not None and _arm(rt, key, run, repair, earliest, _started(detail))
        return {"action": "started", "run_id": run_id, "sent": _summary(sent), "timer": armed}
    if detail.status not in TERMINAL_EXECUTION:
        return {"action": "none", "run_id": run_id}
    if earliest is not None:
        _disarm(rt, key)
    if not is_terminal(run.status):  # the recorder has not closed it yet: as it will
        ended = _ms_iso(detail.stopDate) or now_iso()
        error = run.error or (f"{detail.error}: {detail.cause}" if detail.error else None)
        run = replace(run, status=CLOSING.get(detail.status, RunStatus.SUCCEEDED), ended_at=ended, error=error)
    sent = notify_status(workflow.name, notify, run, senders, rt.ledger, repair=repair)
    return {"action": "ended", "run_id": run_id, "status": run.status, "sent": _summary(sent)}


def senders_of(rt: Runtime) -> Senders:
    if rt.sns is None or not rt.notify_topic_arn:
        return Senders(secret=read_secret)
    sns, topic = rt.sns, rt.notify_topic_arn

    def publish(subject: str, message: str, attributes: Mapping[str, str]) -> None:
        sns.publish(
            TopicArn=topic,
            Subject=subject,
            Message=message,
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

    return Senders(secret=read_secret, publish=publish)


def read_secret(name: str) -> str:
    """A Secrets Manager secret's value (Powertools; not cached: notifications are rare)."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(name, max_age=0)
    return value if isinstance(value, str) else value.decode()


def notify_status(
    workflow: str,
    notify: Sequence[Notification],
    run: RunRecord,
    senders: Senders,
    ledger: RunLedger,
    *,
    repair: int = 0,
) -> list[dict[str, Any]]:
    """Send the notifications a run's present status calls for (start, or its end)."""
    if run.status == RunStatus.RUNNING:
        kinds = [Kind.START] if destinations_of(notify, Kind.START) else []
    elif is_terminal(run.status):
        kinds = sorted({n.kind for n in due_at_end(notify, run.status)})
    else:
        kinds = []
    return [sent for kind in kinds for sent in _send(workflow, notify, run, senders, ledger, kind, repair, None)]


def notify_duration(
    workflow: str,
    notify: Sequence[Notification],
    run: RunRecord,
    senders: Senders,
    ledger: RunLedger,
    *,
    minutes: float,
    repair: int = 0,
) -> list[dict[str, Any]]:
    """The run has been going `minutes`: tell the duration notifications' destinations, if it still runs."""
    if is_terminal(run.status) or int(run.repair or 0) != repair:
        return []
    return _send(workflow, notify, run, senders, ledger, Kind.DURATION, repair, minutes)


def _send(
    workflow: str,
    notify: Sequence[Notification],
    run: RunRecord,
    senders: Senders,
    ledger: RunLedger,
    kind: Kind,
    repair: int,
    minutes: float | None,
) -> list[dict[str, Any]]:
    destinations = destinations_of(notify, kind)
    if not destinations or not claim_notice(ledger, workflow, run.run_id, repair, kind, now_iso()):
        return []
    body = payload(kind, run.as_dict(), {n: t.status for n, t in run.tasks.items()}, repair=repair, minutes=minutes)
    emails = [d for d in destinations if isinstance(d, Email)]
    results = [
        _deliver(d.describe(), functools.partial(_send_once, d, body, senders)) for d in destinations if d not in emails
    ]
    if emails:  # one message to the topic: each address's subscription filters on workflow and kind
        published = _deliver("email", lambda: _publish(body, senders))
        results += [{**published, "destination": d.describe()} for d in emails]
    record_notice(ledger, workflow, run.run_id, repair, kind, results)
    for result in results:
        if not result["ok"]:
            logger.warning(
                "a notification could not be delivered",
                extra={"run_id": run.run_id, "kind": str(kind), "destination": result["destination"]},
            )
    return results


def _deliver(destination: str, send: Callable[[], bool]) -> dict[str, Any]:
    """Try up to ATTEMPTS times: {"destination", "ok", "attempts", "error"?, "sent"?}."""
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            sent = send()
            result = {"destination": destination, "ok": True, "attempts": attempt}
            return result if sent else {**result, "sent": False}
        except _Failed as exc:
            error = str(exc)
            if not exc.retry:
                return {"destination": destination, "ok": False, "attempts": attempt, "error": error}
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS[attempt - 1])
    return {"destination": destination, "ok": False, "attempts": ATTEMPTS, "error": error}


class _Failed(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def _publish(body: Mapping[str, Any], senders: Senders) -> bool:
    """Publish to the notification topic; False when email is only recorded here (no topic)."""
    if senders.publish is None:
        return False
    attributes = {"workflow": str(body["workflow"]), "kind": str(body["kind"])}
    try:
        senders.publish(text(body)[:100], json.dumps(body, indent=2), attributes)
    except Exception as exc:  # the SNS client's errors
        raise _Failed(f"SNS: {type(exc).__name__}") from None
    return True


def _send_once(dest: Destination, body: Mapping[str, Any], senders: Senders) -> bool:
    if isinstance(dest, Slack):
        _post(_secret(senders, dest.secret), json.dumps({"text": text(body)}).encode(), {})
        return True
    assert not isinstance(dest, Email)  # published once per notice (`_publish`)
    raw = json.dumps(body, sort_keys=True).encode()
    headers = {KIND_HEADER: str(body["kind"])}
    if dest.secret is not None:
        stamp = now_iso()
        headers |= {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(raw, _secret(senders, dest.secret).encode(), stamp)}
    _post(dest.url, raw, headers)
    return True


def _secret(senders: Senders, name: str) -> str:
    try:
        return senders.secret(name)
    except Exception as exc:  # a missing or unreadable secret: retrying will not help
        raise _Failed(f"secret {name!r} could not be read ({type(exc).__name__})", retry=False) from None


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise _Failed(f"HTTP {exc.code}", retry=exc.code >= 500 or exc.code == 429) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Failed(f"unreachable ({type(reason).__name__})") from None
    if not 200 <= status < 300:
        raise _Failed(f"HTTP {status}")


# -- the duration timer ---------------------------------------------------------------------------


def _arm(rt: Runtime, key: str, run: RunRecord, repair: int, minutes: float, started: datetime) -> bool:
    """Set the run's duration timer (once per key); a run already that old is told now."""
    at = started + timedelta(minutes=minutes)
    if at <= datetime.now(UTC):
        notify = tuple(rt.need_workflow().notify)
        notify_duration(run.workflow, notify, run, senders_of(rt), rt.ledger, minutes=minutes, repair=repair)
        return False
    body = {"timer": TIMER, "run_id": run.run_id, "repair": repair, "minutes": minutes}
    try:
        return set_timer(rt, Timer(key, at, rt.function_arn or "", body))
    except Exception as exc:  # never fail the function (a redelivery would not help): say so
        logger.error("could not set the duration timer", extra={"run_id": run.run_id, "error": type(exc).__name__})
        return False


def _disarm(rt: Runtime, key: str) -> None:
    """Delete the run's duration timer, if still set (it would find the run ended and send nothing)."""
    try:
        cancel_timer(rt, key)
    except Exception as exc:
        logger.warning("could not cancel the duration timer", extra={"error": type(exc).__name__})


# -- events ---------------------------------------------------------------------------------------


def _detail(event: Any) -> StatusChangeDetail | None:
    raw = event.get("detail") if isinstance(event, Mapping) else None
    try:
        return StatusChangeDetail.model_validate(raw or {})
    except PydanticValidationError:
        return None


def _ms_iso(value: Any) -> str | None:
    if isinstance(value, int | float):
        return iso(datetime.fromtimestamp(value / 1000, UTC))
    return str(value) if value is not None else None


def _started(detail: StatusChangeDetail) -> datetime:
    value = detail.startDate
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else datetime.now(UTC)


def _run(rt: Runtime, workflow: str, run_id: str) -> RunRecord | None:
    """The run with its task summaries; None when not recorded (the run item is read first: this
    function may read its workflow's runs only, not the ledger's old layout)."""
    if rt.ledger.get_run_item(workflow, run_id) is None:
        return None
    return rt.ledger.get_run(workflow, run_id, attempts=False)


def _unrecorded(workflow: str, run_id: str, detail: StatusChangeDetail) -> RunRecord:
    """A run the ledger does not hold yet (the recorder creates it from the same event)."""
    started = _ms_iso(detail.startDate) or now_iso()
    return RunRecord(run_id=run_id, workflow=workflow, status=RunStatus.RUNNING, created_at=started, started_at=started)


def _summary(sent: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What the function returns and logs of a delivery: never a URL."""
    return [{k: r[k] for k in ("destination", "ok", "attempts") if k in r} for r in sent]
