"""Compile a `Workflow` into an Amazon States Language definition (JSONPath query language).

Pure: no AWS SDK, no I/O. The same definition runs on AWS (deployed by `infra/`) and locally (on
moto's interpreter); Lambda ARNs appear as `${placeholder}` substitutions, filled by
CloudFormation's DefinitionSubstitutions on AWS and by the local runtime offline.

State document shape while a run executes::

    {"ctx": {"run_id", "workflow", "params", "logical_date"},
     "res": {"<task>": {"status", "output", "error"?}, "_p<n>": {...}, "_j_<task>": {...}}}

Every task result lives at a JSONPath the compiler knows statically (`scope`), so no state merges
results at run time. See docs/compiler.md for the full state layout and the transition counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.errors import CompileError
from orchestration.graph import Block, Node, Par, Plan, Seq, build_plan, tasks_of
from orchestration.model import Dependency, RunIf, Task, Workflow
from orchestration.validation import validate

State = dict[str, Any]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
JOIN_FUNCTION = "fn__join"
FINALIZE_FUNCTION = "fn__finalize"
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
STATE_BUDGET_BYTES = 180_000  # of the 262,144-byte payload limit, what task results may use
MAX_INLINE_OUTPUT = 32_768
MIN_INLINE_OUTPUT = 256
FOR_EACH_ITEM_INLINE = 128  # per-item results of a for-each stay tiny: big ones travel as refs
FAILURE_HANDLERS = (RunIf.AT_LEAST_ONE_FAILED, RunIf.ALL_FAILED)


def function_placeholder(task: str) -> str:
    """Name of the definition substitution that holds the Lambda ARN of a task."""
    return f"fn_{task}"


def placeholders(workflow: Workflow) -> dict[str, str]:
    """Every substitution a compiled definition needs: placeholder -> task name or platform role."""
    subs = {function_placeholder(t): t for t in sorted(workflow.tasks)}
    subs[JOIN_FUNCTION] = "join"
    subs[FINALIZE_FUNCTION] = "finalize"
    return subs


def inline_output_limit(workflow: Workflow) -> int:
    """Largest task output (bytes of JSON) kept in the state; larger outputs go to the artifact bucket."""
    share = STATE_BUDGET_BYTES // max(1, len(workflow.tasks))
    return max(MIN_INLINE_OUTPUT, min(MAX_INLINE_OUTPUT, share))


MAX_DEFINITION_BYTES = 1_048_576
PAYLOAD_LIMIT_BYTES = 262_144
RESULT_OVERHEAD_BYTES = 64  # {"status": "SUCCEEDED", "output": ...} around each task's output


def compile_workflow(workflow: Workflow) -> dict[str, Any]:
    """Validate and compile; raises ValidationError listing every problem, CompileError when the
    compiled workflow would exceed a Step Functions quota."""
    validate(workflow)
    definition = _Compiler(workflow).compile()
    _check_quotas(workflow, definition)
    return definition


def _check_quotas(workflow: Workflow, definition: Mapping[str, Any]) -> None:
    """Pre-deploy checks of the Step Functions limits a run would otherwise hit at run time."""
    worst_state = len(workflow.tasks) * (inline_output_limit(workflow) + RESULT_OVERHEAD_BYTES) + 16_384
    if worst_state > PAYLOAD_LIMIT_BYTES:
        raise CompileError(
            f"workflow {workflow.name!r} has {len(workflow.tasks)} tasks: even with every output above "
            f"{MIN_INLINE_OUTPUT} bytes moved to S3, their results could reach {worst_state} bytes of state, over "
            f"the {PAYLOAD_LIMIT_BYTES}-byte Step Functions payload limit; split it into smaller workflows"
        )
    size = len(to_json(definition).encode())
    if size > MAX_DEFINITION_BYTES:
        raise CompileError(
            f"workflow {workflow.name!r} compiles to {size} bytes of ASL, over the {MAX_DEFINITION_BYTES}-byte "
            "state machine definition limit; split it into smaller workflows"
        )


def to_json(definition: Mapping[str, Any], *, indent: int | None = None) -> str:
    """Canonical serialisation: byte-identical for the same workflow. Compact by default: that is
    what deploys (deeply nested Parallel states would pay the 1 MB definition limit for indentation);
    `indent=2` for people."""
    if indent is None:
        return json.dumps(definition, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(definition, indent=indent, ensure_ascii=False) + "\n"


def definition_hash(definition: Mapping[str, Any] | str) -> str:
    text = definition if isinstance(definition, str) else to_json(definition)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def render(definition: Mapping[str, Any] | str, arns: Mapping[str, str]) -> str:
    """Fill `${placeholder}` substitutions (what CloudFormation's DefinitionSubstitutions does)."""
    text = definition if isinstance(definition, str) else to_json(definition)
    for key, value in arns.items():
        text = text.replace("${" + key + "}", value)
    return text


def _path(base: str, *parts: str) -> str:
    return ".".join([base, *parts])


@dataclass
class _Fragment:
    # entry: a state name, or, for a statically routed task, a state name per upstream status
    entry: str | dict[str, str]
    exits: list[tuple[State, str | None]]  # states whose Next is still open, with the status they carry
    produced: dict[str, str] = field(default_factory=dict)  # task -> result path (relative to "$")


class _Compiler:
    def __init__(self, workflow: Workflow) -> None:
        self.wf = workflow
        self.deps: dict[str, list[Dependency]] = workflow.dependencies()
        preds = {t: [d.upstream for d in ds] for t, ds in self.deps.items()}
        self.plan: Plan = build_plan(preds)
        self.signals: dict[str, list[str]] = {}
        for task, ups in self.plan.joins.items():
            for up in ups:
                self.signals.setdefault(up, []).append(task)
        self.for_each_sources = {t.for_each for t in workflow.tasks.values() if t.for_each}
        self.limit = inline_output_limit(workflow)
        self.parallel_count = 0

    # -- top level -------------------------------------------------------------------------

    def compile(self) -> dict[str, Any]:
        states: dict[str, State] = {}
        start: State = {
            "Type": "Pass",
            "Comment": "Run context and an empty result map",
            "Parameters": {
                "ctx": {
                    "run_id.$": "$$.Execution.Name",
                    "workflow": self.wf.name,
                    "params.$": "$.params",
                    "logical_date.$": "$.logical_date",
                },
                "res": {},
            },
        }
        states["Start"] = start
        frag = self.block(self.plan.block, states, {}, previous=None)
        scope = frag.produced
        self.connect([(start, None)], frag.entry)
        leaves = sorted(t for t in self.wf.tasks if not any(d.upstream == t for ds in self.deps.values() for d in ds))
        finalize: State = {
            "Type": "Task",
            "Comment": "Record skipped tasks and the run outcome in the run ledger",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": "${" + FINALIZE_FUNCTION + "}",
                "Payload": {
                    "run.$": "$.ctx",
                    "leaves": leaves,
                    "tasks": {f"{t}.$": scope[t] for t in sorted(self.wf.tasks)},
                },
            },
            "OutputPath": "$.Payload",
            "Retry": [
                self.platform_retry(),
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 3,
                    "BackoffRate": 2.0,
                },
            ],
            "Next": "Outcome",
        }
        self.connect(frag.exits, "Finalize")
        states["Finalize"] = finalize
        states["Outcome"] = {
            "Type": "Choice",
            "Choices": [{"Variable": "$.status", "StringEquals": "FAILED", "Next": "Run failed"}],
            "Default": "Run succeeded",
        }
        states["Run failed"] = {
            "Type": "Fail",
            "Error": "WorkflowFailed",
            "Cause": "A task failed and no run-if path handled it; the run ledger has each task's error.",
        }
        states["Run succeeded"] = {"Type": "Succeed"}
        definition: dict[str, Any] = {
            "Comment": f"Workflow {self.wf.name}" + (f": {self.wf.description}" if self.wf.description else ""),
            "QueryLanguage": "JSONPath",
            "StartAt": "Start",
            "States": states,
        }
        if self.wf.timeout_seconds:
            definition["TimeoutSeconds"] = self.wf.timeout_seconds
        _prune_unreachable(definition)
        return definition

    # -- blocks ----------------------------------------------------------------------------

    def block(
        self,
        block: Block,
        states: dict[str, State],
        scope: dict[str, str],
        previous: str | None,
        assured: frozenset[str] = frozenset(),
    ) -> _Fragment:
        """Emit a block. `previous`: the task whose exits lead here (statuses known per exit);
        `assured`: tasks known to have SUCCEEDED on every path into this block."""
        if isinstance(block, Node):
            return self.task(self.wf.tasks[block.task], states, scope, previous, assured)
        if isinstance(block, Seq):
            return self.sequence(block, states, scope, assured)
        return self.parallel(block, states, scope, previous, assured)

    def sequence(self, seq: Seq, states: dict[str, State], scope: dict[str, str], assured: frozenset[str]) -> _Fragment:
        local = dict(scope)
        produced: dict[str, str] = {}
        first: _Fragment | None = None
        exits: list[tuple[State, str | None]] = []
        previous: str | None = None
        for item in seq.items:
            frag = self.block(item, states, local, previous, assured)
            if first is None:
                first = frag
            else:
                self.connect(exits, frag.entry)
            exits = frag.exits
            local.update(frag.produced)
            produced.update(frag.produced)
            previous = item.task if isinstance(item, Node) else None
        assert first is not None
        return _Fragment(first.entry, exits, produced)

    def parallel(
        self,
        par: Par,
        states: dict[str, State],
        scope: dict[str, str],
        previous: str | None,
        assured: frozenset[str],
    ) -> _Fragment:
        self.parallel_count += 1
        name = f"Parallel {self.parallel_count}"
        key = f"_p{self.parallel_count}"
        inner = set(tasks_of(par))
        external = {d.upstream for t in inner for d in self.deps[t] if d.upstream not in inner}
        needed = sorted(external & set(scope))
        gated = previous is not None and self.gateable(inner, external, previous)
        inside = assured | {previous} if gated and previous is not None else assured
        branches = []
        selector: dict[str, str] = {}
        produced: dict[str, str] = {}
        for i, branch in enumerate(par.branches):
            branch_states: dict[str, State] = {}
            branch_scope = {t: f"$.res.{t}" for t in needed}
            frag = self.block(branch, branch_states, branch_scope, None, inside)
            for state, _ in frag.exits:
                state.pop("Next", None)
                state["End"] = True
            start = frag.entry if isinstance(frag.entry, str) else frag.entry["SUCCEEDED"]
            branches.append({"StartAt": start, "States": branch_states})
            # Select each top-level result of the branch once: a nested Parallel's results come as
            # one object, so selectors stay proportional to the branch's direct children.
            for task, path in sorted(frag.produced.items()):
                top = path.removeprefix("$.res.").split(".", 1)[0]
                selector[f"{top}.$"] = f"$[{i}].res.{top}"
                produced[task] = f"$.res.{key}.{path.removeprefix('$.res.')}"
        states[name] = {
            "Type": "Parallel",
            "Parameters": {"ctx.$": "$.ctx", "res": {f"{t}.$": scope[t] for t in needed}},
            "Branches": branches,
            "ResultSelector": selector,
            "ResultPath": f"$.res.{key}",
        }
        if not gated:
            return _Fragment(name, [(states[name], None)], produced)
        # Entered only when `previous` succeeded, so no branch re-checks it; otherwise one Pass
        # state marks the whole block as its ALL_SUCCESS run-ifs would.
        routes: dict[str, str] = {"SUCCEEDED": name}
        exits: list[tuple[State, str | None]] = [(states[name], None)]
        for status in ("UPSTREAM_FAILED", "SKIPPED"):
            bypass = f"{name} {status.lower().replace('_', ' ')}"
            states[bypass] = {
                "Type": "Pass",
                "Result": {t: {"status": status, "output": None} for t in sorted(inner)},
                "ResultPath": f"$.res.{key}",
            }
            exits.append((states[bypass], None))
            routes[status] = bypass
        routes["FAILED"] = routes["UPSTREAM_FAILED"]
        return _Fragment(routes, exits, produced)

    def gateable(self, inner: set[str], external: set[str], previous: str) -> bool:
        """Can a Parallel block be entered on its predecessor's success alone? Yes when everything in
        it runs ALL_SUCCESS on plain edges, its only outside dependency is that predecessor, and no
        join crosses its boundary (a bypassed block must not leave a join waiting)."""
        return (
            external == {previous}
            and previous not in self.signals
            and all(
                self.wf.tasks[t].run_if == RunIf.ALL_SUCCESS
                and all(d.outcome is None for d in self.deps[t])
                and t not in self.plan.joins
                and t not in self.signals
                for t in inner
            )
        )

    # -- tasks -----------------------------------------------------------------------------

    def task(
        self,
        task: Task,
        states: dict[str, State],
        scope: dict[str, str],
        previous: str | None,
        assured: frozenset[str],
    ) -> _Fragment:
        name = task.name
        result = f"$.res.{name}"
        deps = self.deps[name]
        scope = dict(scope)
        joined = self.plan.joins.get(name, ())
        catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": result, "Next": f"{name}.failed"}]
        chain: list[str] = []  # states before the run state, in order
        if joined:
            wait_name = f"{name}.join"
            states[wait_name] = {
                "Type": "Task",
                "Comment": f"Wait for {', '.join(joined)} (an order nested Parallel states cannot express)",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": "${" + JOIN_FUNCTION + "}",
                    "Payload": {
                        "action": "wait",
                        "token.$": "$$.Task.Token",
                        "run_id.$": "$.ctx.run_id",
                        "task": name,
                        "needs": list(joined),
                    },
                },
                "ResultPath": f"$.res._j_{name}",
                "Catch": catch,
            }
            chain.append(wait_name)
            for up in joined:
                scope[up] = f"$.res._j_{name}.{up}"

        run_state = name
        static = (
            previous is not None
            and not joined
            and len(deps) == 1
            and deps[0].upstream == previous
            and deps[0].outcome is None
            and previous not in self.signals
        )
        entry: str | dict[str, str] = run_state
        certain = (
            bool(deps)
            and not joined
            and all(d.outcome is None and d.upstream in assured for d in deps)
            and task.run_if not in FAILURE_HANDLERS
        )
        # `certain`: every dependency is known to have succeeded on this path, so the task just runs
        if static and not certain:
            entry = {s: self.static_route(task, s) for s in ("SUCCEEDED", "FAILED", "UPSTREAM_FAILED", "SKIPPED")}
        elif not certain and deps and (task.run_if != RunIf.ALL_DONE or task.for_each is not None):
            check = f"{name}.check"
            choices: list[State] = [{**self.run_rule(task, deps, scope), "Next": run_state}]
            if task.run_if not in FAILURE_HANDLERS:
                choices.append({**self.any_failed(deps, scope), "Next": f"{name}.upstream_failed"})
            states[check] = {"Type": "Choice", "Choices": choices, "Default": f"{name}.skipped"}
            chain.append(check)
        if chain:
            entry = chain[0]
            if joined:
                states[chain[0]]["Next"] = chain[1] if len(chain) > 1 else run_state

        states[run_state] = self.map_state(task, scope, catch) if task.for_each else self.task_state(task, scope, catch)
        states[f"{name}.failed"] = {
            "Type": "Pass",
            "Parameters": {"status": "FAILED", "output": None, "error.$": f"{result}.Error"},
            "ResultPath": result,
        }
        exits: list[tuple[State, str | None]] = [
            (states[run_state], "SUCCEEDED"),
            (states[f"{name}.failed"], "FAILED"),
        ]
        if deps:
            for status in ("SKIPPED", "UPSTREAM_FAILED"):
                skip = f"{name}.{status.lower()}"
                states[skip] = {
                    "Type": "Pass",
                    "Result": {"status": status, "output": None},
                    "ResultPath": result,
                }
                exits.append((states[skip], status))
        if name in self.signals:
            signal = f"{name}.signal"
            self.connect(exits, signal)
            states[signal] = {
                "Type": "Task",
                "Comment": f"Release {', '.join(sorted(self.signals[name]))} waiting on {name}",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": "${" + JOIN_FUNCTION + "}",
                    "Payload": {
                        "action": "signal",
                        "run_id.$": "$.ctx.run_id",
                        "task": name,
                        "result.$": result,
                        "joins": sorted(self.signals[name]),
                    },
                },
                "ResultPath": None,
                "Retry": [
                    self.platform_retry(),
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 5,
                        "BackoffRate": 2.0,
                    },
                ],
            }
            exits = [(states[signal], None)]
        return _Fragment(entry, exits, {name: result})

    def static_route(self, task: Task, status: str) -> str:
        """Where a task goes when its single upstream (the state just before it) ended in `status`."""
        succeeded = status == "SUCCEEDED"
        failed = status in ("FAILED", "UPSTREAM_FAILED")
        runs = {
            RunIf.ALL_SUCCESS: succeeded,
            RunIf.AT_LEAST_ONE_SUCCESS: succeeded,
            RunIf.NONE_FAILED: succeeded,
            RunIf.ALL_DONE: not task.for_each or succeeded,
            RunIf.AT_LEAST_ONE_FAILED: failed,
            RunIf.ALL_FAILED: failed,
        }[task.run_if]
        if runs:
            return task.name
        if failed and task.run_if not in FAILURE_HANDLERS:
            return f"{task.name}.upstream_failed"
        return f"{task.name}.skipped"

    def task_payload(self, task: Task, scope: Mapping[str, str]) -> dict[str, Any]:
        inputs = {f"{d.upstream}.$": _path(scope[d.upstream], "output") for d in self.deps[task.name] if d.data}
        payload: dict[str, Any] = {
            "run.$": "$.ctx",
            "task": task.name,
            "attempt.$": "$$.State.RetryCount",
            "inputs": inputs,
            "limit": self.limit,
        }
        if task.name in self.for_each_sources:
            payload["items"] = FOR_EACH_ITEM_INLINE  # keep the list in the state, offload big items
        return payload

    def task_state(self, task: Task, scope: Mapping[str, str], catch: list[State]) -> State:
        state: State = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": "${" + function_placeholder(task.name) + "}",
                "Payload": self.task_payload(task, scope),
            },
            "ResultSelector": {"status": "SUCCEEDED", "output.$": "$.Payload.output"},
            "ResultPath": f"$.res.{task.name}",
        }
        self.add_limits(state, task)
        state["Catch"] = catch
        return state

    def map_state(self, task: Task, scope: Mapping[str, str], catch: list[State]) -> State:
        assert task.for_each is not None
        payload = self.task_payload(task, scope)
        inputs = payload.pop("inputs")
        payload.update({"run.$": "$.run", "inputs.$": "$.inputs", "item.$": "$.item", "index.$": "$.index"})
        payload["limit"] = FOR_EACH_ITEM_INLINE
        item: State = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": "${" + function_placeholder(task.name) + "}",
                "Payload": payload,
            },
            "OutputPath": "$.Payload.output",
        }
        self.add_limits(item, task)
        item["End"] = True
        return {
            "Type": "Map",
            "ItemsPath": _path(scope[task.for_each], "output"),
            "MaxConcurrency": task.max_concurrency,
            "ItemSelector": {
                "run.$": "$.ctx",
                "item.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
                "inputs": inputs,
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": f"{task.name}.item",
                "States": {f"{task.name}.item": item},
            },
            "ResultSelector": {"status": "SUCCEEDED", "output.$": "$"},
            "ResultPath": f"$.res.{task.name}",
            "Catch": catch,
        }

    def add_limits(self, state: State, task: Task) -> None:
        if task.timeout_seconds:
            state["TimeoutSeconds"] = task.timeout_seconds
        retry = [self.platform_retry()]
        r = task.retry
        if r.max_attempts > 0:
            retrier: State = {
                "ErrorEquals": list(r.errors),
                "IntervalSeconds": r.interval_seconds,
                "MaxAttempts": r.max_attempts,
                "BackoffRate": float(r.backoff_rate),
            }
            if r.max_delay_seconds is not None:
                retrier["MaxDelaySeconds"] = r.max_delay_seconds
            if r.jitter:
                retrier["JitterStrategy"] = "FULL"
            retry.append(retrier)
        state["Retry"] = retry

    @staticmethod
    def connect(exits: list[tuple[State, str | None]], target: str | dict[str, str]) -> None:
        for state, status in exits:
            state["Next"] = target if isinstance(target, str) else target[status or "SUCCEEDED"]

    @staticmethod
    def platform_retry() -> State:
        return {"ErrorEquals": LAMBDA_TRANSIENT_ERRORS, "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}

    # -- run-if rules ----------------------------------------------------------------------

    @staticmethod
    def succeeded(dep: Dependency, scope: Mapping[str, str]) -> State:
        rule: State = {"Variable": _path(scope[dep.upstream], "status"), "StringEquals": "SUCCEEDED"}
        if dep.outcome is None:
            return rule
        outcome = {"Variable": _path(scope[dep.upstream], "output"), "BooleanEquals": dep.outcome}
        return {"And": [rule, outcome]}

    @staticmethod
    def failed(dep: Dependency, scope: Mapping[str, str]) -> State:
        # FAILED or UPSTREAM_FAILED
        return {"Variable": _path(scope[dep.upstream], "status"), "StringMatches": "*FAILED"}

    def any_failed(self, deps: list[Dependency], scope: Mapping[str, str]) -> State:
        return _any([self.failed(d, scope) for d in deps])

    def run_rule(self, task: Task, deps: list[Dependency], scope: Mapping[str, str]) -> State:
        ok = [self.succeeded(d, scope) for d in deps]
        bad = [self.failed(d, scope) for d in deps]
        rule: State
        if task.run_if == RunIf.ALL_SUCCESS:
            rule = _all(ok)
        elif task.run_if == RunIf.AT_LEAST_ONE_SUCCESS:
            rule = _any(ok)
        elif task.run_if == RunIf.NONE_FAILED:
            rule = _all([*({"Not": b} for b in bad), _any(ok)])
        elif task.run_if == RunIf.AT_LEAST_ONE_FAILED:
            rule = _any(bad)
        elif task.run_if == RunIf.ALL_FAILED:
            rule = _all(bad)
        else:  # ALL_DONE: only reached for a for-each, which needs its list
            rule = {}
        if task.for_each:
            source = next(d for d in deps if d.upstream == task.for_each)
            need = {"Variable": _path(scope[source.upstream], "status"), "StringEquals": "SUCCEEDED"}
            rule = _all([rule, need]) if rule else need
        return rule


def _prune_unreachable(scope: dict[str, Any]) -> None:
    """Drop states no transition reaches (Step Functions rejects them), e.g. the SKIPPED path of a
    task whose only upstream can never be skipped. Recurses into Parallel branches and Map processors."""
    states: dict[str, State] = scope["States"]
    seen: set[str] = set()
    todo = [scope["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        todo += [state[k] for k in ("Next", "Default") if k in state]
        todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    for name in [n for n in states if n not in seen]:
        del states[name]
    for state in states.values():
        for branch in state.get("Branches", []):
            _prune_unreachable(branch)
        if "ItemProcessor" in state:
            _prune_unreachable(state["ItemProcessor"])


def _all(rules: list[State]) -> State:
    return rules[0] if len(rules) == 1 else {"And": rules}


def _any(rules: list[State]) -> State:
    return rules[0] if len(rules) == 1 else {"Or": rules}
