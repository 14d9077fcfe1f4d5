"""`on_workflow`: a run of this workflow starts when a run of another workflow ends (pure).

The recorder publishes one `RunEnded` event (source `RUN_EVENT_SOURCE`, detail-type
`RUN_ENDED_DETAIL_TYPE`) per run end and repair pass of every workflow some `on_workflow` trigger
of the stack listens to. A `WorkflowTrigger` is an EventBridge rule matching those of its upstream
workflow with the chosen statuses; the trigger function derives the run id from the upstream run
(its workflow, run id and pass), not from the event id, so a duplicated event starts one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.errors import TriggerError
from orchestration.protocol import RUN_ENDED_DETAIL_TYPE, RUN_EVENT_SOURCE, RunEnded
from orchestration.status import RUN_ENDINGS, RunStatus

# What `params` may map a workflow parameter to: the fields of the upstream run's event.
UPSTREAM_FIELDS: tuple[str, ...] = tuple(RunEnded.model_fields)
_ALLOWED = ", ".join(sorted(s.lower() for s in RUN_ENDINGS))


def _status(value: Any) -> Any:
    """A status as written (``"succeeded"``, ``RunStatus.FAILED``) as its RunStatus; other values as they are."""
    if isinstance(value, str) and value.upper() in RunStatus.__members__:
        return RunStatus(value.upper())
    return value


@dataclass(frozen=True)
class WorkflowTrigger:
    """Start a run when a run of workflow `upstream` (or, with `include_repairs`, a repair of one)
    ends with one of `statuses`. Build it with `on_workflow`."""

    upstream: str
    statuses: tuple[Any, ...] = (RunStatus.SUCCEEDED,)
    params: Mapping[str, str] = field(default_factory=dict)  # parameter -> field of the upstream run
    constants: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    include_repairs: bool = False
    description: str = ""

    kind = "workflow"
    event_bus = "default"

    def __post_init__(self) -> None:
        raw = self.statuses
        listed = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, Iterable) else [raw]
        object.__setattr__(self, "statuses", tuple(_status(s) for s in listed))

    @property
    def pattern(self) -> dict[str, Any]:
        """The EventBridge pattern of the rule (infra scopes it to the stack's upstream state machine)."""
        detail: dict[str, Any] = {"workflow": [self.upstream], "status": sorted({str(s) for s in self.statuses})}
        if not self.include_repairs:
            detail["repair"] = [0]
        return {"source": [RUN_EVENT_SOURCE], "detail-type": [RUN_ENDED_DETAIL_TYPE], "detail": detail}


def on_workflow(
    other: Any,
    statuses: Iterable[str] | str = (RunStatus.SUCCEEDED,),
    *,
    params: Mapping[str, str] | None = None,
    constants: Mapping[str, Any] | None = None,
    name: str | None = None,
    include_repairs: bool = False,
) -> WorkflowTrigger:
    """A run starts when a run of `other` (a Workflow or its name) ends with one of `statuses`
    (default: succeeded; any of succeeded, succeeded_with_failures, failed, timed_out, aborted).

    `params` maps workflow parameters to fields of the upstream run: ``run_id``, ``workflow``,
    ``status``, ``repair``, ``logical_date``, ``ended_at`` (e.g. ``{"upstream_run": "run_id"}``);
    `constants` gives fixed values. The run gets the upstream run's logical date. A repair of the
    upstream run that ends starts a run only with ``include_repairs=True`` (each pass at most once).
    Raises TriggerError for an unknown status or field.
    """
    upstream = other if isinstance(other, str) else getattr(other, "name", other)
    trig = WorkflowTrigger(
        upstream=upstream,
        statuses=tuple(statuses) if not isinstance(statuses, str) else (statuses,),
        params=dict(params or {}),
        constants=dict(constants or {}),
        name=name,
        include_repairs=include_repairs,
        description=f"after a {upstream} run ends",
    )
    found = upstream_problems(trig, "on_workflow")
    if found:
        raise TriggerError("; ".join(found))
    return trig


def upstream_problems(trig: WorkflowTrigger, label: str) -> list[str]:
    """Problems of the trigger alone: the upstream name, statuses and mapped fields."""
    out: list[str] = []
    if not isinstance(trig.upstream, str) or not trig.upstream:
        out.append(f"{label}: other={trig.upstream!r} must be a Workflow or a workflow's name")
    if not trig.statuses:
        out.append(f"{label}: statuses is empty: give at least one of {_ALLOWED}")
    for status in trig.statuses:
        if status not in RUN_ENDINGS:
            shown = repr(str(status).lower()) if isinstance(status, str) else repr(status)
            out.append(f"{label}: status {shown} is not a status a run ends with: use {_ALLOWED}")
    if not isinstance(trig.include_repairs, bool):
        out.append(f"{label}: include_repairs={trig.include_repairs!r} must be True or False")
    paths = trig.params if isinstance(trig.params, Mapping) else {}
    if not isinstance(trig.params, Mapping):
        out.append(f"{label}: params={trig.params!r} must map parameter names to fields of the upstream run")
    for param, source in paths.items():
        if source not in UPSTREAM_FIELDS:
            out.append(
                f"{label}: parameter {param!r} maps to {source!r}, which is no field of the upstream run: "
                f"use one of {', '.join(UPSTREAM_FIELDS)}"
            )
    if not isinstance(trig.constants, Mapping):
        out.append(f"{label}: constants={trig.constants!r} must map parameter names to values")
    return out


def upstream_params(trig: WorkflowTrigger, ended: RunEnded) -> dict[str, Any]:
    """Parameter values for a run started by the end of `ended`: constants plus mapped fields."""
    fields = ended.model_dump(mode="json")
    return {**trig.constants, **{param: fields[source] for param, source in trig.params.items()}}
