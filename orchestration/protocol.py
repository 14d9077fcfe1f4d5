"""The contract between the compiler, the platform functions, the local runtime and infra (pure).

Every payload that crosses a boundary is a model here (the trigger deliveries and run-end events
are in `orchestration.deliveries`, the `Payload` base in `orchestration.payload`: both re-exported
here), and so is every limit two sides share:

- the compiler emits payload templates with `Payload.template(...)`, which checks each key against
  the model, so a key the handler does not read cannot be emitted;
- handlers parse what they receive with `Model.model_validate(event)`;
- infra builds trigger target inputs with the same `template` call.

State document while a run executes (`StateDocument`)::

    {"ctx": RunContext, "res": {"<task>": TaskResult, "_p<n>": {...}, "_j_<task>": {...}}}
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Annotated, Any, Literal, cast

from pydantic import Field, TypeAdapter

from orchestration.deliveries import (
    RUN_ENDED_DETAIL_TYPE as RUN_ENDED_DETAIL_TYPE,
)
from orchestration.deliveries import (
    RUN_EVENT_SOURCE as RUN_EVENT_SOURCE,
)
from orchestration.deliveries import (
    STATUS_CHANGE_DETAIL_TYPE as STATUS_CHANGE_DETAIL_TYPE,
)
from orchestration.deliveries import (
    STATUS_CHANGE_SOURCE as STATUS_CHANGE_SOURCE,
)
from orchestration.deliveries import (
    BatchFlush as BatchFlush,
)
from orchestration.deliveries import (
    ChainDelivery as ChainDelivery,
)
from orchestration.deliveries import (
    EventDelivery as EventDelivery,
)
from orchestration.deliveries import (
    RunEnded as RunEnded,
)
from orchestration.deliveries import (
    ScheduleDelivery as ScheduleDelivery,
)
from orchestration.deliveries import (
    StatusChangeDetail as StatusChangeDetail,
)
from orchestration.deliveries import (
    TriggerResult as TriggerResult,
)
from orchestration.payload import JsonPath as JsonPath
from orchestration.payload import Payload as Payload
from orchestration.status import RunStatus, TaskStatus

# -- limits shared by the compiler, the task runtime and the run starters -----------------------------

PAYLOAD_LIMIT_BYTES = 262_144  # Step Functions: state input/output
STATE_BUDGET_BYTES = 180_000  # of PAYLOAD_LIMIT_BYTES, what task results may use
MAX_INLINE_OUTPUT = 32_768  # a task output above its limit goes to the artifact bucket
MIN_INLINE_OUTPUT = 256
FOR_EACH_ITEM_INLINE = 128  # per-item results of a for-each stay tiny: big ones travel as refs
RESULT_OVERHEAD_BYTES = 64  # {"status": "SUCCEEDED", "output": ...} around each task's output
MAX_PARAMS_BYTES = 8_192  # a run's parameters as JSON

# -- definition substitutions: `${placeholder}` names of the Lambda ARNs a definition needs -------------

JOIN_FUNCTION = "fn__join"
FINALIZE_FUNCTION = "fn__finalize"


def function_placeholder(task: str) -> str:
    """Name of the definition substitution holding the Lambda ARN of a task function, after the first
    task of the tasks it runs (one configuration: `grouping.function_placeholders`). Task names start
    with a letter: never a platform function's (`fn__...`)."""
    return f"fn_{task}"


def task_of_placeholder(placeholder: str) -> str | None:
    """The task naming the group whose function `placeholder` holds (`grouping.placeholder_tasks`
    has all its tasks); None for a platform function's or a workflow's."""
    task = placeholder.removeprefix("fn_")
    return task if task != placeholder and not task.startswith("_") else None


def workflow_placeholder(workflow: str) -> str:
    """Name of the definition substitution that holds the state machine ARN of a child workflow
    (letters, digits and '_'; a name with '-' gets a hash suffix to stay unique)."""
    if "-" not in workflow:
        return f"wf_{workflow}"
    return f"wf_{workflow.replace('-', '_')}_{hashlib.sha1(workflow.encode()).hexdigest()[:8]}"


# -- resource tags: how a deployed stack's workflows and tasks are found (`operations.stack`) -----------

WORKFLOW_TAG = "orch:workflow"  # on a workflow's state machine and on its task functions
TASK_TAG = "orch:task"  # on a task function: the task it runs
TASKS_METADATA = "orch:tasks"  # template metadata of a function several tasks share: their names


# -- the state document ------------------------------------------------------------------------------


class RunContext(Payload):
    """`$.ctx` of the state document; every task and the finalize step receive it as `run`."""

    run_id: str
    workflow: str
    params: dict[str, Any] = Field(default_factory=dict)
    logical_date: str | None = None
    repair: int = 0  # 0: the run's first pass; n: its repair number n (see `RepairInput`)


class TaskResult(Payload):
    """A task's entry in `$.res`: what the run-if rules and the finalize step read."""

    status: TaskStatus
    output: Any = None
    error: Any = None  # the Error name from the task's Catch


class StateDocument(Payload):
    ctx: RunContext
    res: dict[str, Any] = Field(default_factory=dict)


class ParentLink(Payload):
    """The run, workflow and task (with its attempt) that started a child run."""

    run_id: str
    workflow: str
    task: str
    attempt: int


def _is_none(value: Any) -> bool:
    return value is None


class RepairInput(Payload):
    """A repair's execution: which run it repairs, and the repair's number (1, 2, ...)."""

    run_id: str
    number: int


class ExecutionInput(Payload):
    """What a run's execution is started with (the Start state reads it)."""

    params: dict[str, Any] = Field(default_factory=dict)
    logical_date: str | None = None
    # A repair's: the run and repair number (the execution's name is `repair_execution_name`).
    repair: RepairInput | None = Field(default=None, exclude_if=_is_none)
    # A child run's: who started it, and the parent execution's ARN under the name with which the
    # Step Functions console links the two executions. Left out of the input when absent.
    parent: ParentLink | None = Field(default=None, exclude_if=_is_none)
    started_by: str | None = Field(
        default=None, alias="AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", exclude_if=_is_none
    )
    # A part of a split workflow, started by its parent's execution (not a run: the recorder skips it).
    part: int | None = Field(default=None, exclude_if=_is_none)
    # A run started outside orch's starter (a backfill on the stack): what the recorder records.
    trigger: dict[str, Any] | None = Field(default=None, exclude_if=_is_none)
    definition_hash: str | None = Field(default=None, exclude_if=_is_none)


def state_path(*parts: str) -> str:
    """JSONPath into the state document: state_path("res", "extract", "output")."""
    return ".".join(["$", *parts])


CTX_PATH = state_path("ctx")
RES_PATH = state_path("res")

# -- task function -----------------------------------------------------------------------------------


class ForEachFeed(Payload):
    """How a list feeding for-each tasks travels (`orchestration.foreach`): in the state while it fits
    the inline Map's quotas (`max_items` for the history, `max_bytes` for the list and its results),
    else ("auto", "distributed") as a list in the artifact bucket that a Distributed Map reads."""

    mode: Literal["inline", "auto", "distributed"]
    max_items: int
    max_bytes: int
    consumers: list[str]  # the for-each tasks iterating it


class TaskEvent(Payload):
    """Input of the task runtime (one task attempt, or one item of a for-each)."""

    run: RunContext
    task: str
    attempt: int = 0  # $$.State.RetryCount: 0 on the first attempt
    inputs: dict[str, Any] = Field(default_factory=dict)  # upstream task -> its output (or a ref)
    limit: int = MAX_INLINE_OUTPUT  # largest output kept inline, in bytes of JSON
    items: int | None = None  # set when the output feeds a for-each: per-item inline limit
    feed: ForEachFeed | None = None  # set when the output feeds a for-each: where its list travels
    item: Any = None  # for-each: the item
    index: int | None = None  # for-each: the item's index
    # set when the task decides its run-if itself (no Choice state): each dependency's status (and
    # output, on a condition edge)
    upstream: dict[str, TaskResult] | None = None


class TaskResponse(Payload):
    """Output of the task runtime."""

    output: Any = None
    status: TaskStatus = TaskStatus.SUCCEEDED  # SKIPPED / UPSTREAM_FAILED: the task decided not to run


class ArtifactRef(Payload):
    """A task output stored in the artifact bucket, travelling in the state in its place. Only the
    task runtime makes one: a task's own value that holds this key travels as a `LiteralOutput`."""

    uri: str = Field(alias="__orch_ref__")
    bytes: int
    # A list feeding a Distributed Map: its length, and its bucket and key for the Map's ItemReader
    # (its elements are encoded outputs, decoded one by one).
    items: int | None = Field(default=None, exclude_if=_is_none)
    bucket: str | None = Field(default=None, exclude_if=_is_none)
    object_key: str | None = Field(default=None, exclude_if=_is_none)


class LiteralOutput(Payload):
    """A task's own value that holds a reference's or this wrapper's key (at any depth), wrapped so
    that it travels as data and reaches its consumers exactly as the task returned it."""

    value: Any = Field(alias="__orch_lit__")


class ForEachCollect(Payload):
    """After a for-each's Map: its results in item order (an inline Map's `outputs`, or a Distributed
    Map's ResultWriter `manifest` for `count` items), kept inline or stored as a list reference."""

    step: Literal["collect"] = "collect"
    run: RunContext
    task: str
    outputs: list[Any] | None = None
    manifest: dict[str, Any] | None = None  # {"Bucket", "Key"} of the map run's manifest.json
    count: int | None = None
    limit: int = MAX_INLINE_OUTPUT
    feed: ForEachFeed | None = None  # when the for-each's own results feed another for-each


REF_KEY = ArtifactRef.key("uri")
LIT_KEY = LiteralOutput.key("value")

# -- joins -------------------------------------------------------------------------------------------


class JoinWait(Payload):
    """A `.waitForTaskToken` task: store the token, release it when every awaited task signalled."""

    action: Literal["wait"] = "wait"
    token: str
    workflow: str
    run_id: str
    repair: int = 0  # the run's pass: each has its own join items
    task: str
    needs: list[str]
    # an awaited task that ended just before this wait, in the same branch: signalled first (one
    # state instead of a signal state and a wait state)
    signal: JoinSignal | None = None


class JoinSignal(Payload):
    """An awaited task ended (whatever its status): record its result, release complete joins."""

    action: Literal["signal"] = "signal"
    workflow: str
    run_id: str
    repair: int = 0
    task: str
    result: dict[str, Any]
    joins: list[str]


JoinRequest = Annotated[JoinWait | JoinSignal, Field(discriminator="action")]


@cache
def _join_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, JoinRequest))  # a special form: typed as Any for TypeAdapter


def parse_join_request(payload: Any) -> JoinWait | JoinSignal:
    """A join function event: a wait or a signal, told apart by its action."""
    request: JoinWait | JoinSignal = _join_adapter().validate_python(payload)
    return request


class JoinResponse(Payload):
    released: int


# -- a task that runs another workflow (each attempt: start, the child's execution, end) ---------------


class ChildStart(Payload):
    """Start of an attempt: claim its number, check the child's parameters, record the child run."""

    step: Literal["start"] = "start"
    run: RunContext
    task: str
    entered: str  # $$.State.EnteredTime: the same across retried invocations of one attempt
    execution: str  # $$.Execution.Id: the parent execution's ARN
    inputs: dict[str, Any] = Field(default_factory=dict)  # upstream task -> its output (or a ref)


class ChildStarted(Payload):
    """The start step's answer: the child run id (its execution's name) and its execution input."""

    run_id: str
    attempt: int
    started_at: str
    input: dict[str, Any]  # ExecutionInput, by alias


class ChildEnd(Payload):
    """End of an attempt: record it, and return the task's output or fail with the child's outcome."""

    step: Literal["end"] = "end"
    run: RunContext
    task: str
    child: ChildStarted
    execution: dict[str, Any]  # the startExecution.sync:2 result, or the error its Catch caught
    limit: int = MAX_INLINE_OUTPUT


class ChildAttempt(Payload):
    """The state of one attempt of a run_workflow task (the branch of its Parallel state)."""

    ctx: RunContext
    inputs: dict[str, Any] = Field(default_factory=dict)
    child: ChildStarted | None = None  # the start step's result
    execution: dict[str, Any] | None = None  # the child execution's result
    response: TaskResponse | None = None  # the end step's: the task's output


class ChildReuse(Payload):
    """A repair reuses the task's recorded output (its start step raised `REUSED_ERROR`): return it."""

    step: Literal["reuse"] = "reuse"
    run: RunContext
    task: str


ChildRequest = Annotated[ChildStart | ChildEnd | ChildReuse, Field(discriminator="step")]


@cache
def _child_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, ChildRequest))


def parse_child_request(payload: Any) -> ChildStart | ChildEnd | ChildReuse:
    """A sub-workflow step's event: the start or the end of an attempt, or a reuse, told apart by its step."""
    request: ChildStart | ChildEnd | ChildReuse = _child_adapter().validate_python(payload)
    return request


# -- end of a run ------------------------------------------------------------------------------------


class PartOutcome(Payload):
    """What a part of a split workflow (`compiler.split`) returns to its parent: the outcome of its
    tasks by `run_outcome`, and which of them failed."""

    status: RunStatus
    error: str | None = None


class FinalizeEvent(Payload):
    run: RunContext
    leaves: list[str]
    tasks: dict[str, TaskResult]
    # A part of a split workflow: record its tasks' summaries, return its PartOutcome (the run's
    # status is its parent's to record).
    part: int | None = Field(default=None, exclude_if=_is_none)
    # The parent of a split workflow: the run's outcome from its parts' (`tasks` is empty).
    parts: list[PartOutcome] | None = Field(default=None, exclude_if=_is_none)


class TaskSummary(Payload):
    """A task's final record (also each task of the execution's output)."""

    status: str
    attempts: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    items: int | None = None
    output: Any = None  # a succeeded task's recorded output, when `FinalizeResult.outputs`


class FinalizeResult(Payload):
    """The finalize step's output, which is the execution's output."""

    status: RunStatus
    error: str | None = None
    tasks: dict[str, TaskSummary]
    outputs: bool = False  # the tasks carry their outputs (only when they keep this result small)


# -- repair: another pass of a finished run, on the same state machine ----------------------------------

MAX_EXECUTION_NAME = 80
REUSED_ERROR = "Repair.Reused"  # a run_workflow task's start step in a repair that reuses the task


def repair_execution_name(run_id: str, number: int) -> str:
    """The execution of repair `number` of a run: `<run_id>.r<number>` (run ids never hold '.');
    a run id too long for that keeps its start and a hash of the whole. The recorder reads the
    run and number from the execution's input (`RepairInput`), the name only as a fallback."""
    suffix = f".r{number}"
    if len(run_id) + len(suffix) <= MAX_EXECUTION_NAME:
        return run_id + suffix
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:8]
    return f"{run_id[: MAX_EXECUTION_NAME - len(suffix) - len(digest) - 1]}-{digest}{suffix}"


def parse_execution_name(name: str) -> tuple[str, int]:
    """(run id, repair number) of an execution name: a repair's `<run_id>.r<n>`, else (name, 0)."""
    run_id, dot, number = name.rpartition(".r")
    if dot and run_id and number.isdigit() and "." not in run_id:
        return run_id, int(number)
    return name, 0


class RepairPlan(Payload):
    """What the task runtime reads in a repair (an artifact of the run, `artifacts.repair_plan_key`):
    the tasks it reuses with their recorded outputs, and the attempts already recorded for each task
    it runs again (its new attempts are numbered after them)."""

    workflow: str
    run_id: str
    number: int
    reused: dict[str, Any] = Field(default_factory=dict)  # task -> recorded output, encoded (for-each: per item)
    offsets: dict[str, int] = Field(default_factory=dict)  # rerun task -> its highest recorded attempt
