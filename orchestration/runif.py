"""Run-if decisions in Python: whether a task runs, from how its dependencies ended (pure).

The task runtime decides here for a task the compiler left unchecked by any Choice state (its
payload carries its dependencies' results); the compiler's static routing (`compiler.rules`)
decides with the same function. Edge semantics are `RunIf`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestration.model import Dependency, RunIf
from orchestration.status import FAILED_LIKE, TaskStatus

FAILURE_HANDLERS = frozenset({RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED})


def edge_succeeded(dep: Dependency, status: str, output: Any = None) -> bool:
    """The upstream SUCCEEDED (with the required outcome, on a condition edge)."""
    if status != TaskStatus.SUCCEEDED:
        return False
    return dep.outcome is None or (isinstance(output, bool) and output == dep.outcome)


def rule_holds(run_if: RunIf, succeeded: Sequence[bool], failed: Sequence[bool]) -> bool:
    """The run-if rule over the edges (one flag per edge: succeeded, failed; neither is skipped)."""
    return {
        RunIf.ALL_SUCCESS: all(succeeded),
        RunIf.AT_LEAST_ONE_SUCCESS: any(succeeded),
        RunIf.NONE_FAILED: not any(failed) and any(succeeded),
        RunIf.ALL_DONE: True,
        RunIf.AT_LEAST_ONE_FAILED: any(failed),
        RunIf.ALL_FAILED: all(failed),
    }[run_if]


def skipped_as(run_if: RunIf, deps: Sequence[Dependency], results: Sequence[tuple[str, Any]]) -> TaskStatus | None:
    """None when the task runs; otherwise the status it ends with without running: UPSTREAM_FAILED
    when a dependency failed (unless the task handles failures), else SKIPPED. `results`: each
    dependency's (status, output), in the order of `deps`."""
    succeeded = [edge_succeeded(d, status, output) for d, (status, output) in zip(deps, results, strict=True)]
    failed = [status in FAILED_LIKE for status, _ in results]
    if rule_holds(run_if, succeeded, failed):
        return None
    if any(failed) and run_if not in FAILURE_HANDLERS:
        return TaskStatus.UPSTREAM_FAILED
    return TaskStatus.SKIPPED
