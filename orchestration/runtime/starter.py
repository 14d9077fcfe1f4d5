"""Starting a run, written once: the trigger function and the local runtime both start runs here.

1. validate the parameters with the workflow's model and check their size;
2. insert the QUEUED run record with a conditional write: a second start of the same run id finds
   it and stops, unless the first one died before starting the execution (then it resumes);
3. start the execution named after the run id (a Standard state machine refuses a second one);
4. move the run to RUNNING with its execution ARN.

A workflow with `max_concurrent_runs` admits the run through `concurrency.admit` instead of 3-4:
it starts when a slot is free, else waits QUEUED (started later by the recorder) or is SKIPPED.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orchestration.errors import OrchestrationError, ParameterError
from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.slots import QueuedRun
from orchestration.model import Workflow
from orchestration.protocol import MAX_PARAMS_BYTES, ExecutionInput
from orchestration.runtime.concurrency import admit
from orchestration.runtime.deps import Runtime
from orchestration.runtime.registry import Env
from orchestration.status import RunStatus
from orchestration.times import ms_between, now_iso

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# A second delivery takes over a run record without an execution only once it is this old.
TAKEOVER_SECONDS = 30


def check_run_id(run_id: str, *, option: str = "run id") -> str:
    """A run id is an execution name and a ledger/artifact key part: 1-80 of [A-Za-z0-9_-]."""
    if not isinstance(run_id, str) or RUN_ID.fullmatch(run_id) is None:
        shown = repr(run_id) if len(str(run_id)) <= 100 else f"{str(run_id)[:80]!r}... ({len(run_id)} characters)"
        raise ParameterError(
            f"{option} {shown} is not a valid run id: use 1 to 80 characters of A-Z, a-z, 0-9, '-' and '_' "
            "(no spaces, '/', '.', or other characters), e.g. 2026-11-21_backfill"
        )
    return run_id


@dataclass(frozen=True)
class Started:
    status: Literal["started", "resumed", "duplicate", "queued", "skipped"]
    run_id: str
    execution_arn: str | None = None


def checked_params(workflow: Workflow, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values with defaults applied; ParameterError when invalid or too large."""
    values = workflow.parse_params(params)
    try:
        size = len(json.dumps(values, ensure_ascii=False).encode())
    except UnicodeEncodeError as exc:
        raise ParameterError(
            f"a parameter of {workflow.name!r} is not valid text: it holds a lone surrogate at character "
            f"{exc.start} (bytes that were not UTF-8, e.g. from a file name or shell): pass UTF-8 text"
        ) from None
    if size > MAX_PARAMS_BYTES:
        raise ParameterError(
            f"parameters of {workflow.name!r} take {size} bytes as JSON; the limit is {MAX_PARAMS_BYTES}: "
            "pass large inputs as an S3 URI instead"
        )
    return values


def start_run(
    *,
    workflow: Workflow,
    ledger: RunLedger,
    stepfunctions: Any,
    state_machine_arn: str,
    definition_hash: str,
    run_id: str,
    params: Mapping[str, Any],
    logical_date: str | None = None,
    trigger: Mapping[str, Any] | None = None,
) -> Started:
    """Start (at most) one execution for `run_id`. Raises ParameterError for bad parameters or run id."""
    check_run_id(run_id)
    values = checked_params(workflow, params)
    record = RunRecord(
        run_id=run_id,
        workflow=workflow.name,
        status=RunStatus.QUEUED,
        created_at=now_iso(),
        params=values,
        logical_date=logical_date,
        trigger=dict(trigger or {}),
        definition_hash=definition_hash,
    )
    first = ledger.create_run(record)
    existing = None if first else ledger.get_run_item(workflow.name, run_id)
    if not first:
        done = existing is not None and (existing.execution_arn or existing.status == RunStatus.SKIPPED)
        if existing is not None and (done or workflow.type != "STANDARD"):
            # Already started or skipped (or Express, where a second start would not be deduplicated).
            return Started("duplicate", run_id, existing.execution_arn)
        age = ms_between(existing.created_at, now_iso()) if existing is not None else None
        if age is not None and age < TAKEOVER_SECONDS * 1000:
            # Its creator is still starting it (a concurrent duplicate delivery). A creator that died
            # half-way is taken over by its own delivery's retry, which Lambda makes a minute later.
            return Started("duplicate", run_id)
    execution_input = ExecutionInput(params=values, logical_date=logical_date)
    if workflow.max_concurrent_runs is not None:
        arrival = existing.created_at if existing is not None else record.created_at
        queued = QueuedRun(
            workflow.name,
            run_id,
            arrival,
            state_machine_arn,
            execution_input.model_dump_json(),
            workflow.max_concurrent_runs,
        )
        how, arn = admit(workflow=workflow, ledger=ledger, stepfunctions=stepfunctions, run=queued, resumed=not first)
        if how == "started":
            return Started("started" if first else "resumed", run_id, arn)
        return Started(how, run_id)
    try:
        resp = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=run_id, input=execution_input.model_dump_json()
        )
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return Started("duplicate", run_id)
    arn = str(resp["executionArn"])
    # The delivery that created the record started the run, even when the run ended before this
    # RUNNING write (it then moves nothing). A later one that took over a start its creator did not
    # finish resumed it if it records RUNNING (a Standard start with the same name and input succeeds
    # again, so two takers both get here: one moves the run).
    moved = ledger.set_run_status(workflow.name, run_id, RunStatus.RUNNING, at=now_iso(), execution_arn=arn)
    if not first and not moved:
        return Started("duplicate", run_id, arn)
    return Started("started" if first else "resumed", run_id, arn)


def start_triggered(
    rt: Runtime,
    *,
    run_id: str,
    params: Mapping[str, Any],
    trigger: Mapping[str, Any],
    logical_date: str | None = None,
) -> Started:
    """`start_run` from a trigger function: its workflow, state machine and compiled hash."""
    if rt.state_machine_arn is None:
        raise OrchestrationError(f"the trigger function has no state machine: set {Env.STATE_MACHINE_ARN}")
    return start_run(
        workflow=rt.need_workflow(),
        ledger=rt.ledger,
        stepfunctions=rt.stepfunctions,
        state_machine_arn=rt.state_machine_arn,
        definition_hash=rt.workflow_hash(),
        run_id=run_id,
        params=params,
        logical_date=logical_date,
        trigger=trigger,
    )
