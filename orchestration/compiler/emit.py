"""Emit a workflow's plan as a state machine: Start, the plan's blocks, Finalize, the outcome (pure)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestration.compiler.definition import prune_unreachable
from orchestration.compiler.layout import Exit, Fragment, Layout, Scope, connect, entry_for
from orchestration.compiler.paths import (
    EXECUTION_NAME,
    INVOKE_RESPONSE,
    RUN_STATUS,
    branch_result,
    parallel_path,
    relative_to_res,
    result_path,
)
from orchestration.compiler.states import (
    ALL_ERRORS,
    Branch,
    ChoiceState,
    FailState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    platform_retry,
    retrier,
    select,
    state_machine,
)
from orchestration.compiler.tasks import emit_task
from orchestration.graph import Block, Node, Par, Seq, preorder
from orchestration.model import RunIf, Workflow
from orchestration.protocol import (
    CTX_PATH,
    FINALIZE_FUNCTION,
    ExecutionInput,
    FinalizeEvent,
    JsonPath,
    RepairInput,
    RunContext,
    StateDocument,
    TaskResult,
    state_path,
)
from orchestration.status import RunStatus, TaskStatus

# A nested block to emit (block, states, scope, previous, assured), and a block's emission, which
# yields such requests, receives their fragments and returns its own.
Request = tuple[Block, dict[str, State], Scope, str | None, frozenset[str]]
Step = Generator[Request, Fragment, Fragment]


def run_start(workflow: Workflow) -> tuple[dict[str, State], list[PassState]]:
    """The first states of a run's state machine: a new run or a repair, each building the run's
    context and an empty result map. Returns the states and those whose Next leads to the body."""
    states: dict[str, State] = {}
    repair = state_path(ExecutionInput.key("repair"))
    states["New run or repair"] = ChoiceState(
        choices=[({"Variable": repair, "IsPresent": True}, "Start repair")], default="Start"
    )
    start = states["Start"] = _start(workflow, "Run context and an empty result map", JsonPath(EXECUTION_NAME), 0)
    start_repair = states["Start repair"] = _start(
        workflow,
        "A repair of a run: its run id and repair number (another pass on the same state machine)",
        JsonPath(f"{repair}.{RepairInput.key('run_id')}"),
        JsonPath(f"{repair}.{RepairInput.key('number')}"),
    )
    return states, [start, start_repair]


def _start(workflow: Workflow, comment: str, run_id: JsonPath, repair: JsonPath | int) -> PassState:
    """A first state: the run context from the execution input, and an empty result map."""
    return PassState(
        comment=comment,
        parameters=StateDocument.template(
            ctx=RunContext.template(
                run_id=run_id,
                workflow=workflow.name,
                params=JsonPath(state_path(ExecutionInput.key("params"))),
                logical_date=JsonPath(state_path(ExecutionInput.key("logical_date"))),
                repair=repair,
            ),
            res={},
        ),
    )


def run_end(workflow: Workflow, states: dict[str, State], finalize: dict[str, Any]) -> dict[str, Any]:
    """Finalize (with `finalize` as its payload), the outcome, and the whole definition."""
    states["Finalize"] = TaskState(
        comment="Record skipped tasks and the run outcome in the run ledger",
        function=FINALIZE_FUNCTION,
        payload=finalize,
        output_path=INVOKE_RESPONSE,
        retry=[platform_retry(), retrier([ALL_ERRORS], 2, 3, 2.0)],
        next="Outcome",
    )
    states["Outcome"] = ChoiceState(
        choices=[({"Variable": RUN_STATUS, "StringEquals": RunStatus.FAILED}, "Run failed")],
        default="Run succeeded",
    )
    states["Run failed"] = FailState(
        error="WorkflowFailed",
        cause="A task failed and no run-if path handled it; the run ledger has each task's error.",
    )
    states["Run succeeded"] = SucceedState()
    comment = f"Workflow {workflow.name}" + (f": {workflow.description}" if workflow.description else "")
    definition = state_machine(comment, Branch("New run or repair", states), workflow.timeout_seconds)
    prune_unreachable(definition)
    return definition


class Emitter:
    def __init__(self, workflow: Workflow, layout: Layout | None = None) -> None:
        self.layout = layout or Layout(workflow)
        self.parallel_count = 0
        self.tasks_in: dict[int, frozenset[str]] = {}  # id(block) -> its tasks (`inner_tasks`)

    def definition(self) -> dict[str, Any]:
        wf = self.layout.workflow
        states, starts = run_start(wf)
        body = self.block(self.layout.plan.block, states, {}, previous=None)
        connect([(start, None) for start in starts], body.entry)
        connect(body.exits, "Finalize")
        finalize = FinalizeEvent.template(
            run=JsonPath(CTX_PATH),
            leaves=self.layout.leaves(),
            tasks=select({t: body.produced[t] for t in sorted(wf.tasks)}),
        )
        return run_end(wf, states, finalize)

    def block(
        self,
        block: Block,
        states: dict[str, State],
        scope: Scope,
        previous: str | None,
        assured: frozenset[str] = frozenset(),
    ) -> Fragment:
        """Emit a block. `previous`: the task whose exits lead here (statuses known per exit);
        `assured`: tasks known to have SUCCEEDED on every path into this block.

        Plans nest deeply, so nested blocks are emitted from an explicit stack of generators (each
        yields the blocks inside it and receives their fragments), not by recursion."""
        stack: list[Step] = []
        request: Request = (block, states, scope, previous, assured)
        while True:
            inner, into, seen, before, known = request
            if isinstance(inner, Node):
                done = emit_task(self.layout, self.layout.workflow.tasks[inner.task], into, seen, before, known)
            else:
                stack.append(
                    self.sequence(inner, into, seen, known)
                    if isinstance(inner, Seq)
                    else self.parallel(inner, into, seen, before, known)
                )
                try:
                    request = next(stack[-1])
                    continue
                except StopIteration as stop:
                    stack.pop()
                    done = stop.value
            while True:  # hand the fragment to the block waiting for it
                if not stack:
                    return done
                try:
                    request = stack[-1].send(done)
                    break
                except StopIteration as stop:
                    stack.pop()
                    done = stop.value

    def sequence(self, seq: Seq, states: dict[str, State], scope: Scope, assured: frozenset[str]) -> Step:
        local = dict(scope)
        produced: dict[str, str] = {}
        first: Fragment | None = None
        exits: list[Exit] = []
        previous: str | None = None
        for item in seq.items:
            frag = yield (item, states, local, previous, assured)
            if first is None:
                first = frag
            else:
                connect(exits, frag.entry)
            exits = frag.exits
            local.update(frag.produced)
            produced.update(frag.produced)
            previous = item.task if isinstance(item, Node) else None
        assert first is not None
        return Fragment(first.entry, exits, produced)

    def parallel(
        self, par: Par, states: dict[str, State], scope: Scope, previous: str | None, assured: frozenset[str]
    ) -> Step:
        self.parallel_count += 1
        name = f"Parallel {self.parallel_count}"
        result = parallel_path(self.parallel_count)
        inner = self.inner_tasks(par)
        deps = self.layout.deps
        external = {d.upstream for t in inner for d in deps[t] if d.upstream not in inner}
        needed = sorted(external & set(scope))
        gated = previous is not None and self.gated_by_predecessor(inner, external, previous)
        inside = assured | {previous} if gated and previous is not None else assured
        branches: list[Branch] = []
        selector: dict[str, str] = {}
        produced: dict[str, str] = {}
        for i, branch in enumerate(par.branches):
            body: dict[str, State] = {}
            frag = yield (branch, body, {t: result_path(t) for t in needed}, None, inside)
            for state, _ in frag.exits:
                state.next = None
                state.end = True
            branches.append(Branch(entry_for(frag.entry, None), body))
            # Select each top-level result of the branch once: a nested Parallel's results come as
            # one object, so selectors stay proportional to the branch's direct children.
            tops: set[str] = set()
            for task, path in sorted(frag.produced.items()):
                relative = relative_to_res(path)
                top = relative.partition(".")[0]
                if top not in tops:
                    tops.add(top)
                    selector[top] = branch_result(i, top)
                produced[task] = f"{result}.{relative}"
        state = states[name] = ParallelState(
            parameters=StateDocument.template(ctx=JsonPath(CTX_PATH), res=select({t: scope[t] for t in needed})),
            branches=branches,
            result_selector=select(selector),
            result_path=result,
        )
        if not gated:
            return Fragment(name, [(state, None)], produced)
        # Entered only when `previous` succeeded, so no branch re-checks it; otherwise one Pass
        # state marks the whole block as its ALL_SUCCESS run-ifs would.
        routes = {TaskStatus.SUCCEEDED: name}
        exits: list[Exit] = [(state, None)]
        for status in (TaskStatus.UPSTREAM_FAILED, TaskStatus.SKIPPED):
            bypass = f"{name} {status.lower().replace('_', ' ')}"
            states[bypass] = PassState(
                result={t: TaskResult.template(status=status, output=None) for t in sorted(inner)},
                result_path=result,
            )
            exits.append((states[bypass], None))
            routes[status] = bypass
        routes[TaskStatus.FAILED] = routes[TaskStatus.UPSTREAM_FAILED]
        return Fragment(routes, exits, produced)

    def inner_tasks(self, block: Block) -> frozenset[str]:
        """The tasks of `block`. The first call computes them for every block inside it at once
        (bottom up, so each block's set is the union of its children's) for the nested calls."""
        if id(block) not in self.tasks_in:
            for b in reversed(preorder(block)):
                if isinstance(b, Node):
                    self.tasks_in[id(b)] = frozenset((b.task,))
                else:
                    children = b.items if isinstance(b, Seq) else b.branches
                    self.tasks_in[id(b)] = frozenset().union(*(self.tasks_in[id(c)] for c in children))
        return self.tasks_in[id(block)]

    def gated_by_predecessor(self, inner: frozenset[str], external: set[str], previous: str) -> bool:
        """Can a Parallel block be entered on its predecessor's success alone (and bypassed with
        every task UPSTREAM_FAILED or SKIPPED otherwise)? Yes when everything in it runs ALL_SUCCESS
        on plain edges, its only outside dependency is that predecessor, and no join crosses its
        boundary (a bypassed block must not leave a join waiting)."""
        deps, joins, signals = self.layout.deps, self.layout.plan.joins, self.layout.signals
        return (
            external == {previous}
            and self.layout.routes_by_status(previous)
            and all(
                self.layout.workflow.tasks[t].run_if == RunIf.ALL_SUCCESS
                and all(d.outcome is None for d in deps[t])
                and t not in joins
                and t not in signals
                for t in inner
            )
        )
