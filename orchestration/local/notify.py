"""A workflow's notifications on the local cloud: the notifier's own code (`runtime.notifier`), called
where AWS would call it (the run starts, ends, or has been going a notification's minutes). Webhooks
and Slack are really POSTed; email is recorded, not sent (no SNS subscriber here)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from orchestration.ledger import RunLedger, RunRecord
from orchestration.model import Workflow
from orchestration.notifications import Kind, Notification
from orchestration.runtime.notifier import Senders, notify_duration, notify_status


def _secret(name: str) -> str:
    """A secret from the local cloud's Secrets Manager (seeded with `--secrets`), as on AWS."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(name, max_age=0)
    return value if isinstance(value, str) else value.decode()


class LocalNotifier:
    def __init__(self, ledger: RunLedger, secret: Callable[[str], str] = _secret) -> None:
        self.ledger = ledger
        self.senders = Senders(secret=secret)
        self._due: dict[tuple[str, str], list[tuple[float, Notification]]] = {}  # run -> (deadline, duration)

    def started(self, workflow: Workflow, run: RunRecord) -> None:
        """The run started: on_start notifications; arm its duration notifications."""
        notify: tuple[Notification, ...] = tuple(getattr(workflow, "notify", ()))
        if not notify:
            return
        notify_status(workflow, run, self.senders, self.ledger, repair=_repair(run))
        now = time.monotonic()
        self._due[(workflow.name, run.run_id)] = sorted(
            (now + float(n.minutes or 0) * 60, n) for n in notify if n.kind is Kind.DURATION
        )

    def tick(self, workflow: Workflow, run_id: str) -> None:
        """While the run goes: send the duration notifications whose time has come."""
        due = self._due.get((workflow.name, run_id))
        while due and due[0][0] <= time.monotonic():
            _, n = due.pop(0)
            run = self.ledger.get_run(workflow.name, run_id, attempts=False)
            if run is not None:
                minutes = float(n.minutes or 0)
                notify_duration(workflow, run, self.senders, self.ledger, minutes=minutes, repair=_repair(run))

    def ended(self, workflow: Workflow, run: RunRecord) -> list[dict[str, Any]]:
        self._due.pop((workflow.name, run.run_id), None)
        if not getattr(workflow, "notify", ()):
            return []
        return notify_status(workflow, run, self.senders, self.ledger, repair=_repair(run))


def _repair(run: RunRecord) -> int:
    return int(getattr(run, "repair", 0) or 0)
