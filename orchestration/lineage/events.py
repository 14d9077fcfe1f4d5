"""A run's OpenLineage run events, built with the `openlineage-python` client's classes.

Imported only by the function that emits them (`orchestration.runtime.lineage`), never by task code.

One job per workflow (`<workflow>`) and one per task (`<workflow>.<task>`), in the target's
namespace. A run (or a repair's pass) is a run of the workflow's job; each task attempt is a run of
the task's job whose ParentRunFacet names the workflow's run. Run ids are UUIDv5 of our run id (and
task, attempt), so emitting a run again gives the same events; the `orchestration` run facet carries
our ids. Each attempt gives START and COMPLETE / FAIL (ABORT when the run was stopped under it),
with its datasets as inputs and outputs; the run gives START and COMPLETE (SUCCEEDED, or
SUCCEEDED_WITH_FAILURES), FAIL (FAILED, TIMED_OUT) or ABORT (ABORTED).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import RunFacet, error_message_run, job_type_job, nominal_time_run, parent_run

from orchestration import __version__
from orchestration.lineage import INPUTS, OUTPUTS, openlineage_name
from orchestration.status import RunStatus, TaskStatus

# The namespace of our run ids' UUIDs (uuid5): fixed forever, or re-emitted events would get new ids.
RUN_ID_NAMESPACE = uuid.UUID("6b1f4a2e-4f55-5c1e-9a57-0d6c8f3e2b10")
PRODUCER = f"urn:orchestration:{__version__}"  # a URI, as the spec asks (the project has no home page yet)
FACET_SCHEMA = "urn:orchestration:facets:OrchestrationRunFacet:1"  # documented in docs/lineage.md
INTEGRATION = "ORCHESTRATION"

_RUN_END = {
    RunStatus.SUCCEEDED: RunState.COMPLETE,
    RunStatus.SUCCEEDED_WITH_FAILURES: RunState.COMPLETE,
    RunStatus.FAILED: RunState.FAIL,
    RunStatus.TIMED_OUT: RunState.FAIL,
    RunStatus.ABORTED: RunState.ABORT,
}


@attr.define
class OrchestrationRunFacet(RunFacet):  # type: ignore[misc,unused-ignore]  # the client's classes are untyped attrs classes
    """Our own ids of the run: `runId` (ours, not the UUID), workflow, repair pass, task and attempt."""

    runId: str  # the spec's casing
    workflow: str
    repair: int = 0
    task: str | None = None
    attempt: int | None = None
    _additional_skip_redact: ClassVar[list[str]] = ["runId", "workflow", "task"]

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA


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


def start_event(run: Any, namespace: str, *, since: str | None = None) -> RunEvent:
    """The START event of the run's current pass (the recorder sends it as the run starts, and again,
    identical, with the others when it ends)."""
    return _event(RunState.START, since or run.started_at or run.created_at, *_run_parts(run, namespace))


def _run_parts(run: Any, namespace: str) -> tuple[str, dict[str, Any], Job]:
    """The run's OpenLineage run id, run facets and job."""
    job = Job(namespace=namespace, name=run.workflow, facets={"jobType": _job_type("DAG")})
    facets: dict[str, Any] = {
        "orchestration": OrchestrationRunFacet(runId=run.run_id, workflow=run.workflow, repair=run.repair)
    }
    if run.logical_date:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(nominalStartTime=run.logical_date)
    if run.parent_run_id and run.parent_workflow:  # a child run: its parent is the run that started it
        facets["parent"] = _parent(namespace, run.parent_workflow, run_uuid(run.parent_workflow, run.parent_run_id))
    return run_uuid(run.workflow, run.run_id, run.repair), facets, job


def run_events(run: Any, namespace: str, *, since: str | None = None) -> list[RunEvent]:
    """The events of a finished `RunRecord` (with its attempts) for its current pass: a repair's
    only has the attempts that started at or after `since` (the repair's start)."""
    run_id, facets, job = _run_parts(run, namespace)
    started = since or run.started_at or run.created_at
    ended = run.ended_at or started
    end_state = _RUN_END.get(run.status, RunState.OTHER)
    end_facets = dict(facets)
    if end_state == RunState.FAIL and run.error:
        end_facets["errorMessage"] = _error(run.error)
    events = [start_event(run, namespace, since=since)]
    views = [v for v in attempt_views(run.attempts) if since is None or (v.started_at or "") >= since]
    for view in views:
        events.extend(_attempt_events(run, namespace, run_id, view, ended))
    events.append(_event(end_state, ended, run_id, end_facets, job))
    return events


def _attempt_events(run: Any, namespace: str, parent_id: str, view: AttemptView, run_ended: str) -> Iterator[RunEvent]:
    job = Job(namespace=namespace, name=f"{run.workflow}.{view.task}", facets={"jobType": _job_type("TASK")})
    facets: dict[str, Any] = {
        "parent": _parent(namespace, run.workflow, parent_id),
        "orchestration": OrchestrationRunFacet(
            runId=run.run_id, workflow=run.workflow, repair=run.repair, task=view.task, attempt=view.attempt
        ),
    }
    run_id = task_run_uuid(run.workflow, run.run_id, view.task, view.attempt)
    inputs = [InputDataset(*openlineage_name(n)) for n in view.inputs]
    outputs = [OutputDataset(*openlineage_name(n)) for n in view.outputs]
    yield _event(RunState.START, view.started_at or run_ended, run_id, facets, job, inputs, outputs)
    if view.status == TaskStatus.SUCCEEDED:
        state, end_facets = RunState.COMPLETE, facets
    elif view.status == TaskStatus.FAILED:
        state, end_facets = RunState.FAIL, {**facets, "errorMessage": _error(view.error or "failed")}
    else:  # still running when the run ended: stopped under it
        state, end_facets = RunState.ABORT, facets
    yield _event(state, view.ended_at or run_ended, run_id, end_facets, job, inputs, outputs)


def _event(
    state: RunState,
    at: str,
    run_id: str,
    facets: dict[str, Any],
    job: Job,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=at,
        run=Run(runId=run_id, facets=facets),
        job=job,
        producer=PRODUCER,
        inputs=inputs or [],
        outputs=outputs or [],
    )


def _parent(namespace: str, workflow: str, run_id: str) -> Any:
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id), job=parent_run.Job(namespace=namespace, name=workflow)
    )


def _job_type(kind: str) -> Any:
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration=INTEGRATION, jobType=kind)


def _error(message: str) -> Any:
    return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python")
