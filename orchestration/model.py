"""The authoring model: workflows, tasks, dependencies and their settings.

Pure Python: declaring a workflow runs nothing and imports no AWS SDK. The compiler turns a
`Workflow` into Amazon States Language; the task runtime calls the decorated functions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict, Unpack, overload

from pydantic import BaseModel, ConfigDict, create_model
from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import ParameterError, WorkflowDefinitionError
from orchestration.foreach import DEFAULT_SCALE, ForEachScale, ScaleOptions, with_scale
from orchestration.lineage import DatasetOptions
from orchestration.permissions import Permission, permission_list
from orchestration.pools import Pool
from orchestration.subworkflow import OutputRef, ParamRef, child_params_function

CONTEXT_PARAM_NAMES = frozenset({"ctx", "context"})
ITEM_PARAM_NAME = "item"

TaskFn = Callable[..., Any]


class RunIf(StrEnum):
    """When a task runs, given the outcome of its dependencies (Databricks Lakeflow semantics).

    An edge counts as *succeeded* when the upstream task SUCCEEDED (and, for an edge on a condition
    task's outcome, returned that outcome); as *failed* when the upstream task FAILED or is
    UPSTREAM_FAILED; otherwise as *skipped*.
    """

    ALL_SUCCESS = "ALL_SUCCESS"
    AT_LEAST_ONE_SUCCESS = "AT_LEAST_ONE_SUCCESS"
    NONE_FAILED = "NONE_FAILED"
    ALL_DONE = "ALL_DONE"
    AT_LEAST_ONE_FAILED = "AT_LEAST_ONE_FAILED"
    ALL_FAILED = "ALL_FAILED"


@dataclass(frozen=True)
class Retry:
    """Retry policy of a task attempt (an ASL Retrier): `max_attempts` counts retries after the first."""

    max_attempts: int = 2
    interval_seconds: int = 1
    backoff_rate: float = 2.0
    max_delay_seconds: int | None = None
    jitter: bool = False
    errors: tuple[str, ...] = ("States.ALL",)


NO_RETRY = Retry(max_attempts=0)


@dataclass(frozen=True)
class Resources:
    """Lambda settings of the function that runs a task."""

    memory_mb: int = 512
    timeout_seconds: int = 300
    ephemeral_storage_mb: int = 512


@dataclass(frozen=True)
class Param:
    """A typed workflow parameter; `default=...` (Ellipsis) means required."""

    type: Any
    default: Any = ...
    description: str = ""


@dataclass(frozen=True)
class Outcome:
    """A dependency on one outcome (True or False) of a condition task."""

    task: str
    value: bool

    def __str__(self) -> str:
        return f"{self.task}.{'true' if self.value else 'false'}"


@dataclass(frozen=True)
class Dependency:
    """One edge of the DAG: `upstream` must be done before the dependent task starts."""

    upstream: str
    data: bool = False  # the dependent task receives the upstream output as an argument
    outcome: bool | None = None  # for condition tasks: the outcome this edge requires


@dataclass(frozen=True)
class SubWorkflow:
    """What a `run_workflow` task runs: another workflow, with parameter values (JSON literals,
    `ParamRef`s to the parent's parameters, `OutputRef`s to upstream tasks' outputs)."""

    workflow: Workflow
    params: Mapping[str, Any]


@dataclass
class Task:
    """A task declared with `@workflow.task`; calling the workflow runs nothing."""

    name: str
    fn: TaskFn
    after: tuple[str | Outcome, ...] = ()
    run_if: RunIf = RunIf.ALL_SUCCESS
    retry: Retry = NO_RETRY
    timeout_seconds: int | None = None
    resources: Resources = field(default_factory=Resources)
    condition: bool = False
    for_each: str | None = None
    max_concurrency: int = 10
    scale: ForEachScale = DEFAULT_SCALE  # for-each mode and tolerated failures (orchestration.foreach)
    description: str = ""
    permissions: tuple[Permission, ...] = ()  # what its function may touch on AWS (orchestration.permissions)
    env: dict[str, str] = field(default_factory=dict)  # environment variables of its function
    subflow: SubWorkflow | None = None  # set for a task declared with `Workflow.run_workflow`
    pool: Pool | str | None = None  # caps the tasks running at once across runs (orchestration.pools)
    reads: tuple[str, ...] = ()  # datasets it reads: S3 URIs, table names (orchestration.lineage)
    writes: tuple[str, ...] = ()  # datasets it writes

    @property
    def true(self) -> Outcome:
        """Dependency on this condition task returning True."""
        return Outcome(self.name, True)

    @property
    def false(self) -> Outcome:
        """Dependency on this condition task returning False."""
        return Outcome(self.name, False)

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    def argument_names(self) -> list[str]:
        """Parameters of the task function other than the context and the for-each item."""
        return [
            p.name
            for p in self.signature.parameters.values()
            if p.name not in CONTEXT_PARAM_NAMES and not (self.for_each and p.name == ITEM_PARAM_NAME)
        ]

    def data_inputs(self) -> list[str]:
        """Upstream tasks whose outputs this task receives (parameter names naming tasks)."""
        return [n for n in self.argument_names() if n != self.name]

    def dependencies(self, known: Container[str]) -> list[Dependency]:
        """Every edge into this task, sorted by upstream name; unknown names are left to validation."""
        data = {name for name in self.data_inputs() if name in known}
        outcomes = {ref.task: ref.value for ref in self.after if isinstance(ref, Outcome)}
        order = {ref for ref in self.after if isinstance(ref, str)}
        if self.for_each:
            order.add(self.for_each)  # the Map iterates its output; an argument only if named as one
        return [Dependency(n, data=n in data, outcome=outcomes.get(n)) for n in sorted(data | set(outcomes) | order)]


class TaskOptions(DatasetOptions, total=False):
    """Options of `@workflow.task` and `@workflow.condition`."""

    name: str | None
    after: Iterable[str | Task | Outcome]
    run_if: RunIf | str
    retry: Retry | int | None
    timeout_seconds: int | None
    resources: Resources | None
    description: str
    permissions: Iterable[Permission]
    env: Mapping[str, str]
    pool: Pool | str | None


class ForEachOptions(TaskOptions, ScaleOptions, total=False):
    """`@workflow.task` also runs a task once per item of an upstream task's list."""

    for_each: str | Task | None
    max_concurrency: int


class RunWorkflowOptions(TypedDict, total=False):
    """Options of `Workflow.run_workflow`."""

    after: Iterable[str | Task | Outcome]
    run_if: RunIf | str
    retry: Retry | int | None
    timeout_seconds: int | None
    description: str


TASK_OPTIONS = frozenset(TaskOptions.__annotations__)
RUN_WORKFLOW_OPTIONS = frozenset(RunWorkflowOptions.__annotations__)
FOR_EACH_OPTIONS = frozenset(ForEachOptions.__annotations__) | TASK_OPTIONS


class Workflow:
    """A named DAG of tasks with typed parameters.

    >>> wf = Workflow("daily_etl", params={"day": str, "limit": Param(int, default=100)})
    >>> @wf.task(retry=Retry(max_attempts=3, interval_seconds=30))
    ... def extract(ctx): ...
    """

    def __init__(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | type[BaseModel] | None = None,
        description: str = "",
        default_resources: Resources | None = None,
        timeout_seconds: int | None = None,
        type: str = "STANDARD",
        schedule: Any = None,
        triggers: Iterable[Any] = (),
        log_execution_data: bool = False,
        notify: Iterable[Any] = (),
        max_concurrent_runs: int | None = None,
        on_limit: str = "queue",
    ) -> None:
        self.name = name
        # at most this many runs at once (None: no limit); a run beyond it is queued or skipped (on_limit)
        self.max_concurrent_runs = max_concurrent_runs
        self.on_limit = on_limit
        # True: the state machine logs every event with its data (params, outputs, errors); else errors only
        self.log_execution_data = log_execution_data
        # orchestration.triggers.Schedule / EventTrigger declarations, checked by trigger_problems()
        self.schedule = schedule
        self.triggers = list(triggers) if isinstance(triggers, list | tuple) else triggers
        self.description = description
        # orchestration.notifications declarations (on_failure(...), ...), checked by validate()
        self.notify = list(notify) if isinstance(notify, list | tuple) else notify
        self.default_resources = default_resources or Resources()
        self.timeout_seconds = timeout_seconds
        self.type = type
        self.tasks: dict[str, Task] = {}
        self.duplicate_names: list[str] = []
        self.param_problems: list[str] = []
        self.params_model = self._build_params_model(params)

    # -- parameters -------------------------------------------------------------------------

    def _build_params_model(self, params: Mapping[str, Any] | type[BaseModel] | None) -> type[BaseModel]:
        if isinstance(params, type) and issubclass(params, BaseModel):
            return params
        fields: dict[str, Any] = {}
        for key, spec in (params or {}).items():
            if isinstance(spec, Param):
                fields[key] = (spec.type, spec.default)
            elif _is_type(spec):
                fields[key] = (spec, ...)
            else:
                self.param_problems.append(
                    f"parameter {key!r} has no type (got {spec!r}); declare it as "
                    f"{key}=Param({type(spec).__name__}, default={spec!r}) or {key}={type(spec).__name__}"
                )
        label = "".join(ch if ch.isalnum() else "_" for ch in str(self.name)) or "workflow"  # a valid class name
        model: type[BaseModel] = create_model(f"{label}_params", __config__=ConfigDict(extra="forbid"), **fields)
        return model

    def parse_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validate parameter values (strings are coerced) and return them with defaults applied."""
        try:
            parsed = self.params_model.model_validate(dict(values))
        except PydanticValidationError as exc:
            problems = []
            for err in exc.errors():
                name = ".".join(str(p) for p in err["loc"]) or "<params>"
                if err["type"] == "extra_forbidden":
                    known = ", ".join(self.params_model.model_fields) or "none"
                    problems.append(f"unknown parameter {name!r} (known parameters: {known})")
                elif err["type"] == "missing":
                    problems.append(f"parameter {name!r} is required: give it a value (orch run: --param {name}=VALUE)")
                else:
                    problems.append(f"parameter {name!r}: {err['msg']} (got {err.get('input')!r})")
            raise ParameterError(f"bad parameters for workflow {self.name!r}: " + "; ".join(problems)) from None
        return parsed.model_dump(mode="json")

    # -- tasks ------------------------------------------------------------------------------

    @overload
    def task(self, fn: TaskFn, /) -> Task: ...

    @overload
    def task(self, fn: None = None, /, **options: Unpack[ForEachOptions]) -> Callable[[TaskFn], Task]: ...

    def task(self, fn: TaskFn | None = None, /, **options: Unpack[ForEachOptions]) -> Task | Callable[[TaskFn], Task]:
        """Declare a task. Parameters of the function named after other tasks receive their outputs."""
        return self._declare(fn, False, FOR_EACH_OPTIONS, options)

    def condition(self, fn: TaskFn | None = None, /, **options: Unpack[TaskOptions]) -> Any:
        """Declare a condition task: it returns a bool; downstream tasks depend on `.true` or `.false`."""
        return self._declare(fn, True, TASK_OPTIONS, options)

    def _declare(
        self, fn: TaskFn | None, condition: bool, allowed: frozenset[str], options: Mapping[str, Any]
    ) -> Task | Callable[[TaskFn], Task]:
        unknown = sorted(set(options) - allowed)
        if unknown:
            kind = "@workflow.condition" if condition else "@workflow.task"
            raise WorkflowDefinitionError(
                f"{kind} got unknown option(s) {', '.join(map(repr, unknown))}; its options are: "
                + ", ".join(sorted(allowed))
            )

        def register(f: TaskFn) -> Task:  # for-each mode= (orchestration.foreach), reads=, writes= (lineage)
            return with_scale(self._add, f, options, condition=condition)

        return register(fn) if fn is not None else register

    def _add(
        self,
        fn: TaskFn,
        *,
        condition: bool,
        name: str | None = None,
        after: Iterable[str | Task | Outcome] = (),
        run_if: RunIf | str = RunIf.ALL_SUCCESS,
        retry: Retry | int | None = None,
        timeout_seconds: int | None = None,
        resources: Resources | None = None,
        for_each: str | Task | None = None,
        max_concurrency: int = 10,
        description: str = "",
        permissions: Iterable[Permission] = (),
        env: Mapping[str, str] | None = None,
        pool: Pool | str | None = None,
    ) -> Task:
        if not callable(fn):
            raise WorkflowDefinitionError(f"@task expects a function, got {fn!r}")
        task_name = name or fn.__name__
        try:
            run_if_value = RunIf(run_if.upper() if isinstance(run_if, str) else run_if)
        except ValueError:
            choices = ", ".join(r.value for r in RunIf)
            raise WorkflowDefinitionError(
                f"task {task_name!r}: unknown run_if {run_if!r}; use one of {choices}"
            ) from None
        if isinstance(retry, bool) or (retry is not None and not isinstance(retry, Retry | int)):
            raise WorkflowDefinitionError(f"task {task_name!r}: retry must be a Retry(...) or an int, got {retry!r}")
        retry_value = Retry(max_attempts=retry) if isinstance(retry, int) else (retry or NO_RETRY)
        refs: list[str | Outcome] = []
        for ref in after:
            if isinstance(ref, Task):
                refs.append(ref.name)
            elif isinstance(ref, str | Outcome):
                refs.append(_parse_ref(ref) if isinstance(ref, str) else ref)
            else:
                raise WorkflowDefinitionError(
                    f"task {task_name!r}: after= takes task names, tasks or condition outcomes "
                    f"(task.true / task.false), got {ref!r}"
                )
        source = for_each.name if isinstance(for_each, Task) else for_each
        if env is not None and not isinstance(env, Mapping):
            raise WorkflowDefinitionError(f"task {task_name!r}: env= takes a dict of strings, got {env!r}")
        task = Task(
            name=task_name,
            fn=fn,
            after=tuple(refs),
            run_if=run_if_value,
            retry=retry_value,
            timeout_seconds=timeout_seconds,
            resources=resources or self.default_resources,
            condition=condition,
            for_each=source,
            max_concurrency=max_concurrency,
            description=description or (inspect.getdoc(fn) or "").split("\n")[0],
            permissions=permission_list(permissions, task_name),
            env=dict(env or {}),
            pool=pool,
        )
        if task_name in self.tasks:
            self.duplicate_names.append(task_name)
        else:
            self.tasks[task_name] = task
        return task

    # -- sub-workflows -----------------------------------------------------------------------

    def param(self, name: str) -> ParamRef:
        """This workflow's parameter `name`, passed on to a workflow run by `run_workflow`."""
        if name not in self.params_model.model_fields:
            known = ", ".join(self.params_model.model_fields) or "none"
            raise WorkflowDefinitionError(
                f"workflow {self.name!r} has no parameter {name!r} to pass on (its parameters: {known})"
            )
        return ParamRef(name)

    def run_workflow(
        self,
        name: str,
        /,
        *,
        workflow: Workflow,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[RunWorkflowOptions],
    ) -> Task:
        """Declare a task that runs `workflow` as a child run and succeeds when that run succeeds.

        `params` values are JSON literals, `self.param("name")` (this run's parameter) or an
        upstream `Task` (its output). The task's output is {"run_id", "workflow", "status", "tasks"}.
        """
        if not isinstance(workflow, Workflow):
            raise WorkflowDefinitionError(
                f"run_workflow({name!r}): workflow= takes a Workflow, got {type(workflow).__name__} {workflow!r}"
            )
        unknown = sorted(set(options) - RUN_WORKFLOW_OPTIONS)
        if unknown:
            raise WorkflowDefinitionError(
                f"run_workflow({name!r}) got unknown option(s) {', '.join(map(repr, unknown))}; its options are: "
                + ", ".join(sorted(RUN_WORKFLOW_OPTIONS))
            )
        values = {key: OutputRef(v.name) if isinstance(v, Task) else v for key, v in (params or {}).items()}
        task = self._add(child_params_function(name, workflow.name, values), condition=False, name=name, **options)
        task.subflow = SubWorkflow(workflow, values)
        return task

    # -- graph helpers ------------------------------------------------------------------------

    def dependencies(self) -> dict[str, list[Dependency]]:
        return {name: task.dependencies(self.tasks) for name, task in self.tasks.items()}

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, tasks={list(self.tasks)})"


def _is_type(spec: Any) -> bool:
    return (
        isinstance(spec, type)
        or getattr(spec, "__origin__", None) is not None
        or (type(spec).__module__ in {"typing", "types"} and not isinstance(spec, str))
    )


def _parse_ref(ref: str) -> str | Outcome:
    """'check.true' / 'check.false' name a condition outcome; anything else is a task name."""
    base, _, suffix = ref.rpartition(".")
    if base and suffix in {"true", "false"}:
        return Outcome(base, suffix == "true")
    return ref
