"""Waiting for a run of a workflow with `max_concurrent_runs` to leave the queue (locally)."""

from __future__ import annotations

import time

from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger, RunRecord
from orchestration.status import is_terminal


def wait_admitted(ledger: RunLedger, workflow: str, run_id: str, timeout_seconds: float) -> RunRecord:
    """The run once it has an execution or ended without one (SKIPPED). A QUEUED run is started by
    whoever frees a slot (the recorder, as a run of its workflow ends), not here."""
    deadline = time.monotonic() + timeout_seconds
    delay = 0.002
    while True:
        run = ledger.get_run_item(workflow, run_id)
        if run is None:
            raise OrchestrationError(f"run {run_id!r} is not in the ledger")
        if run.execution_arn is not None or is_terminal(run.status):
            return run
        if time.monotonic() > deadline:
            raise OrchestrationError(
                f"run {run_id!r} of {workflow!r} waited in the queue for more than {timeout_seconds:g} s: "
                "the runs holding its workflow's slots have not ended"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
