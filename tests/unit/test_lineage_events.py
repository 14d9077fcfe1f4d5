"""A run's OpenLineage events built from its ledger record (orchestration.lineage.events): a stopped
run gives ABORT (for itself and the attempt it stopped), a for-each's items make one attempt run, a
child run names its parent run, and a repair's pass has its own run id and only its own attempts."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.ledger.records import Attempt, RunRecord

pytest.importorskip("openlineage.client", reason="openlineage-python is not installed: pip install -e '.[dev]'")

from orchestration.lineage.events import run_events, run_uuid, task_run_uuid

T0, T1, T2, T3 = (f"2026-11-21T10:00:0{n}.000Z" for n in range(4))


def summary(events: list[Any]) -> list[tuple[str, str, str]]:
    return [(e.job.name, e.eventType.value, e.run.runId) for e in events]


def test_a_stopped_run_aborts_with_the_attempt_it_stopped_and_items_make_one_attempt() -> None:
    items = [
        Attempt("each", 1, "SUCCEEDED", T0, T1, index=0, datasets={"inputs": ["s3://bkt/a"], "outputs": []}),
        Attempt("each", 1, "SUCCEEDED", T1, T2, index=1, datasets={"inputs": ["s3://bkt/b"], "outputs": []}),
    ]
    stuck = Attempt("slow", 1, "RUNNING", T1)
    run = RunRecord("r1", "w", "ABORTED", T0, started_at=T0, ended_at=T3, attempts=[*items, stuck])
    events = run_events(run, "ns")
    top, each, slow = run_uuid("w", "r1"), task_run_uuid("w", "r1", "each", 1), task_run_uuid("w", "r1", "slow", 1)
    assert summary(events) == [
        ("w", "START", top),
        ("w.each", "START", each),
        ("w.each", "COMPLETE", each),
        ("w.slow", "START", slow),
        ("w.slow", "ABORT", slow),
        ("w", "ABORT", top),
    ]
    assert [(d.namespace, d.name) for d in events[1].inputs] == [("s3://bkt", "a"), ("s3://bkt", "b")]
    assert (events[1].eventTime, events[2].eventTime) == (T0, T2)  # the items' span
    assert events[4].eventTime == T3  # stopped when the run was


def test_a_child_run_names_its_parent_and_a_repair_pass_has_its_own_id_and_attempts() -> None:
    first = Attempt("t", 1, "FAILED", T0, T1, error="ValueError", message="bad")
    rerun = Attempt("t", 2, "SUCCEEDED", T2, T3)
    run = RunRecord(
        "c1",
        "child",
        "SUCCEEDED",
        T0,
        started_at=T0,
        ended_at=T3,
        attempts=[first, rerun],
        parent_run_id="p1",
        parent_workflow="parent",
        parent_task="call",
        repair=1,
        repairs=[{"number": 1, "started_at": T2}],
    )
    events = run_events(run, "ns", since=T2)
    assert summary(events) == [
        ("child", "START", run_uuid("child", "c1", 1)),
        ("child.t", "START", task_run_uuid("child", "c1", "t", 2)),
        ("child.t", "COMPLETE", task_run_uuid("child", "c1", "t", 2)),
        ("child", "COMPLETE", run_uuid("child", "c1", 1)),
    ]
    parent = events[0].run.facets["parent"]
    assert (parent.run.runId, parent.job.name) == (run_uuid("parent", "p1"), "parent")
    assert events[0].eventTime == T2 and events[0].run.facets["orchestration"].repair == 1
