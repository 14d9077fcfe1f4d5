"""A run's OpenLineage events built from its ledger record (orchestration.lineage.events): a stopped
run gives ABORT (for itself and the attempt it stopped), a for-each's items make one attempt run, a
child run names its parent run, and a repair's pass has its own run id and only its own attempts.
The events are plain JSON: the local store's file holds exactly what the openlineage-python client
writes for the same events built with its own classes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from orchestration.ledger.records import Attempt, RunRecord
from orchestration.lineage import LineageTarget
from orchestration.lineage.events import FACET_SCHEMA, client_producer, run_events, run_uuid, task_run_uuid
from orchestration.runtime.lineage import _sender, client_event

T0, T1, T2, T3 = (f"2026-11-21T10:00:0{n}.000Z" for n in range(4))
PRODUCER = client_producer("1.54.0")


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(e["job"]["name"], e["eventType"], e["run"]["runId"]) for e in events]


def stopped_run() -> RunRecord:
    items = [
        Attempt("each", 1, "SUCCEEDED", T0, T1, index=0, datasets={"inputs": ["s3://bkt/a"], "outputs": []}),
        Attempt("each", 1, "SUCCEEDED", T1, T2, index=1, datasets={"inputs": ["s3://bkt/b"], "outputs": ["wh.t"]}),
    ]
    stuck = Attempt("slow", 1, "RUNNING", T1)
    return RunRecord("r1", "w", "ABORTED", T0, started_at=T0, ended_at=T3, attempts=[*items, stuck])


def repaired_child_run() -> RunRecord:
    first = Attempt("t", 1, "FAILED", T0, T1, error="ValueError", message="bad")
    rerun = Attempt("t", 2, "SUCCEEDED", T2, T3)
    return RunRecord(
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
        logical_date="2026-11-20T00:00:00Z",
    )


def failed_run() -> RunRecord:
    attempts = [Attempt("t", 1, "FAILED", T0, T1, error="ValueError", message="bad"), Attempt("u", 1, "FAILED", T1)]
    return RunRecord("f1", "w", "FAILED", T0, started_at=T0, ended_at=T2, attempts=attempts, error="States.X: boom")


def test_a_stopped_run_aborts_with_the_attempt_it_stopped_and_items_make_one_attempt() -> None:
    events = run_events(stopped_run(), "ns", PRODUCER)
    top, each, slow = run_uuid("w", "r1"), task_run_uuid("w", "r1", "each", 1), task_run_uuid("w", "r1", "slow", 1)
    assert summary(events) == [
        ("w", "START", top),
        ("w.each", "START", each),
        ("w.each", "COMPLETE", each),
        ("w.slow", "START", slow),
        ("w.slow", "ABORT", slow),
        ("w", "ABORT", top),
    ]
    assert [(d["namespace"], d["name"]) for d in events[1]["inputs"]] == [("s3://bkt", "a"), ("s3://bkt", "b")]
    assert [(d["namespace"], d["name"]) for d in events[1]["outputs"]] == [("wh", "t")]
    assert (events[1]["eventTime"], events[2]["eventTime"]) == (T0, T2)  # the items' span
    assert events[4]["eventTime"] == T3  # stopped when the run was


def test_a_child_run_names_its_parent_and_a_repair_pass_has_its_own_id_and_attempts() -> None:
    events = run_events(repaired_child_run(), "ns", PRODUCER, since=T2)
    assert summary(events) == [
        ("child", "START", run_uuid("child", "c1", 1)),
        ("child.t", "START", task_run_uuid("child", "c1", "t", 2)),
        ("child.t", "COMPLETE", task_run_uuid("child", "c1", "t", 2)),
        ("child", "COMPLETE", run_uuid("child", "c1", 1)),
    ]
    facets = events[0]["run"]["facets"]
    assert (facets["parent"]["run"]["runId"], facets["parent"]["job"]["name"]) == (run_uuid("parent", "p1"), "parent")
    assert events[0]["eventTime"] == T2 and facets["orchestration"]["repair"] == 1


# -- the same JSON as the client's -------------------------------------------------------------------


def client_facet(name: str, facet: dict[str, Any]) -> Any:
    """Our facet built again with the client's own class (the old way of building events)."""
    import attr
    from openlineage.client.facet_v2 import RunFacet, error_message_run, job_type_job, nominal_time_run, parent_run

    @attr.define
    class OrchestrationRunFacet(RunFacet):  # type: ignore[misc]
        runId: str  # the spec's casing
        workflow: str
        repair: int = 0
        task: str | None = None
        attempt: int | None = None
        _additional_skip_redact: ClassVar[list[str]] = ["runId", "workflow", "task"]

        @staticmethod
        def _get_schema() -> str:
            return FACET_SCHEMA

    fields = {k: v for k, v in facet.items() if not k.startswith("_")}
    if name == "parent":
        run, job = fields["run"], fields["job"]
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run["runId"]), job=parent_run.Job(namespace=job["namespace"], name=job["name"])
        )
    classes = {
        "jobType": job_type_job.JobTypeJobFacet,
        "nominalTime": nominal_time_run.NominalTimeRunFacet,
        "errorMessage": error_message_run.ErrorMessageRunFacet,
        "orchestration": OrchestrationRunFacet,
    }
    return classes[name](**fields)


def client_built(event: dict[str, Any]) -> Any:
    """The event built with the client's classes throughout."""
    built = client_event(event)
    built.run.facets = {k: client_facet(k, f) for k, f in event["run"]["facets"].items()}
    built.job.facets = {k: client_facet(k, f) for k, f in event["job"]["facets"].items()}
    return built


def runs() -> Iterator[tuple[RunRecord, str | None]]:
    yield stopped_run(), None
    yield repaired_child_run(), T2
    yield failed_run(), None


def test_the_events_are_what_the_client_serializes_and_the_local_file_what_its_file_transport_writes(
    tmp_path: Path,
) -> None:
    pytest.importorskip("openlineage.client", reason="openlineage-python is not installed: pip install -e '.[dev]'")
    from openlineage.client import OpenLineageClient
    from openlineage.client.constants import __version__ as client_version
    from openlineage.client.serde import Serde
    from openlineage.client.transport.file import FileConfig, FileTransport

    ours, theirs = tmp_path / "ours.jsonl", tmp_path / "theirs.jsonl"
    emitter = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(theirs), append=True)))
    for run, since in runs():
        send, producer = _sender(LineageTarget(file=lambda w, r: ours), run.workflow, run.run_id)
        assert producer == client_producer(client_version)
        events = run_events(run, "ns", producer, since=since)
        assert [Serde.to_dict(client_built(e)) for e in events] == events
        send(events)
        for event in events:
            emitter.emit(client_built(event))
    assert ours.read_bytes() == theirs.read_bytes()
    assert f'"value": "{client_version}"' in ours.read_text()  # the client's run tag, as it emits


def test_without_the_client_installed_a_local_store_gets_no_lineage_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.runtime.lineage as emitting

    monkeypatch.setattr(emitting, "_installed_client", lambda: None)
    file = tmp_path / "lineage.jsonl"
    rt = SimpleNamespace(lineage=LineageTarget(file=lambda w, r: file), ledger=None)
    assert emitting.emit_run(rt, "w", "r1", 0) == {}  # type: ignore[arg-type]
    assert not file.exists()
