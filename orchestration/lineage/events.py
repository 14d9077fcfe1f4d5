"""A run's OpenLineage run events, as the JSON the OpenLineage spec documents (plain dicts: no client).

Imported only by the function that emits them (`orchestration.runtime.lineage`), never by task code.

One job per workflow (`<workflow>`) and one per task (`<workflow>.<task>`), in the target's
namespace. A run (or a repair's pass) is a run of the workflow's job; each task attempt is a run of
the task's job whose ParentRunFacet names the workflow's run. Run ids are UUIDv5 of our run id (and
task, attempt), so emitting a run again gives the same events; the `orchestration` run facet carries
our ids. Each attempt gives START and COMPLETE / FAIL (ABORT when the run was stopped under it),
with its datasets as inputs and outputs; the run gives START and COMPLETE (SUCCEEDED, or
SUCCEEDED_WITH_FAILURES), FAIL (FAILED, TIMED_OUT) or ABORT (ABORTED).

The events are what the `openlineage-python` client serializes for the same events built with its
classes (no null fields; facets carry `_producer`, the client's producer URI, and `_schemaURL`), so
the local store's file and an HTTP endpoint get the same JSON (tests/unit/test_lineage_events.py
compares them with the client's output).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestration import __version__
from orchestration.lineage import INPUTS, OUTPUTS, openlineage_name
from orchestration.status import RunStatus, TaskStatus

# The namespace of our run ids' UUIDs (uuid5): fixed forever, or re-emitted events would get new ids.
RUN_ID_NAMESPACE = uuid.UUID("6b1f4a2e-4f55-5c1e-9a57-0d6c8f3e2b10")
PRODUCER = f"urn:orchestration:{__version__}"  # a URI, as the spec asks (the project has no home page yet)
FACET_SCHEMA = "urn:orchestration:facets:OrchestrationRunFacet:1"  # documented in docs/lineage.md
INTEGRATION = "ORCHESTRATION"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
# the spec version of each facet we emit (its schema URL), as openlineage-python 1.54 names them
FACET_VERSIONS = {
    "JobTypeJobFacet": "2-0-4",
    "ParentRunFacet": "1-2-0",
    "NominalTimeRunFacet": "1-0-1",
    "ErrorMessageRunFacet": "1-0-1",
    "TagsRunFacet": "1-0-0",
}

Event = dict[str, Any]

START, COMPLETE, FAIL, ABORT, OTHER = "START", "COMPLETE", "FAIL", "ABORT", "OTHER"  # the spec's event types
_RUN_END = {
    RunStatus.SUCCEEDED: COMPLETE,
    RunStatus.SUCCEEDED_WITH_FAILURES: COMPLETE,
    RunStatus.FAILED: FAIL,
    RunStatus.TIMED_OUT: FAIL,
    RunStatus.ABORTED: ABORT,
}


def client_producer(client_version: str) -> str:
    """The `_producer` of the facets the `openlineage-python` client of this version builds."""
    return f"https://github.com/OpenLineage/OpenLineage/tree/{client_version}/client/python"


def run_uuid(workflow: str, run_id: str, repair: int = 0) -> str:
    """The OpenLineage run id of our run's pass (0: its first, n: its n-th repair)."""
    suffix = f".r{repair}" if repair else ""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{workflow}/{run_id}{suffix}"))


def task_run_uuid(workflow: str, run_id: str, task: str, attempt: int) -> str:
    """The OpenLineage run id of a task attempt."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{workflow}/{run_id}/{task}/{attempt}"))


@dataclass
class AttemptView:
    """A task attempt as one OpenLineage run: a for-each's items with that attempt number together."""

    task: str
    attempt: int
    status: str
    started_at: str
    ended_at: str | None
    error: str | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def attempt_views(attempts: Iterable[Any]) -> list[AttemptView]:
    """`Attempt` records (orchestration.ledger) grouped by (task, attempt)."""
    views: dict[tuple[str, int], AttemptView] = {}
    for att in attempts:
        view = views.get((att.task, att.attempt))
        if view is None:
            view = views[(att.task, att.attempt)] = AttemptView(att.task, att.attempt, att.status, att.started_at, None)
        elif view.status != TaskStatus.FAILED and att.status != TaskStatus.SUCCEEDED:
            view.status = att.status  # an item failed (or never ended): so did the attempt
        view.started_at = min(filter(None, [view.started_at, att.started_at]), default=view.started_at)
        view.ended_at = max(filter(None, [view.ended_at, att.ended_at]), default=None)
        view.error = view.error or (f"{att.error}: {att.message}" if att.message else att.error)
        for key, into in ((INPUTS, view.inputs), (OUTPUTS, view.outputs)):
            into.extend(n for n in (att.datasets or {}).get(key, []) if n not in into)
    return sorted(views.values(), key=lambda v: (v.started_at or "", v.task, v.attempt))


def start_event(run: Any, namespace: str, producer: str, *, since: str | None = None) -> Event:
    """The START event of the run's current pass (the recorder sends it as the run starts, and again,
    identical, with the others when it ends). `producer`: the facets' `_producer` (`client_producer`)."""
    return _event(START, since or run.started_at or run.created_at, *_run_parts(run, namespace, producer))


def _run_parts(run: Any, namespace: str, producer: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The run's OpenLineage run id, run facets and job."""
    job = _job(namespace, run.workflow, "DAG", producer)
    facets: dict[str, Any] = {"orchestration": _ours(producer, run)}
    if run.logical_date:
        facets["nominalTime"] = _facet(producer, "NominalTimeRunFacet", nominalStartTime=run.logical_date)
    if run.parent_run_id and run.parent_workflow:  # a child run: its parent is the run that started it
        parent_id = run_uuid(run.parent_workflow, run.parent_run_id)
        facets["parent"] = _parent(producer, namespace, run.parent_workflow, parent_id)
    return run_uuid(run.workflow, run.run_id, run.repair), facets, job


def run_events(run: Any, namespace: str, producer: str, *, since: str | None = None) -> list[Event]:
    """The events of a finished `RunRecord` (with its attempts) for its current pass: a repair's
    only has the attempts that started at or after `since` (the repair's start)."""
    run_id, facets, job = _run_parts(run, namespace, producer)
    started = since or run.started_at or run.created_at
    ended = run.ended_at or started
    end_state = _RUN_END.get(run.status, OTHER)
    end_facets = dict(facets)
    if end_state == FAIL and run.error:
        end_facets["errorMessage"] = _error(producer, run.error)
    events = [start_event(run, namespace, producer, since=since)]
    views = [v for v in attempt_views(run.attempts) if since is None or (v.started_at or "") >= since]
    for view in views:
        events.extend(_attempt_events(run, namespace, producer, run_id, view, ended))
    events.append(_event(end_state, ended, run_id, end_facets, job))
    return events


def _attempt_events(
    run: Any, namespace: str, producer: str, parent_id: str, view: AttemptView, run_ended: str
) -> Iterator[Event]:
    job = _job(namespace, f"{run.workflow}.{view.task}", "TASK", producer)
    facets: dict[str, Any] = {
        "parent": _parent(producer, namespace, run.workflow, parent_id),
        "orchestration": _ours(producer, run, task=view.task, attempt=view.attempt),
    }
    run_id = task_run_uuid(run.workflow, run.run_id, view.task, view.attempt)
    inputs = [{**_dataset(n), "inputFacets": {}} for n in view.inputs]
    outputs = [{**_dataset(n), "outputFacets": {}} for n in view.outputs]
    yield _event(START, view.started_at or run_ended, run_id, facets, job, inputs, outputs)
    if view.status == TaskStatus.SUCCEEDED:
        state, end_facets = COMPLETE, facets
    elif view.status == TaskStatus.FAILED:
        state, end_facets = FAIL, {**facets, "errorMessage": _error(producer, view.error or "failed")}
    else:  # still running when the run ended: stopped under it
        state, end_facets = ABORT, facets
    yield _event(state, view.ended_at or run_ended, run_id, end_facets, job, inputs, outputs)


def _event(
    state: str,
    at: str,
    run_id: str,
    facets: dict[str, Any],
    job: dict[str, Any],
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> Event:
    return {
        "eventType": state,
        "eventTime": at,
        "run": {"runId": run_id, "facets": facets},
        "job": job,
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "inputs": inputs or [],
        "outputs": outputs or [],
    }


def _facet(producer: str, name: str, **fields: Any) -> dict[str, Any]:
    """A facet of the spec named `name`: its fields but the null ones, its producer and schema URL."""
    schema = f"https://openlineage.io/spec/facets/{FACET_VERSIONS[name]}/{name}.json#/$defs/{name}"
    return _with_schema(producer, schema, fields)


def _ours(producer: str, run: Any, *, task: str | None = None, attempt: int | None = None) -> dict[str, Any]:
    """Our run facet (`orchestration`): our own ids of the run, and of the task attempt."""
    ids = {"runId": run.run_id, "workflow": run.workflow, "repair": run.repair, "task": task, "attempt": attempt}
    return _with_schema(producer, FACET_SCHEMA, ids)


def _with_schema(producer: str, schema: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"_producer": producer, "_schemaURL": schema, **{k: v for k, v in fields.items() if v is not None}}


def _job(namespace: str, name: str, kind: str, producer: str) -> dict[str, Any]:
    job_type = _facet(producer, "JobTypeJobFacet", processingType="BATCH", integration=INTEGRATION, jobType=kind)
    return {"namespace": namespace, "name": name, "facets": {"jobType": job_type}}


def _parent(producer: str, namespace: str, workflow: str, run_id: str) -> dict[str, Any]:
    job = {"namespace": namespace, "name": workflow, "facets": {}}
    return _facet(producer, "ParentRunFacet", run={"runId": run_id, "facets": {}}, job=job)


def _error(producer: str, message: str) -> dict[str, Any]:
    return _facet(producer, "ErrorMessageRunFacet", message=message, programmingLanguage="python")


def _dataset(name: str) -> dict[str, Any]:
    namespace, path = openlineage_name(name)
    return {"namespace": namespace, "name": path, "facets": {}}


def with_client_tags(event: Event, client_version: str) -> Event:
    """The event as the `openlineage-python` client emits it: with the run tag it adds (its version)."""
    tag = {"key": "openlineage_client_version", "value": client_version, "source": "OPENLINEAGE_CLIENT"}
    tags = _facet(client_producer(client_version), "TagsRunFacet", tags=[tag])
    return {**event, "run": {**event["run"], "facets": {**event["run"]["facets"], "tags": tags}}}
