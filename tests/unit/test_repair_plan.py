"""Which tasks a repair runs again and which it reuses (pure), and how a repair is named and ranked."""

from __future__ import annotations

import pytest

from orchestration.errors import OperationError
from orchestration.operations.repair import Selection, select_tasks
from orchestration.protocol import parse_execution_name, repair_execution_name
from orchestration.status import RunStatus, run_rank

# a -> b -> c -> d, a -> e (a side branch), f alone
GRAPH = {"a": [], "b": ["a"], "c": ["b"], "d": ["c"], "e": ["a"], "f": []}
OK = "SUCCEEDED"


def test_a_failed_task_and_everything_downstream_run_again() -> None:
    statuses = {"a": OK, "b": "FAILED", "c": "UPSTREAM_FAILED", "d": "UPSTREAM_FAILED", "e": OK, "f": OK}
    assert select_tasks(statuses, GRAPH) == Selection(rerun=("b", "c", "d"), reused=("a", "e", "f"))


def test_a_succeeded_task_downstream_of_a_failure_runs_again() -> None:
    # d ran (ALL_DONE, say) after c failed: it depends on a task that runs again, so it runs again
    statuses = {"a": OK, "b": OK, "c": "FAILED", "d": OK, "e": OK, "f": OK}
    assert select_tasks(statuses, GRAPH) == Selection(rerun=("c", "d"), reused=("a", "b", "e", "f"))


def test_named_tasks_run_again_with_their_downstream_even_when_they_succeeded() -> None:
    statuses = dict.fromkeys(GRAPH, OK)
    assert select_tasks(statuses, GRAPH, ["b"]) == Selection(rerun=("b", "c", "d"), reused=("a", "e", "f"))
    assert select_tasks(statuses, GRAPH, ["a", "f"]).reused == ()


def test_a_failed_task_not_named_has_no_output_to_reuse_and_is_decided_again() -> None:
    statuses = {"a": OK, "b": OK, "c": OK, "d": OK, "e": "FAILED", "f": OK}
    assert select_tasks(statuses, GRAPH, ["c"]) == Selection(rerun=("c", "d", "e"), reused=("a", "b", "f"))


def test_tasks_never_reached_or_cut_off_run_again() -> None:
    # an aborted run: b was running (its attempt closed as failed), c and d never started
    statuses = {"a": OK, "b": "RUNNING", "e": OK, "f": OK}
    assert select_tasks(statuses, GRAPH) == Selection(rerun=("b", "c", "d"), reused=("a", "e", "f"))


def test_a_skipped_task_is_decided_again_never_reused() -> None:
    # e was skipped by its run-if: not reused (it has no output), the state machine decides it again
    statuses = {"a": OK, "b": "FAILED", "c": "UPSTREAM_FAILED", "d": "UPSTREAM_FAILED", "e": "SKIPPED", "f": OK}
    selection = select_tasks(statuses, GRAPH)
    assert "e" in selection.rerun and selection.reused == ("a", "f")


def test_a_task_new_in_the_workflow_runs() -> None:
    graph = {**GRAPH, "g": ["f"]}
    statuses = dict.fromkeys(GRAPH, OK)
    assert select_tasks(statuses, graph) == Selection(rerun=("g",), reused=("a", "b", "c", "d", "e", "f"))


def test_an_unknown_named_task_is_refused_with_the_known_ones() -> None:
    with pytest.raises(OperationError, match=r"'zz' are not in the workflow: name one of a, b, c, d, e, f"):
        select_tasks(dict.fromkeys(GRAPH, OK), GRAPH, ["zz", "a"])


def test_repair_execution_names_carry_the_run_and_number() -> None:
    assert repair_execution_name("20261121-abc", 2) == "20261121-abc.r2"
    assert parse_execution_name("20261121-abc.r2") == ("20261121-abc", 2)
    assert parse_execution_name("20261121-abc") == ("20261121-abc", 0)
    assert parse_execution_name("a.rx") == ("a.rx", 0)
    long = "x" * 80
    name = repair_execution_name(long, 12)
    assert len(name) == 80 and name.endswith(".r12") and name != repair_execution_name("x" * 79 + "y", 12)


def test_a_repair_ranks_above_every_status_of_the_pass_it_repairs() -> None:
    finished = [run_rank(s, 0) for s in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED)]
    assert run_rank(RunStatus.QUEUED, 1) > max(finished) == run_rank(RunStatus.TIMED_OUT)
    assert run_rank(RunStatus.QUEUED, 1) < run_rank(RunStatus.RUNNING, 1) < run_rank(RunStatus.FAILED, 1)
    assert run_rank(RunStatus.FAILED, 1) < run_rank(RunStatus.QUEUED, 2)
