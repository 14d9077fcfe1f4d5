"""Run-if decisions in Python (`orchestration.runif`): what a task deciding its own run-if returns."""

from __future__ import annotations

import pytest

from orchestration.model import Dependency, RunIf
from orchestration.runif import skipped_as
from orchestration.status import TaskStatus

OK, FAILED, UP, SKIP = TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.UPSTREAM_FAILED, TaskStatus.SKIPPED
AB = [Dependency("a"), Dependency("b")]


@pytest.mark.parametrize(
    ("run_if", "a", "b", "expected"),
    [
        (RunIf.ALL_SUCCESS, OK, OK, None),
        (RunIf.ALL_SUCCESS, OK, SKIP, SKIP),
        (RunIf.ALL_SUCCESS, UP, SKIP, UP),
        (RunIf.AT_LEAST_ONE_SUCCESS, FAILED, OK, None),
        (RunIf.AT_LEAST_ONE_SUCCESS, FAILED, SKIP, UP),
        (RunIf.NONE_FAILED, OK, SKIP, None),
        (RunIf.NONE_FAILED, OK, FAILED, UP),
        (RunIf.NONE_FAILED, SKIP, SKIP, SKIP),
        (RunIf.ALL_DONE, FAILED, SKIP, None),
        (RunIf.AT_LEAST_ONE_FAILED, OK, UP, None),
        (RunIf.AT_LEAST_ONE_FAILED, OK, SKIP, SKIP),
        (RunIf.ALL_FAILED, FAILED, UP, None),
        (RunIf.ALL_FAILED, FAILED, OK, SKIP),  # a failure handler is never UPSTREAM_FAILED
    ],
)
def test_the_run_if_table(run_if: RunIf, a: TaskStatus, b: TaskStatus, expected: TaskStatus | None) -> None:
    assert skipped_as(run_if, AB, [(a, None), (b, None)]) == expected


def test_a_condition_edge_needs_its_outcome() -> None:
    deps = [Dependency("check", outcome=True)]
    assert skipped_as(RunIf.ALL_SUCCESS, deps, [(OK, True)]) is None
    assert skipped_as(RunIf.ALL_SUCCESS, deps, [(OK, False)]) == SKIP
    assert skipped_as(RunIf.ALL_SUCCESS, deps, [(OK, 1)]) == SKIP  # only a boolean is an outcome
    assert skipped_as(RunIf.ALL_SUCCESS, deps, [(FAILED, None)]) == UP
