"""A workflow's notifications on the local cloud: each workflow that declares `notify` has its notifier
function (`runtime.notifier`, deployed by the local cloud as on AWS), and this hands it the status
changes of that workflow's executions, as its EventBridge rule does on AWS. Its duration timers fire
through `local.timers`. Webhooks and Slack are really POSTed; email is recorded, not sent (no SNS
subscriber here)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from orchestration.local.aws import status_change_event
from orchestration.runtime.registry import NOTIFIER
from orchestration.status import ExecutionStatus

log = logging.getLogger("orchestration.local")

Handler = Callable[[Any], Any]


class LocalNotifier:
    """Delivers status-change events to the notifier functions of `functions` (workflow -> ARN)."""

    FUNCTION = NOTIFIER  # what the local cloud deploys for a workflow with notifications

    def __init__(self, sfn: Any, handlers: Mapping[str, Handler]) -> None:
        self.sfn = sfn
        self.handlers = handlers
        self.functions: dict[str, str] = {}  # state machine (workflow) name -> notifier function ARN

    def status_changed(self, execution_arn: str, status: str) -> Any:
        """The execution started (RUNNING) or ended with `status`: its workflow's notifier hears of it."""
        if not self.functions:
            return None
        desc = dict(self.sfn.describe_execution(executionArn=execution_arn))
        arn = self.functions.get(str(desc.get("stateMachineArn", "")).rsplit(":", 1)[-1])
        if arn is None:
            return None
        if status == ExecutionStatus.RUNNING:
            desc.pop("stopDate", None)
        try:
            return self.handlers[arn](status_change_event(execution_arn, {**desc, "status": status}))
        except Exception as exc:  # on AWS Lambda would retry it; a local run goes on
            log.error("the notifier function failed: %s: %s", type(exc).__name__, exc)
            return None
