"""Running a backfill's planned runs on the local cloud: at most `max_concurrent` at once, oldest first.

The plan (which runs, their ids and logical dates) is `orchestration.triggers.backfill`'s, the same
ids the deployed scheduler gives, so re-issuing a backfill starts nothing already done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestration.errors import OrchestrationError
from orchestration.model import Workflow
from orchestration.triggers.backfill import BackfillRun

if TYPE_CHECKING:
    from orchestration.ledger import RunRecord
    from orchestration.local import LocalCloud


@dataclass
class BackfillProgress:
    """Counts while a backfill goes; `finished` holds each finished run's record."""

    total: int
    running: int = 0
    finished: list[RunRecord] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # run id -> why it could not start


def run_backfill(
    cloud: LocalCloud,
    workflow: Workflow,
    runs: Sequence[BackfillRun],
    *,
    max_concurrent: int,
    on_progress: Callable[[BackfillProgress], None] | None = None,
) -> BackfillProgress:
    """Start each run (new runs only: a rerun of an existing run id is a repair), never more than
    `max_concurrent` going at once, and wait for them all. Ctrl-C stops the runs going and starts
    no more."""
    if any(run.rerun for run in runs):
        raise OrchestrationError("rerunning a run that exists is a repair: use `orch repair RUN_ID` for it")
    progress = BackfillProgress(total=len(runs))
    lock = threading.Lock()
    stopping = threading.Event()

    def one(run: BackfillRun) -> None:
        if stopping.is_set():
            return
        with lock:
            progress.running += 1
        try:
            run_id = cloud.start(
                workflow,
                run.params,
                run_id=run.run_id,
                logical_date=run.scheduled_time,
                trigger=run.trigger,
            )
            record = cloud.wait(run_id, workflow=workflow.name)
            with lock:
                progress.finished.append(record)
        except OrchestrationError as exc:
            with lock:
                progress.errors[run.run_id] = str(exc)
        finally:
            with lock:
                progress.running -= 1
        if on_progress is not None:
            on_progress(progress)

    with ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="backfill") as pool:
        pending: set[Future[None]] = {pool.submit(one, run) for run in runs}
        try:
            while pending:
                _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            stopping.set()
            for future in pending:
                future.cancel()
            _stop_going(cloud, workflow)
            raise
    return progress


def _stop_going(cloud: LocalCloud, workflow: Workflow) -> None:
    """Stop the workflow's executions still going (each waiting thread then records its run)."""
    arn = cloud.deploy(workflow).state_machine_arn
    for execution in cloud.sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        cloud.sfn.stop_execution(
            executionArn=execution["executionArn"], error="Interrupted", cause="the backfill was interrupted"
        )
