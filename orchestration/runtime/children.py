"""Child runs (`run_workflow` tasks) as their parent's end concerns them: their ids, and the closing
of a child recorded but never started because its parent ended first."""

from __future__ import annotations

import hashlib

from orchestration.ledger import RunLedger
from orchestration.protocol import MAX_EXECUTION_NAME as MAX_RUN_ID
from orchestration.status import RunStatus, TaskStatus


def child_run_id(parent_run_id: str, task: str, attempt: int) -> str:
    """`<parent run id>-<task>-<attempt>`, 1-80 characters of [A-Za-z0-9-_], as execution names (with
    logging) take: a parent run id too long for that keeps its start and a hash of the whole, so two
    parents never share a child run id."""
    suffix = f"-{task}-{attempt}"
    if len(parent_run_id) + len(suffix) <= MAX_RUN_ID:
        return parent_run_id + suffix
    digest = hashlib.sha1(parent_run_id.encode()).hexdigest()[:8]
    return f"{parent_run_id[: MAX_RUN_ID - len(suffix) - len(digest) - 1]}-{digest}{suffix}"


def running_children(ledger: RunLedger, workflow: str, run_id: str) -> list[tuple[str, str]]:
    """(workflow, run id) of the child runs whose parent attempt is still going and which have no
    execution yet: read before the parent's end closes its attempts."""
    run = ledger.get_run(workflow, run_id)
    out = []
    for att in run.attempts if run is not None else ():
        if att.status != TaskStatus.RUNNING:
            continue
        for child in ledger.find_runs(child_run_id(run_id, att.task, att.attempt)):
            if child.parent_run_id == run_id and child.status == RunStatus.QUEUED and not child.execution_arn:
                out.append((child.workflow, child.run_id))
    return out


def close_unstarted(ledger: RunLedger, children: list[tuple[str, str]], *, at: str, parent_status: str) -> int:
    """Close children that never started (their parent ended first) ABORTED; how many moved."""
    reason = f"Aborted: its parent run ended {parent_status} before this run started"
    return sum(ledger.close_run(wf, run_id, RunStatus.ABORTED, at=at, error=reason) for wf, run_id in children)
