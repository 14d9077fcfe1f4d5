"""Validate a workflow, collecting every problem into one readable report."""

from __future__ import annotations

import inspect
import json
import re

from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import ValidationError
from orchestration.foreach import scale_problems, source_problems
from orchestration.graph import find_cycle, topological_order
from orchestration.model import (
    CONTEXT_PARAM_NAMES,
    ITEM_PARAM_NAME,
    Dependency,
    Outcome,
    RunIf,
    SubWorkflow,
    Task,
    Workflow,
)
from orchestration.notifications import notification_problems
from orchestration.pools import pool_problems
from orchestration.subworkflow import OutputRef, ParamRef, is_ref
from orchestration.triggers import trigger_problems
from orchestration.triggers.schedules import int_in

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
WORKFLOW_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,47}$")
RESERVED_TASK_NAMES = frozenset({"Start", "Finalize", "Outcome", *CONTEXT_PARAM_NAMES, ITEM_PARAM_NAME})
LAMBDA_MAX_TIMEOUT = 900
ASL_MAX_INT = 99_999_999
WORKFLOW_TYPES = ("STANDARD", "EXPRESS")
ON_LIMIT = ("queue", "skip")  # what happens to a run beyond max_concurrent_runs
ENV_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")  # what Lambda accepts as a variable name
# Set by Lambda, the runtime or the platform: AWS_REGION, AWS_LAMBDA_*, LAMBDA_TASK_ROOT, ORCH_*, POWERTOOLS_*...
RESERVED_ENV_PREFIXES = ("AWS_", "LAMBDA_", "ORCH_", "POWERTOOLS_")
RESERVED_ENV_NAMES = frozenset({"TZ", "PATH", "PYTHONPATH", "LD_LIBRARY_PATH"})
LAMBDA_ENV_MAX_BYTES = 4096  # all of a function's variables, as JSON
PLATFORM_ENV_BYTES = 1024  # kept for the platform's own variables (table, bucket, workflow file...)


def validate(workflow: Workflow) -> None:
    """Raise ValidationError listing every problem, or return None when the workflow is valid."""
    found = problems(workflow)
    if found:
        raise ValidationError(workflow.name, found)


def problems(workflow: Workflow) -> list[str]:
    out: list[str] = []
    if not WORKFLOW_NAME_RE.match(workflow.name or ""):
        out.append(
            f"workflow name {workflow.name!r} is not usable as a state machine name: use 1-48 letters, "
            "digits, '_' or '-', starting with a letter"
        )
    if workflow.type not in WORKFLOW_TYPES:
        out.append(f"workflow type {workflow.type!r} is unknown: use 'STANDARD' or 'EXPRESS'")
    if workflow.timeout_seconds is not None and not int_in(workflow.timeout_seconds, 1, ASL_MAX_INT):
        out.append(f"workflow timeout_seconds={workflow.timeout_seconds!r} must be a positive integer")
    if not isinstance(workflow.log_execution_data, bool):
        out.append(
            f"workflow log_execution_data={workflow.log_execution_data!r} must be True or False "
            "(True: the state machine logs every event with its data)"
        )
    out.extend(_limit_problems(workflow))
    out.extend(workflow.param_problems)
    out.extend(trigger_problems(workflow))
    out.extend(notification_problems(workflow.notify))
    out.extend(pool_problems(workflow.tasks))
    out.extend(source_problems(workflow.tasks.values(), express=workflow.type == "EXPRESS"))
    if workflow.type == "EXPRESS" and any(t.pool is not None for t in workflow.tasks.values()):
        out.append("an EXPRESS workflow cannot wait for a pool slot (no task tokens): use type='STANDARD'")
    if not workflow.tasks:
        out.append("the workflow has no tasks: declare at least one with @workflow.task")
    for name in sorted(set(workflow.duplicate_names)):
        out.append(f"task name {name!r} is declared more than once: give each task a unique name")
    names = set(workflow.tasks)
    for task in workflow.tasks.values():
        out.extend(_task_problems(task, workflow, names))
    deps = {t: [d for d in ds if d.upstream in names] for t, ds in workflow.dependencies().items()}
    cycle = find_cycle({t: [d.upstream for d in ds] for t, ds in deps.items()})
    if cycle:
        out.append(f"dependency cycle: {' -> '.join(cycle)}; remove one of these dependencies")
    else:
        out.extend(_unreachable_data(workflow, deps))
    out.extend(_subworkflow_problems(workflow))
    return out


def _limit_problems(wf: Workflow) -> list[str]:
    out: list[str] = []
    limit = wf.max_concurrent_runs
    if limit is not None and not int_in(limit, 1, ASL_MAX_INT):
        out.append(
            f"workflow max_concurrent_runs={limit!r} must be a whole number of at least 1 "
            "(or None for no limit), e.g. max_concurrent_runs=1"
        )
    if wf.on_limit not in ON_LIMIT:
        out.append(f"workflow on_limit={wf.on_limit!r} is unknown: use 'queue' (wait for a slot) or 'skip'")
    if limit is not None and wf.type != "STANDARD":
        out.append(
            f"workflow max_concurrent_runs={limit!r} needs type 'STANDARD': an {wf.type} execution sends no "
            "status-change event, so its slot could not be released; drop the limit or use type='STANDARD'"
        )
    return out


def warnings(workflow: Workflow) -> list[str]:
    """What is allowed but worth a second look: wildcards in the tasks' permissions (see
    orchestration.permissions for what counts as one). Never fails a command or a synth."""
    return [
        f"task {task.name!r}: {warning}"
        for task in workflow.tasks.values()
        for permission in task.permissions
        for warning in permission.warnings
    ]


def _env_problems(task: Task) -> list[str]:
    t = f"task {task.name!r}"
    out: list[str] = []
    for key, value in task.env.items():
        if not isinstance(key, str) or not ENV_NAME_RE.match(key):
            out.append(
                f"{t}: env key {key!r} is not a variable name Lambda accepts: use letters, digits and '_', "
                "starting with a letter (2 characters at least)"
            )
        elif key in RESERVED_ENV_NAMES or key.startswith(RESERVED_ENV_PREFIXES):
            out.append(
                f"{t}: env key {key!r} is reserved (set by Lambda, the Python runtime or this platform: "
                f"{', '.join(p + '*' for p in RESERVED_ENV_PREFIXES)}, {', '.join(sorted(RESERVED_ENV_NAMES))}); "
                "rename it"
            )
        if not isinstance(value, str):
            out.append(f"{t}: env {key!r} must be a string, got {type(value).__name__} {value!r}: write {str(value)!r}")
    if not out:
        size = len(json.dumps(task.env, separators=(",", ":")).encode())
        budget = LAMBDA_ENV_MAX_BYTES - PLATFORM_ENV_BYTES
        if size > budget:
            largest = max(task.env, key=lambda k: len(k) + len(task.env[k]))
            out.append(
                f"{t}: env is {size} bytes (as JSON), over the {budget} bytes left of Lambda's 4 KB environment "
                f"once the platform's variables are in; the largest is {largest!r}: shorten it, or move large "
                "values to a file in the code asset or to SSM/Secrets Manager"
            )
    return out


def _task_problems(task: Task, wf: Workflow, names: set[str]) -> list[str]:
    out: list[str] = []
    t = f"task {task.name!r}"
    if not NAME_RE.match(task.name):
        out.append(
            f"task name {task.name!r} is not allowed: use 1-48 letters, digits or '_', starting with a letter "
            "(it becomes a Step Functions state name and part of a Lambda function name)"
        )
    elif task.name in RESERVED_TASK_NAMES:
        out.append(f"task name {task.name!r} is reserved: rename the task")

    def known() -> str:  # only for a message: sorting every name per task is slow on big workflows
        return ", ".join(sorted(names)) or "none"

    sig = task.signature
    for param in sig.parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            out.append(f"{t}: *args/**kwargs are not supported; name each upstream task as a parameter")
            continue
        if param.name in CONTEXT_PARAM_NAMES or (task.for_each and param.name == ITEM_PARAM_NAME):
            continue
        if param.name == task.name:
            out.append(f"{t} takes its own output as parameter {param.name!r}: a task cannot depend on itself")
        elif param.name not in names and param.default is inspect.Parameter.empty:
            out.append(
                f"{t}: parameter {param.name!r} names no task (known tasks: {known()}); rename it to the "
                "task whose output it receives, or give it a default value"
            )
    if task.for_each and ITEM_PARAM_NAME not in sig.parameters:
        out.append(f"{t} runs for each item of {task.for_each!r} but has no 'item' parameter: add one")
    outcome_values: dict[str, set[bool]] = {}
    for ref in task.after:
        ref_name = ref.task if isinstance(ref, Outcome) else ref
        if ref_name not in names:
            out.append(f"{t} depends on unknown task {ref_name!r} (known tasks: {known()})")
        elif ref_name == task.name:
            out.append(f"{t} lists itself in after=: a task cannot depend on itself")
        elif isinstance(ref, Outcome):
            if not wf.tasks[ref_name].condition:
                out.append(
                    f"{t} depends on {ref}, but {ref_name!r} is not a condition task: declare it with "
                    "@workflow.condition or depend on the task itself"
                )
            outcome_values.setdefault(ref_name, set()).add(ref.value)
    for cond, values in sorted(outcome_values.items()):
        if len(values) > 1:
            out.append(f"{t} depends on both {cond}.true and {cond}.false: keep one (or depend on {cond!r})")
    if task.for_each is not None:
        if task.for_each not in names:
            out.append(f"{t} runs for each item of unknown task {task.for_each!r} (known tasks: {known()})")
        elif task.for_each == task.name:
            out.append(f"{t} runs for each item of itself: name an upstream task that returns a list")
    out.extend(scale_problems(task))
    if task.condition and task.for_each:
        out.append(f"{t} cannot be both a condition and a for-each task")
    out.extend(_env_problems(task))
    r = task.retry
    if not int_in(r.max_attempts, 0, 99):
        out.append(f"{t}: retry max_attempts={r.max_attempts!r} must be an integer from 0 to 99")
    if not int_in(r.interval_seconds, 1, ASL_MAX_INT):
        out.append(f"{t}: retry interval_seconds={r.interval_seconds!r} must be a whole number of seconds >= 1")
    if not isinstance(r.backoff_rate, int | float) or isinstance(r.backoff_rate, bool) or r.backoff_rate < 1.0:
        out.append(f"{t}: retry backoff_rate={r.backoff_rate!r} must be a number >= 1.0")
    if r.max_delay_seconds is not None and (
        not int_in(r.max_delay_seconds, 1, 31_622_400)
        or (isinstance(r.interval_seconds, int) and r.max_delay_seconds < r.interval_seconds)
    ):
        out.append(
            f"{t}: retry max_delay_seconds={r.max_delay_seconds!r} must be an integer between "
            f"interval_seconds ({r.interval_seconds}) and 31622400"
        )
    if not r.errors or ("States.ALL" in r.errors and len(r.errors) > 1):
        out.append(f"{t}: retry errors={list(r.errors)!r} must be non-empty, with 'States.ALL' only alone")
    res = task.resources
    if task.timeout_seconds is not None and task.subflow is None:
        if not int_in(task.timeout_seconds, 1, LAMBDA_MAX_TIMEOUT):
            out.append(
                f"{t}: timeout_seconds={task.timeout_seconds!r} must be a whole number of seconds from 1 to "
                f"{LAMBDA_MAX_TIMEOUT} (a Lambda invocation cannot run longer)"
            )
        elif int_in(res.timeout_seconds, 1, LAMBDA_MAX_TIMEOUT) and task.timeout_seconds > res.timeout_seconds:
            out.append(
                f"{t}: timeout_seconds={task.timeout_seconds} exceeds its Lambda timeout "
                f"({res.timeout_seconds} s): raise Resources(timeout_seconds=...) or lower the task timeout"
            )
    if not int_in(res.memory_mb, 128, 10_240):
        out.append(f"{t}: memory_mb={res.memory_mb!r} must be an integer from 128 to 10240")
    if not int_in(res.timeout_seconds, 1, LAMBDA_MAX_TIMEOUT):
        out.append(f"{t}: Lambda timeout_seconds={res.timeout_seconds!r} must be an integer from 1 to 900")
    if not int_in(res.ephemeral_storage_mb, 512, 10_240):
        out.append(f"{t}: ephemeral_storage_mb={res.ephemeral_storage_mb!r} must be an integer from 512 to 10240")
    return out


def _unreachable_data(wf: Workflow, deps: dict[str, list[Dependency]]) -> list[str]:
    """A task that consumes an output which can never exist when it runs (opposite condition branches).
    `deps`: the workflow's dependencies on its own tasks."""
    order = topological_order({t: [d.upstream for d in ds] for t, ds in deps.items()})
    guards: dict[str, set[tuple[str, bool]]] = {}
    for name in order:
        task = wf.tasks[name]
        guard: set[tuple[str, bool]] = set()
        if task.run_if == RunIf.ALL_SUCCESS:
            for d in deps[name]:
                guard |= guards[d.upstream]
                if d.outcome is not None:
                    guard.add((d.upstream, d.outcome))
        guards[name] = guard
    out = []
    for name in order:
        for d in deps[name]:
            if not d.data:
                continue
            conflicts = sorted(cond for cond, value in guards[d.upstream] if (cond, not value) in guards[name])
            if conflicts:
                out.append(
                    f"task {name!r} uses the output of {d.upstream!r}, which only runs on the other outcome "
                    f"of condition {conflicts[0]!r}: that output can never reach it; depend on a task on "
                    "the same side of the condition"
                )
    return out


# -- tasks that run other workflows --------------------------------------------------------------------


def _subworkflow_problems(wf: Workflow) -> list[str]:
    """The run_workflow tasks: no workflow runs itself, directly or through others; one workflow per
    name; each child valid and its parameters valid for it."""
    subs = {name: t.subflow for name, t in sorted(wf.tasks.items()) if t.subflow is not None}
    if not subs:
        return []
    chain = _workflow_cycle(wf, [])
    if chain:
        return [
            "workflow cycle: " + " -> ".join(chain) + ": a workflow cannot run itself, directly or through the "
            "workflows it runs; remove one of these run_workflow tasks"
        ]
    out = [
        f"two different workflows are named {name!r} among {wf.name!r} and the workflows it runs: rename one"
        for name in _clashing_names(wf)
    ]
    for name, sub in subs.items():
        t = f"task {name!r}"
        child = sub.workflow
        found = problems(child)
        if found:
            out.append(f"{t} runs workflow {child.name!r}, which is invalid: " + "; ".join(found))
        out.extend(f"{t}: {p}" for p in _child_params_problems(wf, sub))
        timeout = wf.tasks[name].timeout_seconds
        if timeout is not None and not int_in(timeout, 1, ASL_MAX_INT):
            out.append(f"{t}: timeout_seconds={timeout!r} must be a positive whole number of seconds")
    for task in wf.tasks.values():
        if task.for_each in subs:
            out.append(
                f"task {task.name!r} runs for each item of {task.for_each!r}, which runs a workflow and returns "
                "a summary of that run, not a list: iterate over the output of a task that returns a list"
            )
    return out


def _children(wf: Workflow) -> list[tuple[str, Workflow]]:
    return [(name, t.subflow.workflow) for name, t in sorted(wf.tasks.items()) if t.subflow is not None]


def _workflow_cycle(wf: Workflow, path: list[tuple[Workflow, str]]) -> list[str] | None:
    """`a (task x) -> b (task y) -> a` when `wf` runs itself through the workflows it runs."""
    seen = [w for w, _ in path]
    if any(w is wf for w in seen):
        start = next(i for i, w in enumerate(seen) if w is wf)
        return [f"{w.name!r} (task {task!r})" for w, task in path[start:]] + [repr(wf.name)]
    for task, child in _children(wf):
        chain = _workflow_cycle(child, [*path, (wf, task)])
        if chain:
            return chain
    return None


def _clashing_names(wf: Workflow) -> list[str]:
    """Names that two different workflow objects carry among `wf` and its descendants (acyclic)."""
    by_name: dict[str, Workflow] = {}
    clashes: set[str] = set()
    todo = [wf]
    while todo:
        current = todo.pop()
        if by_name.setdefault(current.name, current) is not current:
            clashes.add(current.name)
        todo.extend(child for _, child in _children(current))
    return sorted(clashes)


def _child_params_problems(wf: Workflow, sub: SubWorkflow) -> list[str]:
    """The literal values against the child's parameter model; references against the parent."""
    child = sub.workflow
    out: list[str] = []
    for key, value in sub.params.items():
        if isinstance(value, ParamRef) and value.name not in wf.params_model.model_fields:
            out.append(f"parameter {key!r} takes {wf.name!r}'s parameter {value.name!r}, which it does not declare")
        elif isinstance(value, OutputRef) and value.task not in wf.tasks:
            out.append(f"parameter {key!r} takes the output of {value.task!r}, which is not a task of {wf.name!r}")
        elif not is_ref(value):
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                out.append(f"parameter {key!r}: {value!r} is not a JSON value; pass a literal or a reference")
    literals = {k: v for k, v in sub.params.items() if not is_ref(v)}
    try:
        child.params_model.model_validate(literals)
    except PydanticValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                known = ", ".join(child.params_model.model_fields) or "none"
                out.append(f"workflow {child.name!r} has no parameter {key!r} (its parameters: {known})")
            elif err["type"] != "missing":
                out.append(f"parameter {key!r} of workflow {child.name!r}: {err['msg']} (got {err.get('input')!r})")
            elif key not in sub.params:
                out.append(f"workflow {child.name!r} requires parameter {key!r}: give it a value in params=")
    return out
