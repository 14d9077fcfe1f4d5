"""Automatic splitting: a workflow too big for one state machine runs as a parent and parts (pure).

A workflow whose definition, state payload or history would exceed a Step Functions quota is cut
along its topological order into parts that each fit. Each part is a state machine of its own (a
"child"): it builds the run's context from its input, runs its tasks by its own plan, and ends with
a Finalize step that records its tasks' summaries and returns a `PartOutcome`. The parent starts
every part at once (one Parallel state of `startExecution.sync:2`), so the makespan stays exact:
every dependency between two parts is a join (the downstream task waits on a task token, the
upstream signals it with its result, as for any join), and a task waits for nothing else. The
parent holds one small outcome per part, never the tasks' results; its Finalize records the run's
outcome from them. Task attempts, joins and repairs use the run's id and pass as usual, so the
ledger and `orch repair` see one run; each pass names its parts' executions after its own
(`<MD5 of the execution name>-part<k>`: at most 40 characters, whatever the run id's length).
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass
from typing import Any

from orchestration.compiler.definition import definition_hash, prune_unreachable, to_json
from orchestration.compiler.emit import Emitter, run_end, run_start
from orchestration.compiler.layout import Layout, connect
from orchestration.compiler.paths import EXECUTION_ID, EXECUTION_NAME, INVOKE_RESPONSE
from orchestration.compiler.quotas import (
    HISTORY_EVENTS_LIMIT,
    MAX_DEFINITION_BYTES,
    check_quotas,
    history_estimate,
    worst_state_bytes,
)
from orchestration.compiler.states import (
    ALL_ERRORS,
    START_EXECUTION_SYNC,
    Asl,
    Branch,
    ParallelState,
    PassState,
    State,
    TaskState,
    platform_retry,
    retrier,
    select,
    state_machine,
    substitution,
)
from orchestration.errors import CompileError
from orchestration.graph import Plan, build_plan, topological_order
from orchestration.grouping import function_placeholders
from orchestration.model import Dependency, Workflow
from orchestration.pools import Pool, task_pools
from orchestration.protocol import (
    CTX_PATH,
    FINALIZE_FUNCTION,
    MAX_INLINE_OUTPUT,
    MIN_INLINE_OUTPUT,
    PAYLOAD_LIMIT_BYTES,
    STATE_BUDGET_BYTES,
    ExecutionInput,
    FinalizeEvent,
    JsonPath,
    PartOutcome,
    StateDocument,
)
from orchestration.status import RunStatus
from orchestration.validation import validate

PART_TASKS = 400  # the most tasks a part starts with (fewer when its definition would be too big)
DEFINITION_MARGIN = 0.9  # a part's definition stays under this share of the 1 MB limit
HISTORY_MARGIN = 0.8  # and its estimated history under this share of 25,000 events


@dataclass(frozen=True)
class Part:
    number: int  # 1, 2, ...
    tasks: tuple[str, ...]  # in topological order
    definition: dict[str, Any]
    awaited: int  # dependencies on tasks of other parts (each a join)
    size: int  # bytes of its definition
    digest: str  # its definition_hash


@dataclass(frozen=True)
class Machines:
    """A workflow's state machines: its own (the parent when split) and its parts' (none when not)."""

    definition: dict[str, Any]
    parts: tuple[Part, ...] = ()


def part_placeholder(number: int) -> str:
    """The definition substitution holding the ARN of part `number`'s state machine."""
    return f"part_{number}"


def part_machine_name(machine: str, number: int) -> str:
    """Part `number`'s state machine, named after the workflow's."""
    return f"{machine}-part{number}"


def compile_workflow(workflow: Workflow) -> dict[str, Any]:
    """Validate and compile; raises ValidationError listing every problem, CompileError when the
    compiled workflow would exceed a Step Functions quota. A split workflow's parent (deploying it
    takes `compile_machines`)."""
    return compile_machines(workflow).definition


def compile_machines(workflow: Workflow, *, part_tasks: int | None = None) -> Machines:
    """Validate, and compile the workflow's state machines. It is split only when one state machine
    cannot hold it (or when `part_tasks`, for tests, asks for parts of at most that many tasks);
    raises CompileError when even parts cannot fit (an EXPRESS workflow cannot be split: it has no
    .sync)."""
    with _collector_paused:
        return _compile_machines(workflow, part_tasks)


class _CollectorPause:
    """Compiling allocates millions of objects that all stay alive until it ends: the cyclic
    garbage collector's full passes over them found nothing and took a third of the time. Paused
    while any thread compiles; re-enabled when the last one ends (only if it was enabled before)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False

    def __enter__(self) -> None:
        with self.lock:
            if self.depth == 0:
                self.resume = gc.isenabled()
                gc.disable()
            self.depth += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.resume:
                gc.enable()


_collector_paused = _CollectorPause()


def _compile_machines(workflow: Workflow, part_tasks: int | None) -> Machines:
    validate(workflow)
    express = workflow.type == "EXPRESS"  # never split: an Express state machine has no .sync
    functions = function_placeholders(workflow)  # once: each part names only its own tasks' groups
    if part_tasks is None or express:
        fits = worst_state_bytes(len(workflow.tasks), 0) <= PAYLOAD_LIMIT_BYTES
        definition = Emitter(workflow, Layout(workflow, functions=functions)).definition() if fits else None
        if express or (definition is not None and len(to_json(definition).encode()) <= MAX_DEFINITION_BYTES):
            check_quotas(workflow, definition or {})  # the payload check fails first when there is none
            assert definition is not None
            return Machines(definition)
    deps = workflow.dependencies()
    order = topological_order({t: [d.upstream for d in ds] for t, ds in deps.items()})
    pools = task_pools(workflow.tasks)
    size = part_tasks or PART_TASKS
    while True:
        parts = _split(workflow, deps, order, pools, functions, size)
        if all(_fits(p) for p in parts):
            break
        if size == 1:
            raise CompileError(f"workflow {workflow.name!r}: a single task does not fit in a state machine")
        size = max(1, size * 2 // 3)
    return Machines(_parent(workflow, parts), tuple(parts))


def _parent(workflow: Workflow, parts: list[Part]) -> dict[str, Any]:
    """Start every part at once; Finalize records the run's outcome from theirs. Each part's
    definition hash is in its branch's comment, so the parent's hash changes with any part."""
    states, starts = run_start(workflow)
    branches = []
    for p in parts:
        branches.append(part_branch(p.number, f"{len(p.tasks)} tasks, definition {p.digest}"))
    outcomes = "$.parts"
    states["Parts"] = ParallelState(
        comment=f"{len(parts)} parts of {len(workflow.tasks)} tasks, each its own state machine",
        parameters=StateDocument.template(ctx=JsonPath(CTX_PATH)),
        branches=branches,
        result_selector={"outcomes.$": "$"},
        result_path=outcomes,
        catch=[{"ErrorEquals": [ALL_ERRORS], "ResultPath": "$.caught", "Next": "Part failed"}],
    )
    # A part that did not finish (it failed to start, was stopped, timed out) fails the Parallel, which
    # stops the other parts (tasks waiting on its joins would wait forever); the run records it FAILED.
    states["Part failed"] = PassState(
        parameters=PartOutcome.template(status=RunStatus.FAILED, error=JsonPath("$.caught.Error")),
        result_path="$.failed",
    )
    states["Parts failed"] = PassState(parameters={"outcomes.$": "States.Array($.failed)"}, result_path=outcomes)
    connect([(start, None) for start in starts], "Parts")
    connect([(states["Part failed"], None)], "Parts failed")
    connect([(states["Parts"], None), (states["Parts failed"], None)], "Finalize")
    finalize = FinalizeEvent.template(
        run=JsonPath(CTX_PATH), leaves=[], tasks={}, parts=JsonPath(f"{outcomes}.outcomes")
    )
    return run_end(workflow, states, finalize)


def _fits(part: Part) -> bool:
    return (
        part.size <= MAX_DEFINITION_BYTES * DEFINITION_MARGIN
        and history_estimate(len(part.tasks), part.awaited) <= HISTORY_EVENTS_LIMIT * HISTORY_MARGIN
    )


def _chunks(order: list[str], deps: dict[str, list[Dependency]], size: int) -> list[list[str]]:
    """Consecutive runs of the topological order of at most `size` tasks, each holding at most as
    many results (its own and every one a dependency brings) as a state payload can at the
    smallest inline output limit."""
    chunks: list[list[str]] = [[]]
    entries = 0
    for task in order:
        more = 1 + len(deps[task])
        if chunks[-1] and (len(chunks[-1]) >= size or worst_state_bytes(entries + more, 0) > PAYLOAD_LIMIT_BYTES):
            chunks.append([])
            entries = 0
        chunks[-1].append(task)
        entries += more
    return chunks


def _split(
    workflow: Workflow,
    deps: dict[str, list[Dependency]],
    order: list[str],
    pools: dict[str, Pool],
    functions: dict[str, str],
    size: int,
) -> list[Part]:
    rank = {t: i for i, t in enumerate(order)}
    chunks = _chunks(order, deps, size)
    part_of = {t: k for k, chunk in enumerate(chunks, 1) for t in chunk}
    entries = max(len(c) + sum(len(deps[t]) for t in c) for c in chunks)
    limit = max(MIN_INLINE_OUTPUT, min(MAX_INLINE_OUTPUT, STATE_BUDGET_BYTES // entries))
    downstream: dict[str, list[str]] = {}
    for task, ds in deps.items():
        for d in ds:
            if part_of[d.upstream] != part_of[task]:
                downstream.setdefault(d.upstream, []).append(task)
    leaves = set(workflow.tasks) - {d.upstream for ds in deps.values() for d in ds}
    return [
        _part(workflow, k, chunk, deps, rank, part_of, downstream, leaves, limit, pools, functions)
        for k, chunk in enumerate(chunks, 1)
    ]


def _part(
    workflow: Workflow,
    number: int,
    chunk: list[str],
    deps: dict[str, list[Dependency]],
    rank: dict[str, int],
    part_of: dict[str, int],
    downstream: dict[str, list[str]],
    leaves: set[str],
    limit: int,
    pools: dict[str, Pool],
    functions: dict[str, str],
) -> Part:
    inside = {t: [d.upstream for d in deps[t] if part_of[d.upstream] == number] for t in chunk}
    plan = build_plan(inside)
    joins: dict[str, tuple[str, ...]] = {}
    awaited = 0
    for task in chunk:
        outside = {d.upstream for d in deps[task] if part_of[d.upstream] != number}
        awaited += len(outside)
        waits = set(plan.joins.get(task, ())) | outside
        if waits:
            joins[task] = tuple(sorted(waits, key=rank.__getitem__))
    layout = Layout(workflow, deps=deps, plan=Plan(plan.block, joins), limit=limit, pools=pools, functions=functions)
    for upstream in chunk:  # a task awaited in other parts signals them too
        if upstream in downstream:
            layout.signals.setdefault(upstream, []).extend(downstream[upstream])
    emitter = Emitter(workflow, layout)
    states: dict[str, State] = {}
    start = states["Start"] = PassState(
        comment="The run's context, from the parent's execution",
        parameters=StateDocument.template(ctx=JsonPath(CTX_PATH), res={}),
    )
    body = emitter.block(plan.block, states, {}, previous=None)
    connect([(start, None)], body.entry)
    connect(body.exits, "Finalize part")
    states["Finalize part"] = TaskState(
        comment="Record this part's task summaries; its outcome goes to the parent",
        function=FINALIZE_FUNCTION,
        payload=FinalizeEvent.template(
            run=JsonPath(CTX_PATH),
            leaves=sorted(t for t in chunk if t in leaves),
            tasks=select({t: body.produced[t] for t in sorted(chunk)}),
            part=number,
        ),
        output_path=INVOKE_RESPONSE,
        retry=[platform_retry(), retrier([ALL_ERRORS], 2, 3, 2.0)],
        end=True,
    )
    comment = f"Workflow {workflow.name}, part {number}: {len(chunk)} tasks ({chunk[0]} ... {chunk[-1]})"
    definition = state_machine(comment, Branch("Start", states), None)
    prune_unreachable(definition)
    text = to_json(definition)
    return Part(number, tuple(chunk), definition, awaited, len(text.encode()), definition_hash(text))


@dataclass(kw_only=True)
class PartRun(State):
    """The parent's start of one part: `startExecution.sync:2`, named after (a hash of) the parent's execution;
    its outcome is the branch's output (a part that did not finish fails the parent's Parallel)."""

    number: int
    comment: str

    def fields(self) -> Asl:
        return {
            "Type": "Task",
            "Comment": self.comment,
            "Resource": START_EXECUTION_SYNC,
            "Parameters": {
                "StateMachineArn": substitution(part_placeholder(self.number)),
                "Name.$": f"States.Format('{{}}-part{self.number}', States.Hash({EXECUTION_NAME}, 'MD5'))",
                "Input": {
                    ExecutionInput.key("part"): self.number,
                    "ctx.$": CTX_PATH,
                    ExecutionInput.key("started_by") + ".$": EXECUTION_ID,
                },
            },
            "ResultSelector": PartOutcome.template(
                status=JsonPath(f"$.Output.{PartOutcome.key('status')}"),
                error=JsonPath(f"$.Output.{PartOutcome.key('error')}"),
            ),
        }


def part_branch(number: int, comment: str) -> Branch:
    name = f"Part {number}"
    return Branch(name, {name: PartRun(number=number, comment=comment, end=True)})
