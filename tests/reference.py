"""A reference evaluation of the run-if table (docs/architecture.md), independent of the compiler
and the runtime: the statuses a run must end with."""

from __future__ import annotations

from orchestration import RunIf, Workflow
from orchestration.status import TaskStatus

FAILURE_HANDLERS = {RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED}


def expected_statuses(wf: Workflow, failing: set[str]) -> dict[str, TaskStatus]:
    """Task by task in declaration order (a task is declared after its dependencies); plain edges."""
    out: dict[str, TaskStatus] = {}
    for name, task in wf.tasks.items():
        ups = [out[str(u)] for u in task.after]
        ok = [s == TaskStatus.SUCCEEDED for s in ups]
        bad = [s in (TaskStatus.FAILED, TaskStatus.UPSTREAM_FAILED) for s in ups]
        runs = (
            not ups
            or {
                RunIf.ALL_SUCCESS: all(ok),
                RunIf.AT_LEAST_ONE_SUCCESS: any(ok),
                RunIf.NONE_FAILED: any(ok) and not any(bad),
                RunIf.ALL_DONE: True,
                RunIf.AT_LEAST_ONE_FAILED: any(bad),
                RunIf.ALL_FAILED: all(bad),
            }[task.run_if]
        )
        if runs:
            out[name] = TaskStatus.FAILED if name in failing else TaskStatus.SUCCEEDED
        elif any(bad) and task.run_if not in FAILURE_HANDLERS:
            out[name] = TaskStatus.UPSTREAM_FAILED
        else:
            out[name] = TaskStatus.SKIPPED
    return out
