"""Emit a workflow's plan as a state machine: Start, the plan's blocks, Finalize, the outcome (pure)."""

from __future__ import annotations

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
from orchestration.compiler.quotas import check_quotas
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
from orchestration.graph import Block, Node, Par, Seq, tasks_of
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
from orchestration.validation import validate


def compile_workflow(workflow: Workflow) -> dict[str, Any]:
    """Validate and compile; raises ValidationError listing every problem, CompileError when the
    compiled workflow would exceed a Step Functions quota."""
    validate(workflow)
    definition = Emitter(workflow).definition()
    check_quotas(workflow, definition)
    return definition


class Emitter:
    def __init__(self, workflow: Workflow) -> None:
        self.layout = Layout(workflow)
        self.parallel_count = 0

    def definition(self) -> dict[str, Any]:
        wf = self.layout.workflow
        states: dict[str, State] = {}
        repair = state_path(ExecutionInput.key("repair"))
        states["New run or repair"] = ChoiceState(
            choices=[({"Variable": repair, "IsPresent": True}, "Start repair")], default="Start"
        )
        start = states["Start"] = self.start("Run context and an empty result map", JsonPath(EXECUTION_NAME), 0)
        start_repair = states["Start repair"] = self.start(
            "A repair of a run: its run id and repair number (another pass on the same state machine)",
            JsonPath(f"{repair}.{RepairInput.key('run_id')}"),
            JsonPath(f"{repair}.{RepairInput.key('number')}"),
        )
        body = self.block(self.layout.plan.block, states, {}, previous=None)
        connect([(start, None), (start_repair, None)], body.entry)
        connect(body.exits, "Finalize")
        states["Finalize"] = TaskState(
            comment="Record skipped tasks and the run outcome in the run ledger",
            function=FINALIZE_FUNCTION,
            payload=FinalizeEvent.template(
                run=JsonPath(CTX_PATH),
                leaves=self.layout.leaves(),
                tasks=select({t: body.produced[t] for t in sorted(wf.tasks)}),
            ),
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
        comment = f"Workflow {wf.name}" + (f": {wf.description}" if wf.description else "")
        definition = state_machine(comment, Branch("New run or repair", states), wf.timeout_seconds)
        prune_unreachable(definition)
        return definition

    def start(self, comment: str, run_id: JsonPath, repair: JsonPath | int) -> PassState:
        """A first state: the run context from the execution input, and an empty result map."""
        return PassState(
            comment=comment,
            parameters=StateDocument.template(
                ctx=RunContext.template(
                    run_id=run_id,
                    workflow=self.layout.workflow.name,
                    params=JsonPath(state_path(ExecutionInput.key("params"))),
                    logical_date=JsonPath(state_path(ExecutionInput.key("logical_date"))),
                    repair=repair,
                ),
                res={},
            ),
        )

    def block(
        self,
        block: Block,
        states: dict[str, State],
        scope: Scope,
        previous: str | None,
        assured: frozenset[str] = frozenset(),
    ) -> Fragment:
        """Emit a block. `previous`: the task whose exits lead here (statuses known per exit);
        `assured`: tasks known to have SUCCEEDED on every path into this block."""
        if isinstance(block, Node):
            return emit_task(self.layout, self.layout.workflow.tasks[block.task], states, scope, previous, assured)
        if isinstance(block, Seq):
            return self.sequence(block, states, scope, assured)
        return self.parallel(block, states, scope, previous, assured)

    def sequence(self, seq: Seq, states: dict[str, State], scope: Scope, assured: frozenset[str]) -> Fragment:
        local = dict(scope)
        produced: dict[str, str] = {}
        first: Fragment | None = None
        exits: list[Exit] = []
        previous: str | None = None
        for item in seq.items:
            frag = self.block(item, states, local, previous, assured)
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
    ) -> Fragment:
        self.parallel_count += 1
        name = f"Parallel {self.parallel_count}"
        result = parallel_path(self.parallel_count)
        inner = set(tasks_of(par))
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
            frag = self.block(branch, body, {t: result_path(t) for t in needed}, None, inside)
            for state, _ in frag.exits:
                state.next = None
                state.end = True
            branches.append(Branch(entry_for(frag.entry, None), body))
            # Select each top-level result of the branch once: a nested Parallel's results come as
            # one object, so selectors stay proportional to the branch's direct children.
            for task, path in sorted(frag.produced.items()):
                top = relative_to_res(path).split(".", 1)[0]
                selector[top] = branch_result(i, top)
                produced[task] = f"{result}.{relative_to_res(path)}"
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

    def gated_by_predecessor(self, inner: set[str], external: set[str], previous: str) -> bool:
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
