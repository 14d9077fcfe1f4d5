"""Continuous workflows on the local cloud: what keeps their chains going here.

On AWS the recorder hears of every execution's end from EventBridge. Here the recorder runs when
someone waits for a run (`LocalCloud.wait`), so the runs a trigger function starts inside the cloud
(a chain timer firing, the watchdog kicked by `triggering.start_chain`) are followed to their end on threads of
their own (`Followers`): the recorder then schedules the next run, whose timer fires here too
(`local.timers`). When the cloud closes, the runs still going are stopped (ABORTED) and recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from orchestration.ledger import RunLedger

log = logging.getLogger("orchestration.local")
FOLLOWED = ("started", "resumed", "queued")  # trigger results whose run is followed to its end
JOIN_SECONDS = 5.0

Handler = Callable[[Any], Any]
Wait = Callable[[str, str], Any]  # (workflow, run id): wait until the run ended and record its end


class Followers:
    """Follows the runs that trigger functions start inside a local cloud until they end."""

    def __init__(self, wait: Wait, ledger: RunLedger, stepfunctions: Any) -> None:
        self._wait_for = wait
        self.ledger = ledger
        self.sfn = stepfunctions
        self.closing = threading.Event()
        self._followed: list[tuple[threading.Thread, str, str]] = []
        self._lock = threading.Lock()

    def wrap(self, workflow: str, handler: Handler) -> Handler:
        """`handler` (a trigger function), following each run it starts."""

        def call(event: Any) -> Any:
            result = handler(event)
            if isinstance(result, Mapping) and result.get("status") in FOLLOWED and result.get("run_id"):
                self.follow(workflow, str(result["run_id"]))
            return result

        return call

    def follow(self, workflow: str, run_id: str) -> None:
        if self.closing.is_set():
            return
        thread = threading.Thread(target=self._wait, args=(workflow, run_id), name=f"orch-follow-{run_id}", daemon=True)
        with self._lock:
            self._followed = [f for f in self._followed if f[0].is_alive()] + [(thread, workflow, run_id)]
        thread.start()

    def _wait(self, workflow: str, run_id: str) -> None:
        try:
            self._wait_for(workflow, run_id)
        except Exception as exc:  # the cloud is closing under it, or the run could not be read
            if not self.closing.is_set():
                log.error("following run %s: %s: %s", run_id, type(exc).__name__, exc)

    def stop(self) -> None:
        """Follow no more runs; stop those still going and wait until they are recorded."""
        self.closing.set()
        with self._lock:
            followed = list(self._followed)
        for thread, workflow, run_id in followed:
            run = self.ledger.get_run_item(workflow, run_id) if thread.is_alive() else None
            if run is not None and run.execution_arn:
                desc = self.sfn.describe_execution(executionArn=run.execution_arn)
                if desc["status"] == "RUNNING":
                    self.sfn.stop_execution(
                        executionArn=run.execution_arn, error="LocalCloudClosed", cause="the local cloud closed"
                    )
        for thread, _, _ in followed:
            thread.join(timeout=JOIN_SECONDS)
