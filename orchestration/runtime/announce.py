"""Run-end events for `on_workflow` triggers: the recorder publishes one `RunEnded` event to the
default event bus when a run, or a repair pass of it, of a workflow some trigger listens to ends.

The status is the ledger's (the finalize step's outcome, e.g. SUCCEEDED_WITH_FAILURES, or the one
the recorder closed the run with), never the execution's alone. A duplicated status-change
delivery publishes again: the trigger function derives the downstream run id from the upstream
run and pass, so the second event starts nothing.
"""

from __future__ import annotations

from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.ledger import RunRecord
from orchestration.protocol import RUN_ENDED_DETAIL_TYPE, RUN_EVENT_SOURCE, RunEnded
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.status import RUN_ENDINGS


def pass_outcome(run: RunRecord, repair: int) -> tuple[Any, Any]:
    """(status, ended_at) of pass `repair` of the run (0: the run itself), (None, None) when unknown."""
    if repair == run.repair:
        return run.status, run.ended_at
    if repair == 0 and run.repairs:
        return run.repairs[0].get("previous_status"), run.repairs[0].get("previous_ended_at")
    entry = next((e for e in run.repairs if e.get("number") == repair), {})
    return entry.get("status"), entry.get("ended_at")


def announce_end(rt: Runtime, workflow: str, run_id: str, repair: int, state_machine_arn: str | None) -> bool:
    """Publish the end of pass `repair` of the run when some workflow listens; True when published."""
    if workflow not in rt.upstreams or rt.events is None:
        return False
    run = rt.ledger.get_run_item(workflow, run_id)
    status, ended_at = pass_outcome(run, repair) if run is not None else (None, None)
    if run is None or status not in RUN_ENDINGS:
        logger.warning("run end not published: no final status", extra={"run_id": run_id, "status": status})
        return False
    ended = RunEnded(
        workflow=workflow,
        run_id=run_id,
        status=status,
        repair=repair,
        logical_date=run.logical_date,
        ended_at=ended_at,
    )
    entry = {
        "Source": RUN_EVENT_SOURCE,
        "DetailType": RUN_ENDED_DETAIL_TYPE,
        "Detail": ended.model_dump_json(),
        "Resources": [state_machine_arn] if state_machine_arn else [],  # infra's rules match it
        "EventBusName": "default",
    }
    response = rt.events.put_events(Entries=[entry])
    if response.get("FailedEntryCount"):  # the recorder's delivery is retried
        failed = (response.get("Entries") or [{}])[0]
        raise OrchestrationError(
            f"EventBridge refused the end event of run {run_id!r} of {workflow!r}: "
            f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
        )
    logger.info("run end published", extra={"run_id": run_id, "status": status, "repair": repair})
    return True
