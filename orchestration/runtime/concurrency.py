"""`max_concurrent_runs`: admitting a new run, and starting queued runs when a slot frees up.

Serverless: nothing polls. A start (`starter.start_run`, in the trigger function or `orch`) queues
its run and then drains the queue itself; the recorder, on every terminal status change, releases
the ended run's slot and drains. Draining claims the oldest queued run with a slot in one
transaction (`Slots.claim`), then starts its execution named after its run id and records RUNNING.
A start that queues just as a release drains an empty queue drains again itself: no run is left
waiting beside a free slot. Two drainers never start a run twice: only one claim of it succeeds.

Slots shared with other processes (runs kept in one local store, each process with its own local
cloud) are guarded by a `Gate` registered for the ledger (`share_slots`): every acquisition (an
admission, a drain) happens inside it, counting the slots the other processes hold.

Cancelling a queued run (`cancel_queued`) withdraws it from the queue with a conditional delete and
closes it ABORTED; a cancel that loses the race to a claim finds the run's execution started (or
about to be) and the caller stops that instead. A withdrawn run is never started: a claim deletes
the queue item under the same condition, so only one of the two succeeds.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any, Literal

from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.slots import QueuedRun, Slots
from orchestration.model import Workflow
from orchestration.runtime import metrics
from orchestration.runtime.log import logger
from orchestration.status import RunStatus, is_terminal
from orchestration.times import now_iso

Admission = Literal["started", "queued", "skipped", "duplicate"]
DRAIN_PAGE = 10
CANCEL_ERROR = "Cancelled"  # the error of a cancelled run (StopExecution's, and a withdrawn run's)


# A gate for a workflow: a context in which slots may be taken, giving how many of its slots are
# held elsewhere (by other processes); on leaving it, what this process holds is published.
Gate = Callable[[str], AbstractContextManager[int]]
_gates: weakref.WeakKeyDictionary[RunLedger, Gate] = weakref.WeakKeyDictionary()


def share_slots(ledger: RunLedger, gate: Gate | None) -> None:
    """Take the slots of this ledger's workflows only inside `gate` (None: no longer shared)."""
    if gate is None:
        _gates.pop(ledger, None)
    else:
        _gates[ledger] = gate


def _gate(ledger: RunLedger, workflow: str) -> AbstractContextManager[int]:
    gate = _gates.get(ledger)
    return nullcontext(0) if gate is None else gate(workflow)


def slots_of(ledger: RunLedger) -> Slots:
    return Slots(ledger.table, ledger.client)


def skip_reason(workflow: Workflow) -> str:
    limit = workflow.max_concurrent_runs
    return (
        f"Skipped: {workflow.name!r} already had {limit} run(s) going (max_concurrent_runs={limit}, "
        "on_limit='skip'); raise the limit or use on_limit='queue' to wait instead"
    )


def admit(
    *,
    workflow: Workflow,
    ledger: RunLedger,
    stepfunctions: Any,
    run: QueuedRun,
    resumed: bool,
) -> tuple[Admission, str | None]:
    """Admit a run of a workflow with a limit: (how, execution ARN when this call started it).

    "skip": a free slot starts it here, else it is recorded SKIPPED with the reason. "queue": it is
    queued and the queue drained; "queued" when it still waits. A resumed start whose run is queued
    already is a "duplicate" (the queue keeps its place)."""
    slots = slots_of(ledger)
    limit = run.max_runs
    if workflow.on_limit == "skip":
        with _gate(ledger, run.workflow) as elsewhere:
            if limit > elsewhere and slots.acquire(run.workflow, run.run_id, limit - elsewhere):
                return "started", _start(ledger, stepfunctions, run, slots, queued=False)
        ledger.set_run_status(run.workflow, run.run_id, RunStatus.SKIPPED, at=now_iso(), error=skip_reason(workflow))
        return "skipped", None
    fresh = slots.enqueue(run)
    started = drain(ledger, stepfunctions, run.workflow)
    if run.run_id in started:
        return "started", started[run.run_id]
    current = ledger.get_run_item(run.workflow, run.run_id)
    if current is not None and current.execution_arn:  # a concurrent start's drain started it
        return "started", current.execution_arn
    return ("queued" if fresh or not resumed else "duplicate"), None


def drain(ledger: RunLedger, stepfunctions: Any, workflow: str) -> dict[str, str]:
    """Start queued runs of `workflow`, oldest first, while slots are free: run id -> execution ARN."""
    slots = slots_of(ledger)
    started: dict[str, str] = {}
    with _gate(ledger, workflow) as elsewhere:
        while True:
            page = slots.queued(workflow, limit=DRAIN_PAGE)
            if not page:
                metrics.queue_depth(workflow, 0)
                return started
            outcome = "gone"
            for run in page:
                if run.max_runs <= elsewhere:
                    return started
                outcome = slots.claim(replace(run, max_runs=run.max_runs - elsewhere))
                if outcome == "claimed":
                    started[run.run_id] = _start(ledger, stepfunctions, run, slots)
                    break  # read the queue again: its head moved
                if outcome == "full":
                    metrics.queue_depth(workflow, slots.depth(workflow))
                    return started
            # every run of the page was claimed by others ("gone"), or one was started: look again


def _start(ledger: RunLedger, stepfunctions: Any, run: QueuedRun, slots: Slots, *, queued: bool = True) -> str:
    """Start the execution of a run holding a slot and record it RUNNING."""
    try:
        resp = stepfunctions.start_execution(
            stateMachineArn=run.state_machine_arn, name=run.run_id, input=run.execution_input
        )
        arn = str(resp["executionArn"])
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        arn = execution_arn(run.state_machine_arn, run.run_id)  # a concurrent resume started it
    except Exception:
        # not started: the slot is freed (a queued run goes back to its place); the delivery is retried
        if queued:
            slots.requeue(run)
        else:
            slots.release(run.workflow, run.run_id)
        raise
    ledger.set_run_status(run.workflow, run.run_id, RunStatus.RUNNING, at=now_iso(), execution_arn=arn)
    logger.info("queued run started", extra={"run_id": run.run_id, "workflow": run.workflow})
    return arn


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution `name` of a Standard state machine."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def release(ledger: RunLedger, stepfunctions: Any, workflow: str, run_id: str) -> dict[str, str]:
    """A run ended: free its slot and start the queued runs that now fit (run id -> execution ARN).
    Nothing for a workflow that never had a limit (no slots item)."""
    if not slots_of(ledger).release(workflow, run_id):
        return {}
    if stepfunctions is None:
        logger.warning("a slot was released but no Step Functions client can start queued runs")
        return {}
    return drain(ledger, stepfunctions, workflow)


def cancel_queued(ledger: RunLedger, run: RunRecord, by: str, *, wait_seconds: float = 5.0) -> RunRecord:
    """Cancel a run recorded QUEUED without an execution: withdraw it from its workflow's queue and
    close it ABORTED ("Cancelled: cancelled while queued by <by>"). When a drain claimed it first,
    the run as it stands once its execution is recorded (the caller stops that execution), or, after
    `wait_seconds` without either, as it stands (a run QUEUED outside any queue: a start that died
    before queueing it; its delivery's retry resumes it)."""
    slots = slots_of(ledger)
    deadline = time.monotonic() + wait_seconds
    delay = 0.01
    while True:
        if slots.withdraw(run.workflow, run.run_id, run.created_at):
            error = f"{CANCEL_ERROR}: cancelled while queued by {by}"
            ledger.close_run(run.workflow, run.run_id, RunStatus.ABORTED, at=now_iso(), error=error)
            logger.info("queued run withdrawn", extra={"run_id": run.run_id, "workflow": run.workflow})
            current = ledger.get_run_item(run.workflow, run.run_id)
            return current if current is not None else run
        current = ledger.get_run_item(run.workflow, run.run_id)
        if current is None or current.execution_arn or is_terminal(current.status):
            return current if current is not None else run
        if time.monotonic() >= deadline:
            return current
        time.sleep(delay)  # claimed, its execution not recorded yet (or requeued: withdraw again)
        delay = min(delay * 2, 0.2)
