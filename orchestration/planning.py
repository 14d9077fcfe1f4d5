"""What a workflow meets on AWS, known before it is deployed (`orch plan`; pure: no AWS SDK).

Per state machine: its states, its definition's bytes (1 MB), and per run the history events and
billed state transitions, found by walking the compiled definition on the success path (every task
succeeds, every condition holds, each for-each has `items` items) and in the worst case (every
retrier of every task exhausted). History events per state, as Step Functions writes them (checked
against moto's interpreter in tests/cli/test_plan.py): a Task 5 (a `.waitForTaskToken` or `.sync`
task 6), Pass/Choice/Succeed/Wait 2, Parallel 4, Map 4 plus 2 per iteration, the execution 2; a
retry adds 3 (scheduled, started, failed) and one billed transition.

Cost per run, at us-east-1 list prices: transitions at the Standard price (retries count), Lambda
GB-seconds from each task function's memory and its duration (recorded local runs where there are
some, else the task's timeout: an upper bound), requests; the platform functions (Finalize, joins,
pools) at 256 MB for PLATFORM_SECONDS each.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.compiler.emit import Emitter
from orchestration.compiler.quotas import MAX_DEFINITION_BYTES, inline_output_limit, worst_state_bytes
from orchestration.compiler.split import Machines, compile_machines, part_machine_name
from orchestration.errors import CompileError
from orchestration.grouping import function_groups
from orchestration.model import Workflow
from orchestration.protocol import PAYLOAD_LIMIT_BYTES, task_of_placeholder

MAX_HISTORY_EVENTS = 25_000  # a Standard execution's history
MAX_STACK_RESOURCES = 500  # CloudFormation, per stack (a nested stack counts on its own)
PRICE_PER_TRANSITION = 0.025 / 1_000  # USD, Standard workflows
PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}  # USD, Lambda
PRICE_PER_REQUEST = 0.20 / 1_000_000  # USD, Lambda
PLATFORM_MEMORY_MB = 256  # infra's platform functions
PLATFORM_SECONDS = 0.2  # assumed duration of a platform function's invocation
DEFAULT_ITEMS = 100  # items assumed per for-each and run, unless told

EVENTS = {"Task": 5, "Pass": 2, "Choice": 2, "Succeed": 2, "Fail": 2, "Wait": 2, "Parallel": 4, "Map": 4}
EXECUTION_EVENTS = 2  # ExecutionStarted, ExecutionSucceeded
ITERATION_EVENTS = 2  # MapIterationStarted, MapIterationSucceeded
RETRY_EVENTS = 3  # TaskFailed, then TaskScheduled and TaskStarted again
DEFAULT_MAX_ATTEMPTS = 3  # a retrier without MaxAttempts (ASL's default)
FUNCTION_RE = re.compile(r"\$\{(fn_[A-Za-z0-9_]+)\}")


@dataclass
class Tally:
    """What one pass over (part of) a definition enters, writes and invokes."""

    transitions: int = 0
    events: int = 0
    retries: int = 0  # extra attempts when every retrier is exhausted
    retry_events: int = 0
    # (function placeholder, the task it runs: None for a platform function) -> invocations
    invocations: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    retry_invocations: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    entered: Counter[tuple[str, str]] = field(default_factory=Counter)  # (state name, type) -> entries

    def add(self, other: Tally, times: int = 1) -> None:
        self.transitions += other.transitions * times
        self.events += other.events * times
        self.retries += other.retries * times
        self.retry_events += other.retry_events * times
        for key, n in other.invocations.items():
            self.invocations[key] += n * times
        for key, n in other.retry_invocations.items():
            self.retry_invocations[key] += n * times
        for state, n in other.entered.items():
            self.entered[state] += n * times


@dataclass(frozen=True)
class MachinePlan:
    """One state machine's figures (per run of it)."""

    name: str
    states: int
    definition_bytes: int
    events: int  # history events on the success path
    events_worst: int  # every retrier exhausted
    transitions: int
    transitions_worst: int


@dataclass(frozen=True)
class Cost:
    """Estimated USD per run (success path; `worst`: every retrier exhausted)."""

    transitions: float
    transitions_worst: float
    gb_seconds: float
    requests: int
    lambda_usd: float
    total: float
    total_worst: float
    durations: Mapping[str, str]  # task -> where its duration came from ("recorded" or "timeout")


@dataclass(frozen=True)
class WorkflowPlan:
    workflow: str
    tasks: int
    functions: int  # task functions on AWS (tasks of one configuration share one)
    machines: Sequence[MachinePlan]
    state_bytes: int  # worst-case state payload
    items: int | None  # items assumed per for-each (None: no for-each)
    cost: Cost
    problems: Sequence[str]  # quotas a deploy or a run would break, each with its fix
    warnings: Sequence[str] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "tasks": self.tasks,
            "task_functions": self.functions,
            "state_machines": [vars(m) for m in self.machines],
            "state_payload_bytes": self.state_bytes,
            "items_per_for_each": self.items,
            "cost_per_run_usd": {**vars(self.cost), "durations": dict(self.cost.durations)},
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }


def _compiled(workflow: Workflow) -> Machines | None:
    """The workflow's state machines (split if it must be), or None when even parts cannot fit.
    Raises ValidationError for an invalid workflow (compile_machines validates first)."""
    try:
        return compile_machines(workflow)
    except CompileError:
        return None


def state_machines(workflow: Workflow, machines: Machines | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The state machines a workflow deploys as, with their definitions: one, or a split workflow's
    parent and parts. One that cannot fit even split is listed whole (the plan reports its quotas)."""
    machines = machines or _compiled(workflow)
    if machines is None:
        return [(workflow.name, Emitter(workflow).definition())]
    parts = [(part_machine_name(workflow.name, p.number), p.definition) for p in machines.parts]
    return [(workflow.name, machines.definition), *parts]


def worst_state(workflow: Workflow, machines: Machines | None) -> int:
    """The largest state a run can carry: the whole workflow's, or when split its largest part's
    (its tasks' results and the results its joins bring from other parts)."""
    if machines is None or not machines.parts:
        return worst_state_bytes(len(workflow.tasks), inline_output_limit(workflow))
    return max(worst_state_bytes(len(p.tasks) + p.awaited, 0) for p in machines.parts)


def count_states(scope: Mapping[str, Any]) -> int:
    """States in a definition, those of Parallel branches and Map processors included."""
    total = 0
    for state in scope["States"].values():
        total += 1
        for branch in state.get("Branches", []):
            total += count_states(branch)
        if "ItemProcessor" in state:
            total += count_states(state["ItemProcessor"])
    return total


def walk(scope: Mapping[str, Any], items: int) -> Tally:
    """The success path of a definition (or a branch) from its StartAt."""
    states: Mapping[str, Mapping[str, Any]] = scope["States"]
    tally = Tally()
    name: str | None = str(scope["StartAt"])
    for _ in range(len(states) + 1):
        if name is None:
            return tally
        state = states[name]
        kind = str(state["Type"])
        tally.transitions += 1
        tally.entered[name, kind] += 1
        tally.events += EVENTS.get(kind, 2)
        if kind == "Task":
            _task(state, tally)
        elif kind == "Parallel":
            for branch in state["Branches"]:
                tally.add(walk(branch, items))
        elif kind == "Map":
            tally.events += ITERATION_EVENTS * items
            tally.add(walk(state["ItemProcessor"], items), items)
        if kind == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _holds(c)), state.get("Default"))
        elif kind in ("Succeed", "Fail") or state.get("End"):
            name = None
        else:
            name = str(state["Next"])
    raise ValueError("the success path of the definition loops")  # a compiler bug, not a user's


def _task(state: Mapping[str, Any], tally: Tally) -> None:
    resource = str(state.get("Resource", ""))
    if resource.endswith((".waitForTaskToken", ".sync", ".sync:2")):
        tally.events += 1  # TaskSubmitted
    functions = FUNCTION_RE.findall(json.dumps(state.get("Parameters", {})))
    retries = sum(int(r.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS)) for r in state.get("Retry", []))
    tally.retries += retries
    tally.retry_events += retries * RETRY_EVENTS
    for placeholder in functions[:1]:
        # tasks of one configuration share a placeholder: the payload names the task invoked
        task = state.get("Parameters", {}).get("Payload", {}).get("task")
        key = (placeholder, task if isinstance(task, str) and task_of_placeholder(placeholder) else None)
        tally.invocations[key] += 1
        tally.retry_invocations[key] += retries


def _holds(rule: Mapping[str, Any]) -> bool:
    """A Choice rule on the success path: every status SUCCEEDED, no repair, every condition true."""
    if "And" in rule:
        return all(_holds(r) for r in rule["And"])
    if "Or" in rule:
        return any(_holds(r) for r in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"])
    if "IsPresent" in rule:
        return not rule["IsPresent"]
    if not str(rule.get("Variable", "")).endswith(".status"):
        return True
    if "StringEquals" in rule:
        return bool(rule["StringEquals"] == "SUCCEEDED")
    if "StringMatches" in rule:
        return re.fullmatch(re.escape(str(rule["StringMatches"])).replace(r"\*", ".*"), "SUCCEEDED") is not None
    return True


def plan_workflow(
    workflow: Workflow,
    *,
    durations: Mapping[str, float] | None = None,
    items: int = DEFAULT_ITEMS,
    architecture: str = "x86_64",
) -> WorkflowPlan:
    """The workflow's figures. `durations`: seconds per task (recorded runs); a task without one is
    priced at its timeout. Raises ValidationError for an invalid workflow."""
    machines: list[MachinePlan] = []
    total = Tally()
    problems: list[str] = []
    warnings: list[str] = []
    compiled = _compiled(workflow)
    for name, definition in state_machines(workflow, compiled):
        tally = walk(definition, items)
        size = len(json.dumps(definition, separators=(",", ":"), ensure_ascii=False).encode())
        events = tally.events + EXECUTION_EVENTS
        machine = MachinePlan(
            name=name,
            states=count_states(definition),
            definition_bytes=size,
            events=events,
            events_worst=events + tally.retry_events,
            transitions=tally.transitions,
            transitions_worst=tally.transitions + tally.retries,
        )
        machines.append(machine)
        total.add(tally)
        if size > MAX_DEFINITION_BYTES:
            problems.append(
                f"state machine {name}: its definition is {size:,} bytes, over Step Functions' "
                f"{MAX_DEFINITION_BYTES:,}: split the workflow into smaller ones (run_workflow)"
            )
        if machine.events > MAX_HISTORY_EVENTS:
            problems.append(
                f"state machine {name}: a run writes about {machine.events:,} history events, over the "
                f"{MAX_HISTORY_EVENTS:,} of a Standard execution: fewer tasks or for-each items per run "
                "(split it with run_workflow)"
            )
        elif machine.events_worst > MAX_HISTORY_EVENTS:
            warnings.append(
                f"state machine {name}: with every retry exhausted a run could write {machine.events_worst:,} "
                f"history events, over {MAX_HISTORY_EVENTS:,}"
            )
    state = worst_state(workflow, compiled)
    if state > PAYLOAD_LIMIT_BYTES:
        problems.append(
            f"its state could reach {state:,} bytes with {len(workflow.tasks)} tasks' results, over Step "
            f"Functions' {PAYLOAD_LIMIT_BYTES:,}-byte payload limit: split it into smaller workflows"
        )
    uses_map = any(t.for_each for t in workflow.tasks.values())
    return WorkflowPlan(
        workflow=workflow.name,
        tasks=len(workflow.tasks),
        functions=len(function_groups(workflow)),
        machines=machines,
        state_bytes=state,
        items=items if uses_map else None,
        cost=_cost(workflow, total, durations or {}, architecture),
        problems=problems,
        warnings=warnings,
    )


def _cost(workflow: Workflow, tally: Tally, durations: Mapping[str, float], architecture: str) -> Cost:
    price = PRICE_PER_GB_SECOND[architecture]
    gb_seconds = worst_gb_seconds = 0.0
    for placeholder, task in sorted(
        set(tally.invocations) | set(tally.retry_invocations), key=lambda k: (k[0], k[1] or "")
    ):
        if task is not None and task in workflow.tasks:
            t = workflow.tasks[task]
            gb = t.resources.memory_mb / 1024
            seconds = durations.get(task, float(t.resources.timeout_seconds))
        else:
            gb, seconds = PLATFORM_MEMORY_MB / 1024, PLATFORM_SECONDS
        key = (placeholder, task)
        gb_seconds += tally.invocations[key] * gb * seconds
        worst_gb_seconds += (tally.invocations[key] + tally.retry_invocations[key]) * gb * seconds
    requests = sum(tally.invocations.values())
    worst_requests = requests + sum(tally.retry_invocations.values())
    lambda_usd = gb_seconds * price + requests * PRICE_PER_REQUEST
    transitions = tally.transitions * PRICE_PER_TRANSITION
    transitions_worst = (tally.transitions + tally.retries) * PRICE_PER_TRANSITION
    return Cost(
        transitions=transitions,
        transitions_worst=transitions_worst,
        gb_seconds=gb_seconds,
        requests=requests,
        lambda_usd=lambda_usd,
        total=transitions + lambda_usd,
        total_worst=transitions_worst + worst_gb_seconds * price + worst_requests * PRICE_PER_REQUEST,
        durations={task: "recorded" if task in durations else "timeout" for task in sorted(workflow.tasks)},
    )


def stack_problems(resources: Mapping[str, int]) -> list[str]:
    """Stacks (the stack and each nested one: resource count) over CloudFormation's 500 resources."""
    return [
        f"stack {name} has {count} resources, over CloudFormation's {MAX_STACK_RESOURCES}: deploy fewer "
        "workflows per stack"
        for name, count in sorted(resources.items())
        if count > MAX_STACK_RESOURCES
    ]
