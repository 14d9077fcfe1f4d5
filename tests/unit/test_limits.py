"""Workflow(max_concurrent_runs=..., on_limit=...) is checked with a message naming the value and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration import Workflow
from orchestration.validation import problems


def wf(**options: Any) -> Workflow:
    w = Workflow("limited", **options)

    @w.task
    def a() -> int:
        return 1

    return w


def test_a_limit_and_either_mode_are_valid() -> None:
    assert problems(wf(max_concurrent_runs=1)) == []
    assert problems(wf(max_concurrent_runs=4, on_limit="skip")) == []
    assert problems(wf()) == []


@pytest.mark.parametrize("limit", [0, -1, 1.5, "2", True])
def test_a_limit_must_be_a_whole_number_of_at_least_one(limit: Any) -> None:
    (problem,) = problems(wf(max_concurrent_runs=limit))
    assert f"max_concurrent_runs={limit!r}" in problem and "at least 1" in problem


def test_on_limit_is_queue_or_skip() -> None:
    (problem,) = problems(wf(max_concurrent_runs=1, on_limit="drop"))
    assert "on_limit='drop'" in problem and "'queue'" in problem and "'skip'" in problem


def test_express_workflows_cannot_take_a_limit() -> None:
    (problem,) = problems(wf(max_concurrent_runs=1, type="EXPRESS"))
    assert "type='STANDARD'" in problem
