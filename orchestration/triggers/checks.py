"""`trigger_problems`: every problem with a workflow's trigger declarations and the parameters they set."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from orchestration.triggers.batching import ITEM_PATH, Batch, batch_problems
from orchestration.triggers.continuous import Continuous, continuous_problems
from orchestration.triggers.declarations import EventTrigger, Schedule, declared, named_declarations
from orchestration.triggers.events import EVENT_PATH_RE
from orchestration.triggers.patterns import pattern_problems
from orchestration.triggers.schedules import schedule_problems
from orchestration.triggers.upstream import WorkflowTrigger, upstream_problems

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow

TRIGGER_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


def trigger_problems(wf: Workflow) -> list[str]:
    """Every problem with the workflow's trigger declarations (empty when they are usable)."""
    raw_triggers = getattr(wf, "triggers", None)
    if raw_triggers is not None and not isinstance(
        raw_triggers, list | tuple | Schedule | EventTrigger | Continuous | WorkflowTrigger
    ):
        return [f"triggers={raw_triggers!r} must be a list of Schedule(...) / EventTrigger(...): write triggers=[...]"]
    out: list[str] = []
    for raw in declared(wf):
        if not isinstance(raw, Schedule | EventTrigger | Continuous | WorkflowTrigger):
            where = "schedule=" if raw is getattr(wf, "schedule", None) else "triggers="
            out.append(
                f"{where} got {raw!r}: use Schedule(cron=... or rate=...), EventTrigger(pattern=...), "
                "on_s3_object_created(bucket, ...), continuous(...) or on_workflow(other) from orchestration.triggers"
            )
    seen: Counter[str] = Counter()
    for name, trig in named_declarations(wf):
        if not isinstance(name, str) or not TRIGGER_NAME_RE.match(name):
            out.append(
                f"trigger name {name!r} is not allowed: use 1-32 letters, digits, '_' or '-', starting "
                "with a letter (it becomes part of AWS resource names and run ids)"
            )
        seen[name] += 1
        label = f"{trig.kind} trigger {name!r}"
        if isinstance(trig, Schedule):
            out.extend(schedule_problems(trig, label))
            constants = dict(trig.params) if isinstance(trig.params, Mapping) else {}
            out.extend(_param_problems(wf, label, constants, {}, "Schedule(params={'%s': ...})"))
        elif isinstance(trig, Continuous):
            out.extend(continuous_problems(wf, trig, label))
            constants = dict(trig.params) if isinstance(trig.params, Mapping) else {}
            out.extend(_param_problems(wf, label, constants, {}, "continuous(params={'%s': ...})"))
        elif isinstance(trig, WorkflowTrigger):
            out.extend(_workflow_trigger_problems(wf, trig, label))
        else:
            out.extend(_event_trigger_problems(wf, trig, label))
    chains = sum(isinstance(t, Continuous) for t in declared(wf))
    if chains > 1:
        out.append(f"{chains} continuous triggers: a workflow runs as at most one chain, declare continuous(...) once")
    for name, count in sorted(seen.items()):
        if count > 1:
            out.append(f"trigger name {name!r} is used {count} times: give each trigger a unique name=")
    return out


def _event_trigger_problems(wf: Workflow, trig: EventTrigger, label: str) -> list[str]:
    out = pattern_problems(trig.pattern, label)
    paths = trig.params if isinstance(trig.params, Mapping) else {}
    if not isinstance(trig.params, Mapping):
        out.append(f"{label}: params={trig.params!r} must map parameter names to event paths")
    if not isinstance(trig.constants, Mapping):
        out.append(f"{label}: constants={trig.constants!r} must map parameter names to values")
    for param, path in paths.items():
        if not isinstance(path, str) or not EVENT_PATH_RE.match(path):
            out.append(
                f"{label}: parameter {param!r} maps to {path!r}, which is not an event path: write "
                "'$.detail.field' (dots and [index] steps)"
            )
    constants = dict(trig.constants) if isinstance(trig.constants, Mapping) else {}
    if trig.batch is not None:
        out.extend(batch_problems(wf, trig.batch, label, paths, constants))
        if isinstance(trig.batch, Batch) and trig.batch.files_param in wf.params_model.model_fields:
            paths = {**paths, trig.batch.files_param: ITEM_PATH}  # set by each batch
    how = "params={'%s': '$.detail.<field>'} or constants={'%s': ...}"
    out.extend(_param_problems(wf, label, constants, paths, how))
    return out


def _workflow_trigger_problems(wf: Workflow, trig: WorkflowTrigger, label: str) -> list[str]:
    out = upstream_problems(trig, label)
    if trig.upstream == wf.name:
        out.append(f"{label}: workflow {wf.name!r} would start itself each time it ends: name another workflow")
    paths = trig.params if isinstance(trig.params, Mapping) else {}
    constants = dict(trig.constants) if isinstance(trig.constants, Mapping) else {}
    how = "params={'%s': 'run_id'} or constants={'%s': ...}"
    return out + _param_problems(wf, label, constants, paths, how)


def _param_problems(
    wf: Workflow, label: str, constants: Mapping[str, Any], paths: Mapping[str, Any], how: str
) -> list[str]:
    """Unknown names, overlaps and missing required parameters; constant values are type-checked."""
    out: list[str] = []
    fields = wf.params_model.model_fields
    known = ", ".join(fields) or "none"
    for param in [*paths, *constants]:
        if param not in fields:
            out.append(f"{label} sets unknown parameter {param!r} (known parameters: {known})")
    for param in sorted(set(paths) & set(constants)):
        out.append(f"{label} sets parameter {param!r} both from the event and as a constant: keep one")
    for param, f in fields.items():
        if f.is_required() and param not in paths and param not in constants:
            fix = how.replace("%s", param)
            out.append(f"{label} leaves required parameter {param!r} unset: give it a value with {fix}")
    if not out and constants:
        # Type-check the constants; parameters that come from the event get stand-in values.
        try:
            wf.params_model.model_validate({**_placeholders(wf, paths), **constants})
        except PydanticValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                if loc not in paths:
                    out.append(f"{label}: parameter {loc!r} = {err['input']!r}: {err['msg']}")
    return out


def _placeholders(wf: Workflow, paths: Mapping[str, Any]) -> dict[str, Any]:
    """Stand-in values for parameters that come from the event (only their presence matters here)."""
    out: dict[str, Any] = {}
    for name in paths:
        f = wf.params_model.model_fields.get(name)
        if f is None:
            continue
        out[name] = f.default if not f.is_required() else _sample(f.annotation)
    return out


def _sample(annotation: Any) -> Any:
    """A value of type `annotation` (the first simple value it accepts), or None."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    candidates: tuple[Any, ...] = ("x", 0, 0.0, False, [], {})
    for candidate in candidates:
        try:
            return adapter.validate_python(candidate)
        except PydanticValidationError:
            continue
    return None
