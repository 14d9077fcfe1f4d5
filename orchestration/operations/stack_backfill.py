"""A backfill on a deployed stack (`orch backfill --stack`): the planned runs are handed to the stack's
backfill state machine (`orchestration.compiler.backfill`) in one execution, which starts them on the
workflow's state machine, at most N at once, and waits for each: nothing runs on the caller's machine,
which may go away once the execution has started.

Re-issuing a backfill is idempotent: the runs already in the ledger are not planned again, and the
same selection of runs names the same backfill execution (`execution_name`), which Step Functions
starts once. A different selection of the same backfill while one of its executions still runs is
refused: two Maps would share the runs and together exceed the concurrency limit.

A workflow's `max_concurrent_runs` caps the Map's concurrency (`concurrency`): the backfill's runs
are started by Step Functions, not through the trigger function's admission, so they take no slot;
the backfill alone never exceeds the limit, but runs that its schedule or events start meanwhile
are not counted against it (docs/operations.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from orchestration.compiler import PAYLOAD_LIMIT_BYTES, compile_workflow, definition_hash, to_json
from orchestration.compiler.backfill import (
    BACKFILL_OUTPUT,
    MAX_CONCURRENT,
    MAX_RUNS,
    NOT_STARTED,
    BackfillInput,
    BackfillResult,
    BackfillRunItem,
    execution_name,
)
from orchestration.errors import OperationError, StackError
from orchestration.operations.source import RunFilter
from orchestration.status import TERMINAL_EXECUTION, is_terminal

if TYPE_CHECKING:
    from orchestration.model import Workflow
    from orchestration.operations.stack import StackRuns
    from orchestration.triggers.backfill import BackfillRun

POLL_SECONDS = 2.0
# Once the backfill execution has ended, how long the ledger may take to record its runs' ends
# (the recorder hears of them through EventBridge).
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class StackBackfill:
    """A backfill execution on the stack: `started` is False when it existed already (re-issued)."""

    name: str
    execution_arn: str
    run_ids: list[str]
    started: bool
    since: datetime  # a little before the execution started: its runs were created after this
    max_concurrent: int  # at most this many of its runs go at once (--max-concurrent, capped by the limit)


@dataclass
class StackProgress:
    """What the ledger and the backfill execution say, at one poll."""

    statuses: dict[str, str] = field(default_factory=dict)  # run id -> its recorded status
    execution_status: str | None = None
    not_started: dict[str, str] = field(default_factory=dict)  # run id -> the error that kept it from starting

    @property
    def finished(self) -> int:
        return sum(is_terminal(s) for s in self.statuses.values()) + len(self.not_started)

    @property
    def running(self) -> int:
        return sum(not is_terminal(s) for s in self.statuses.values())


def backfill_machine(stack: StackRuns) -> str:
    """The ARN of the stack's backfill state machine; StackError when the stack has none."""
    arn = stack.outputs.get(BACKFILL_OUTPUT) or stack.resources.outputs.get(BACKFILL_OUTPUT)
    if not arn:
        raise StackError(
            f"{stack.where} has no backfill state machine (no {BACKFILL_OUTPUT} output): redeploy it with this "
            "version of orch, or run the backfill locally (without --stack)"
        )
    return arn


def concurrency(wf: Workflow, max_concurrent: int) -> int:
    """How many runs the backfill runs at once: `--max-concurrent`, at most the workflow's limit."""
    limit = wf.max_concurrent_runs
    return max_concurrent if limit is None else min(max_concurrent, limit)


def backfill_input(
    wf: Workflow, runs: Sequence[BackfillRun], *, state_machine_arn: str, max_concurrent: int, by: str
) -> BackfillInput:
    """The backfill execution's input: what the runs share once, each run's id and logical date."""
    from orchestration.runtime.starter import checked_params

    if any(run.rerun for run in runs):
        raise OperationError(
            "rerunning a run that exists is a repair: use `orch repair RUN_ID --stack ...` for it "
            "(or --reprocess missing)"
        )
    if not 1 <= max_concurrent <= MAX_CONCURRENT:
        raise OperationError(
            f"--max-concurrent {max_concurrent} is above what a backfill on a stack runs at once ({MAX_CONCURRENT}, "
            "the iterations of a Step Functions inline Map): pass at most 40"
        )
    if len(runs) > MAX_RUNS:
        cut = runs[MAX_RUNS].logical_date
        raise OperationError(
            f"the backfill holds {len(runs)} runs, above the {MAX_RUNS} one backfill execution on a stack may "
            f"start (its history holds at most 25,000 events): split the window, e.g. a first backfill "
            f"ending at --end {cut}"
        )
    first = runs[0]
    trigger = {k: v for k, v in first.trigger.items() if k != "scheduled_time"} | {"by": by}
    return BackfillInput(
        backfill_id=str(first.trigger["backfill_id"]),
        workflow=wf.name,
        state_machine_arn=state_machine_arn,
        max_concurrent=max_concurrent,
        params=checked_params(wf, first.params),
        trigger=trigger,
        definition_hash=definition_hash(to_json(compile_workflow(wf))),
        runs=[BackfillRunItem(run_id=run.run_id, logical_date=run.logical_date) for run in runs],
    )


def start_stack_backfill(
    stack: StackRuns, wf: Workflow, runs: Sequence[BackfillRun], *, max_concurrent: int, by: str
) -> StackBackfill:
    """Start the backfill execution of `runs` (new runs only), or find the identical one running."""
    machine = stack.state_machines.get(wf.name)
    if machine is None:
        raise StackError(f"{stack.where} does not deploy workflow {wf.name!r}: deploy it, or check --stack")
    if not 1 <= max_concurrent <= MAX_CONCURRENT:
        raise OperationError(
            f"--max-concurrent {max_concurrent} is above what a backfill on a stack runs at once ({MAX_CONCURRENT}, "
            "the iterations of a Step Functions inline Map): pass at most 40"
        )
    max_concurrent = concurrency(wf, max_concurrent)
    payload = backfill_input(wf, runs, state_machine_arn=machine, max_concurrent=max_concurrent, by=by)
    text = payload.model_dump_json()
    if len(text.encode()) > PAYLOAD_LIMIT_BYTES:
        raise OperationError(
            f"the backfill's input takes {len(text.encode())} bytes, above Step Functions' {PAYLOAD_LIMIT_BYTES}: "
            "split the window in two backfills, or pass shorter parameters"
        )
    runner = backfill_machine(stack)
    name = execution_name(payload.backfill_id, [run.run_id for run in runs])
    arn = f"{runner.replace(':stateMachine:', ':execution:', 1)}:{name}"
    sfn = stack.client("stepfunctions")
    since = datetime.now(UTC) - timedelta(minutes=1)
    with stack.aws("start a backfill on"):
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=runner, statusFilter="RUNNING"):
            for other in page["executions"]:
                if other["name"].startswith(payload.backfill_id) and other["name"] != name:
                    raise OperationError(
                        f"backfill {payload.backfill_id} is still going in {stack.where} (execution {other['name']}) "
                        "with another selection of runs: wait for it to end (orch runs list --stack ...), then "
                        "re-issue this backfill to start what it left"
                    )
        try:  # the same backfill, re-issued: follow the execution it started
            since = sfn.describe_execution(executionArn=arn)["startDate"] - timedelta(minutes=1)
            started = False
        except sfn.exceptions.ExecutionDoesNotExist:
            # (StartExecution is idempotent too: the same name and input while it runs is the same execution)
            sfn.start_execution(stateMachineArn=runner, name=name, input=text)
            started = True
    return StackBackfill(name, arn, [run.run_id for run in runs], started, since, max_concurrent)


def poll(stack: StackRuns, wf: str, backfill: StackBackfill) -> StackProgress:
    """The backfill's runs as the ledger records them, and its execution's status (and, once it has
    ended, the runs it could not start)."""
    wanted = set(backfill.run_ids)
    progress = StackProgress()
    for run in stack.list_runs(RunFilter(workflow=wf, since=backfill.since, limit=10 * MAX_RUNS)):
        if run.run_id in wanted:
            progress.statuses[run.run_id] = run.status
    sfn = stack.client("stepfunctions")
    with stack.aws("follow a backfill on"):
        desc = sfn.describe_execution(executionArn=backfill.execution_arn)
    progress.execution_status = desc["status"]
    if desc["status"] in TERMINAL_EXECUTION and desc.get("output"):
        results = [BackfillResult.model_validate(r) for r in json.loads(desc["output"])]
        progress.not_started = {r.run_id: str(r.error) for r in results if r.status == NOT_STARTED}
    return progress


def follow(
    stack: StackRuns,
    wf: str,
    backfill: StackBackfill,
    *,
    on_progress: Callable[[StackProgress], None] | None = None,
    poll_seconds: float | None = None,
    settle_seconds: float = SETTLE_SECONDS,
) -> StackProgress:
    """Poll until the backfill execution has ended and the ledger records every run's end (or it
    has not, `settle_seconds` after the execution ended: then the progress as it stands)."""
    pause = POLL_SECONDS if poll_seconds is None else poll_seconds
    ended_at: float | None = None
    while True:
        progress = poll(stack, wf, backfill)
        if on_progress is not None:
            on_progress(progress)
        if progress.execution_status in TERMINAL_EXECUTION:
            ended_at = ended_at or time.monotonic()
            if progress.finished >= len(backfill.run_ids) or time.monotonic() - ended_at > settle_seconds:
                return progress
        time.sleep(pause)


def run_results(progress: StackProgress, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Each run's status as the ledger has it (or NOT_STARTED with the error), in the plan's order."""
    out: list[dict[str, Any]] = []
    for run_id in run_ids:
        if run_id in progress.not_started:
            out.append({"run_id": run_id, "status": NOT_STARTED, "error": progress.not_started[run_id]})
        else:
            out.append({"run_id": run_id, "status": progress.statuses.get(run_id)})
    return out
