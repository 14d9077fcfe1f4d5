"""Every status a run, a task or an execution can have, and the rules over them (pure).

The one place statuses are spelled: other modules compare with these enums (a `StrEnum` member
equals its string, so values read back from DynamoDB or Step Functions compare as they are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from fnmatch import fnmatchcase


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    UPSTREAM_FAILED = "UPSTREAM_FAILED"


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    SUCCEEDED_WITH_FAILURES = "SUCCEEDED_WITH_FAILURES"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    SKIPPED = "SKIPPED"  # never started: the workflow was at its max_concurrent_runs (on_limit="skip")


class ExecutionStatus(StrEnum):
    """A Step Functions execution's status (DescribeExecution, status-change events)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


TERMINAL_TASK = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.UPSTREAM_FAILED})
TERMINAL_RUN = frozenset(
    {
        RunStatus.SUCCEEDED,
        RunStatus.SUCCEEDED_WITH_FAILURES,
        RunStatus.FAILED,
        RunStatus.TIMED_OUT,
        RunStatus.ABORTED,
        RunStatus.SKIPPED,
    }
)
TERMINAL_EXECUTION = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED}
)
# The statuses a run can end with once it ran (a SKIPPED run never started): what `on_workflow` waits for.
RUN_ENDINGS = TERMINAL_RUN - {RunStatus.SKIPPED}
TERMINAL: frozenset[str] = frozenset({*TERMINAL_TASK, *TERMINAL_RUN})
# A task that failed, or did not run because a dependency failed.
FAILED_LIKE = frozenset({TaskStatus.FAILED, TaskStatus.UPSTREAM_FAILED})
# The ASL `StringMatches` pattern the compiler uses for FAILED_LIKE (checked below).
FAILED_LIKE_PATTERN = "*FAILED"
# Run outcomes `orch run` exits 0 for.
OK_RUN = frozenset({RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_FAILURES})
# A run whose execution ended without the Finalize step takes the execution's status.
CLOSING: Mapping[str, RunStatus] = {
    ExecutionStatus.FAILED: RunStatus.FAILED,
    ExecutionStatus.TIMED_OUT: RunStatus.TIMED_OUT,
    ExecutionStatus.ABORTED: RunStatus.ABORTED,
}
# Execution outcomes that send a failure alert.
ALERTING = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT})
# How the per-item attempts of a for-each task combine into the task's status (higher wins).
_ITEM_ORDER: dict[str, int] = {
    TaskStatus.PENDING: 0,
    TaskStatus.SUCCEEDED: 1,
    TaskStatus.RUNNING: 2,
    TaskStatus.FAILED: 3,
}

assert {s for s in TaskStatus if fnmatchcase(s, FAILED_LIKE_PATTERN)} == FAILED_LIKE


def rank(status: str) -> int:
    """Progress order of a ledger record: queued/pending 0 < running 1 < terminal 2."""
    if status in TERMINAL:
        return 2
    return 1 if status == RunStatus.RUNNING else 0


PASS_RANK_STEP = 10  # a run's status rank per pass: repair n ranks above everything of pass n - 1


def run_rank(status: str, repair: int = 0) -> int:
    """Progress order of a run item: by pass (0, then repair 1, 2, ...), then by `rank` within it, so
    a repair moves a finished run forward again and nothing moves it back."""
    return PASS_RANK_STEP * repair + rank(status)


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def is_failed_like(status: str | None) -> bool:
    return status in FAILED_LIKE


def is_ok_run(status: str) -> bool:
    return status in OK_RUN


def merge_item_status(current: str, new: str) -> str:
    """The status of a for-each task given two of its item attempts' statuses."""
    return max(current, new, key=lambda s: _ITEM_ORDER.get(s, 0))


def run_outcome(statuses: Mapping[str, str], leaves: Iterable[str]) -> RunStatus:
    """How a run's final status follows from its tasks' (Databricks Lakeflow's rule, made exact):

    - FAILED when any leaf task (one nothing depends on) is FAILED or UPSTREAM_FAILED;
    - else SUCCEEDED_WITH_FAILURES when some task FAILED (its failure was absorbed by a run-if
      path, e.g. an ALL_DONE or AT_LEAST_ONE_FAILED task downstream of it);
    - else SUCCEEDED. A leaf SKIPPED by a condition or an unmet failure-handler run-if is fine.
    """
    if any(is_failed_like(statuses.get(leaf)) for leaf in leaves):
        return RunStatus.FAILED
    if any(status == TaskStatus.FAILED for status in statuses.values()):
        return RunStatus.SUCCEEDED_WITH_FAILURES
    return RunStatus.SUCCEEDED
