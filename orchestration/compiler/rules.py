"""Run-if rules: when a task runs, given how its dependencies ended (pure).

`run_rule` is the Choice rule a `<task>.check` state evaluates on the results in the state;
`runs_after` is the same rule decided at compile time for a task whose only dependency is the
state just before it, and `upstream_results` what a task deciding its rule itself receives (the
runtime decides with `orchestration.runif`, as `runs_after` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestration.compiler.layout import Scope
from orchestration.compiler.paths import output_of, status_of
from orchestration.compiler.states import Asl
from orchestration.model import Dependency, RunIf, Task
from orchestration.protocol import JsonPath, TaskResult
from orchestration.runif import FAILURE_HANDLERS, rule_holds
from orchestration.status import FAILED_LIKE, FAILED_LIKE_PATTERN, TaskStatus


def handles_failure(task: Task) -> bool:
    """A task that runs because something failed: it never becomes UPSTREAM_FAILED."""
    return task.run_if in FAILURE_HANDLERS


def all_of(rules: Sequence[Asl]) -> Asl:
    return rules[0] if len(rules) == 1 else {"And": list(rules)}


def any_of(rules: Sequence[Asl]) -> Asl:
    return rules[0] if len(rules) == 1 else {"Or": list(rules)}


def has_succeeded(upstream: str, scope: Scope) -> Asl:
    return {"Variable": status_of(scope[upstream]), "StringEquals": TaskStatus.SUCCEEDED}


def succeeded(dep: Dependency, scope: Scope) -> Asl:
    """The dependency is met: its task SUCCEEDED (with the required outcome, for a condition)."""
    rule = has_succeeded(dep.upstream, scope)
    if dep.outcome is None:
        return rule
    outcome = {"Variable": output_of(scope[dep.upstream]), "BooleanEquals": dep.outcome}
    return {"And": [rule, outcome]}


def failed(dep: Dependency, scope: Scope) -> Asl:
    """The dependency's task is FAILED or UPSTREAM_FAILED."""
    return {"Variable": status_of(scope[dep.upstream]), "StringMatches": FAILED_LIKE_PATTERN}


def any_failed(deps: Sequence[Dependency], scope: Scope) -> Asl:
    return any_of([failed(d, scope) for d in deps])


def run_rule(task: Task, deps: Sequence[Dependency], scope: Scope) -> Asl:
    """True when `task` runs. A for-each also needs its list, so its source must have SUCCEEDED."""
    ok = [succeeded(d, scope) for d in deps]
    bad = [failed(d, scope) for d in deps]
    rule: Asl
    if task.run_if == RunIf.ALL_SUCCESS:
        rule = all_of(ok)
    elif task.run_if == RunIf.AT_LEAST_ONE_SUCCESS:
        rule = any_of(ok)
    elif task.run_if == RunIf.NONE_FAILED:
        rule = all_of([*({"Not": b} for b in bad), any_of(ok)])
    elif task.run_if == RunIf.AT_LEAST_ONE_FAILED:
        rule = any_of(bad)
    elif task.run_if == RunIf.ALL_FAILED:
        rule = all_of(bad)
    else:  # ALL_DONE: only checked for a for-each, which needs its list
        rule = {}
    if task.for_each:
        need = has_succeeded(task.for_each, scope)
        rule = all_of([rule, need]) if rule else need
    return rule


def always_runs_when_done(task: Task) -> bool:
    """Does the task run whatever its dependencies ended with? An ALL_DONE task does, unless it is a
    for-each, which needs its list."""
    return task.run_if == RunIf.ALL_DONE and task.for_each is None


def runs_after(task: Task, status: TaskStatus) -> bool:
    """Does `task` run when its single dependency (a plain edge) ended in `status`?"""
    succeeded = status == TaskStatus.SUCCEEDED
    return rule_holds(task.run_if, [succeeded], [status in FAILED_LIKE]) and (not task.for_each or succeeded)


def upstream_results(deps: Sequence[Dependency], scope: Scope) -> Asl:
    """Each dependency's status (and output, on a condition edge): a `TaskEvent`'s `upstream`."""
    return {
        d.upstream: TaskResult.template(
            status=JsonPath(status_of(scope[d.upstream])),
            **({"output": JsonPath(output_of(scope[d.upstream]))} if d.outcome is not None else {}),
        )
        for d in deps
    }
