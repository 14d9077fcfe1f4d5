"""Sending a workflow's notifications (`orchestration.notifications`) for one of its runs.

`notify_status` runs when the run starts or ends, `notify_duration` when a run has been going for a
notification's `minutes` (it sends nothing once the run has ended). Each (run, repair pass, kind) is
claimed once in the ledger (`ledger.notices`) before anything is sent, so a duplicated status event
sends nothing twice. Each destination is tried up to `ATTEMPTS` times; how each fared is recorded on
the notice, and a destination that keeps failing never fails the caller (nor the run).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.notices import claim_notice, record_notice
from orchestration.model import Workflow
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
    payload,
    sign,
    text,
)
from orchestration.runtime.log import logger
from orchestration.status import RunStatus, is_terminal
from orchestration.times import now_iso

ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 1.0)  # before the 2nd and 3rd attempt
TIMEOUT_SECONDS = 5.0


@dataclass
class Senders:
    """How notifications leave: secrets by name, SNS for email (None: email is recorded, not sent)."""

    secret: Callable[[str], str]
    publish_email: Callable[[str, str, str], None] | None = None  # (address, subject, message)


def notify_status(
    workflow: Workflow, run: RunRecord, senders: Senders, ledger: RunLedger, *, repair: int = 0
) -> list[dict[str, Any]]:
    """Send the notifications a run's present status calls for (start, or its end)."""
    notify: tuple[Notification, ...] = tuple(getattr(workflow, "notify", ()))
    if not notify:
        return []
    if run.status == RunStatus.RUNNING:
        kinds = [Kind.START] if destinations_of(notify, Kind.START) else []
    elif is_terminal(run.status):
        kinds = sorted({n.kind for n in due_at_end(notify, run.status)})
    else:
        kinds = []
    return [sent for kind in kinds for sent in _send(workflow, run, senders, ledger, kind, repair, None)]


def notify_duration(
    workflow: Workflow, run: RunRecord, senders: Senders, ledger: RunLedger, *, minutes: float, repair: int = 0
) -> list[dict[str, Any]]:
    """The run has been going `minutes`: tell the duration notifications' destinations, if it still runs."""
    if is_terminal(run.status):
        return []
    return _send(workflow, run, senders, ledger, Kind.DURATION, repair, minutes)


def _send(
    workflow: Workflow,
    run: RunRecord,
    senders: Senders,
    ledger: RunLedger,
    kind: Kind,
    repair: int,
    minutes: float | None,
) -> list[dict[str, Any]]:
    destinations = destinations_of(tuple(getattr(workflow, "notify", ())), kind)
    if not destinations or not claim_notice(ledger, workflow.name, run.run_id, repair, kind, now_iso()):
        return []
    body = payload(kind, run.as_dict(), {n: t.status for n, t in run.tasks.items()}, repair=repair, minutes=minutes)
    results = [_deliver(d, body, senders) for d in destinations]
    record_notice(ledger, workflow.name, run.run_id, repair, kind, results)
    for result in results:
        if not result["ok"]:
            logger.warning(
                "a notification could not be delivered",
                extra={"run_id": run.run_id, "kind": str(kind), "destination": result["destination"]},
            )
    return results


def _deliver(dest: Destination, body: Mapping[str, Any], senders: Senders) -> dict[str, Any]:
    """Try a destination up to ATTEMPTS times: {"destination", "ok", "attempts", "error"?}."""
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            sent = _send_once(dest, body, senders)
            result = {"destination": dest.describe(), "ok": True, "attempts": attempt}
            return result if sent else {**result, "sent": False}
        except _Failed as exc:
            error = str(exc)
            if not exc.retry:
                return {"destination": dest.describe(), "ok": False, "attempts": attempt, "error": error}
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS[attempt - 1])
    return {"destination": dest.describe(), "ok": False, "attempts": ATTEMPTS, "error": error}


class _Failed(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def _send_once(dest: Destination, body: Mapping[str, Any], senders: Senders) -> bool:
    """Send once; False when the destination is only recorded here (email without a topic)."""
    if isinstance(dest, Email):
        if senders.publish_email is None:
            return False
        try:
            senders.publish_email(dest.address, text(body)[:100], json.dumps(body, indent=2))
        except Exception as exc:  # the SNS client's errors
            raise _Failed(f"SNS: {type(exc).__name__}") from None
        return True
    if isinstance(dest, Slack):
        _post(_secret(senders, dest.secret), json.dumps({"text": text(body)}).encode(), {})
        return True
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
