"""Starting a run, written once: the trigger function and the local runtime both start runs here.

1. validate the parameters with the workflow's model and check their size;
2. insert the QUEUED run record with a conditional write: a second start of the same run id finds
   it and stops, unless the first one died before starting the execution (then it resumes);
3. start the execution named after the run id (a Standard state machine refuses a second one);
4. move the run to RUNNING with its execution ARN.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from orchestration.errors import ParameterError
from orchestration.ledger import RunLedger, RunRecord
from orchestration.model import Workflow
from orchestration.protocol import MAX_PARAMS_BYTES, ExecutionInput
from orchestration.status import RunStatus
from orchestration.times import now_iso


@dataclass(frozen=True)
class Started:
    status: Literal["started", "resumed", "duplicate"]
    run_id: str
    execution_arn: str | None = None


def checked_params(workflow: Workflow, params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values with defaults applied; ParameterError when invalid or too large."""
    values = workflow.parse_params(params)
    size = len(json.dumps(values))
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
    """Start (at most) one execution for `run_id`. Raises ParameterError for bad parameters."""
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
    if not first:
        existing = ledger.get_run_item(run_id)
        if existing is not None and (existing.execution_arn or workflow.type != "STANDARD"):
            # Already started (or Express, where a second start would not be deduplicated).
            return Started("duplicate", run_id, existing.execution_arn)
    execution_input = ExecutionInput(params=values, logical_date=logical_date)
    try:
        resp = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=run_id, input=execution_input.model_dump_json()
        )
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return Started("duplicate", run_id)
    arn = str(resp["executionArn"])
    ledger.set_run_status(run_id, RunStatus.RUNNING, at=now_iso(), execution_arn=arn)
    return Started("started" if first else "resumed", run_id, arn)
