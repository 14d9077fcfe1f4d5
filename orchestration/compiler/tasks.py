"""One task's states, in the order a run passes them (pure)::

[<task>.join]    wait for the dependencies a join covers
[<task>.check]   the run-if rule: run, skip, or mark UPSTREAM_FAILED (a plain Lambda task decides
                 it in its own invocation instead: `decides_run_if`)
[<task>.acquire] a pooled task waits for a slot (`pool_states`)
<task>           the run state: a Lambda task, or a Map for a for-each
<task>.failed / .skipped / .upstream_failed    record how the task ended
[<task>.release / <task>.failed.release]       a pooled task frees its slot
[<task>.signal]  release the joins waiting for this task
"""

from __future__ import annotations

from dataclasses import replace

from orchestration.compiler.layout import Entry, Exit, Fragment, Layout, Scope, connect
from orchestration.compiler.paths import (
    REPAIR_NUMBER,
    RUN_ID,
    TASK_TOKEN,
    WORKFLOW_NAME,
    error_of,
    join_path,
    result_path,
)
from orchestration.compiler.pool_states import acquire_state, release_exits
from orchestration.compiler.rules import always_runs_when_done, any_failed, handles_failure, run_rule, runs_after
from orchestration.compiler.run_state import run_state
from orchestration.compiler.states import (
    ALL_ERRORS,
    Asl,
    ChoiceState,
    PassState,
    State,
    TaskState,
    catch_all,
    platform_retry,
    retrier,
)
from orchestration.model import Task
from orchestration.protocol import (
    JOIN_FUNCTION,
    JoinSignal,
    JoinWait,
    JsonPath,
    TaskResult,
)
from orchestration.status import FAILED_LIKE, TERMINAL_TASK, TaskStatus


def exit_state(task: str, status: TaskStatus) -> str:
    """The Pass state recording that `task` ended in `status`: <task>.failed, .skipped, .upstream_failed."""
    return f"{task}.{status.lower()}"


def emit_task(
    layout: Layout,
    task: Task,
    states: dict[str, State],
    scope: Scope,
    previous: str | None,
    assured: frozenset[str],
) -> Fragment:
    """Emit a task's states into `states`. `previous`: the task whose exits lead here, if any;
    `assured`: tasks known to have SUCCEEDED on every path to here."""
    name = task.name
    result = result_path(name)
    deps = layout.deps[name]
    scope = dict(scope)
    catch = [catch_all(result, exit_state(name, TaskStatus.FAILED))]
    pool = layout.pools.get(name)
    start = f"{name}.acquire" if pool and not task.for_each else name  # where the task starts running
    wait = join_wait(layout, task, catch)
    if wait is not None:
        states[f"{name}.join"] = wait
        scope.update({up: f"{join_path(name)}.{up}" for up in layout.joined(name)})
        if previous is not None and previous in layout.signals:
            fold_signal(states, previous, name, wait)

    checked = checked_at_run_time(layout, task, previous, assured)
    decides = checked and decides_run_if(layout, task)
    check = run_check(layout, task, scope, start) if checked and not decides else None
    if check is not None:
        states[f"{name}.check"] = check
    if wait is not None:
        wait.next = f"{name}.check" if check else start
    entry: Entry = start
    if wait is not None:
        entry = f"{name}.join"
    elif check is not None:
        entry = f"{name}.check"
    elif routed_by_predecessor(layout, task, previous) and not runs_unchecked(layout, task, assured):
        entry = {status: predecessor_route(task, status, start) for status in TERMINAL_TASK}

    if pool is not None and start != name:
        states[start] = acquire_state(pool, name, name, catch)
    run = run_state(layout, task, scope, catch, decides)
    states[name] = run
    exits: list[Exit] = [(run, None if decides else TaskStatus.SUCCEEDED)]
    if decides:
        layout.unrouted.add(name)
    for status, state in outcome_states(task, bool(deps) and not decides).items():
        states[exit_state(name, status)] = state
        exits.append((state, status))
    if pool is not None:
        exits = release_exits(pool, task, states, exits)
    if name in layout.signals:
        signal = f"{name}.signal"
        connect(exits, signal)
        states[signal] = join_signal(layout, task)
        exits = [(states[signal], None)]
    return Fragment(entry, exits, {name: result})


# -- routing -----------------------------------------------------------------------------------------


def routed_by_predecessor(layout: Layout, task: Task, previous: str | None) -> bool:
    """Is the task's only dependency (a plain edge) the state just before it, whose exits carry its
    status? Then those exits lead straight to the run state or an exit state, with no check."""
    deps = layout.deps[task.name]
    return (
        previous is not None
        and not layout.joined(task.name)
        and len(deps) == 1
        and deps[0].upstream == previous
        and deps[0].outcome is None
        and layout.routes_by_status(previous)
    )


def dependencies_known_to_succeed(layout: Layout, task: Task, assured: frozenset[str]) -> bool:
    """Has every dependency (plain edges, none joined) SUCCEEDED on every path to here?"""
    deps = layout.deps[task.name]
    return (
        bool(deps) and not layout.joined(task.name) and all(d.outcome is None and d.upstream in assured for d in deps)
    )


def runs_unchecked(layout: Layout, task: Task, assured: frozenset[str]) -> bool:
    """Is it known here that the task runs? Yes when its dependencies are known to have succeeded
    and it runs on success (it does not handle failures)."""
    return dependencies_known_to_succeed(layout, task, assured) and not handles_failure(task)


def checked_at_run_time(layout: Layout, task: Task, previous: str | None, assured: frozenset[str]) -> bool:
    """Must a Choice state decide whether the task runs? Not when that is known here, decided by the
    predecessor's exits, or when nothing is to decide (no dependency, or ALL_DONE without a list)."""
    return (
        bool(layout.deps[task.name])
        and not always_runs_when_done(task)
        and not runs_unchecked(layout, task, assured)
        and not routed_by_predecessor(layout, task, previous)
    )


def decides_run_if(layout: Layout, task: Task) -> bool:
    """Can the task decide its run-if in its own invocation (no Choice state)? A plain Lambda task
    can: its function returns SKIPPED or UPSTREAM_FAILED without running its code. Not a for-each
    (a Map), a run_workflow task (a Parallel) or a pooled task (a skipped task takes no slot)."""
    return task.for_each is None and task.subflow is None and task.name not in layout.pools


def predecessor_route(task: Task, status: TaskStatus, start: str) -> str:
    """Where the task goes when its single dependency, the state before it, ended in `status`
    (`start`: the task's first state when it runs)."""
    if runs_after(task, status):
        return start
    if status in FAILED_LIKE and not handles_failure(task):
        return exit_state(task.name, TaskStatus.UPSTREAM_FAILED)
    return exit_state(task.name, TaskStatus.SKIPPED)


def run_check(layout: Layout, task: Task, scope: Scope, start: str) -> ChoiceState:
    """Run (from `start`) when the run-if rule holds; else UPSTREAM_FAILED when a dependency failed
    (unless the task handles failures); else SKIPPED."""
    deps = layout.deps[task.name]
    choices = [(run_rule(task, deps, scope), start)]
    if not handles_failure(task):
        choices.append((any_failed(deps, scope), exit_state(task.name, TaskStatus.UPSTREAM_FAILED)))
    return ChoiceState(choices=choices, default=exit_state(task.name, TaskStatus.SKIPPED))


# -- the states ----------------------------------------------------------------------------------------


def join_wait(layout: Layout, task: Task, catch: list[Asl]) -> TaskState | None:
    """For a task with joins: wait (`.waitForTaskToken`) until every awaited task has signalled."""
    joined = layout.joined(task.name)
    if not joined:
        return None
    return TaskState(
        comment=f"Wait for {', '.join(joined)} (an order nested Parallel states cannot express)",
        function=JOIN_FUNCTION,
        wait_for_token=True,
        payload=JoinWait.template(
            action="wait",
            token=JsonPath(TASK_TOKEN),
            workflow=JsonPath(WORKFLOW_NAME),
            run_id=JsonPath(RUN_ID),
            repair=JsonPath(REPAIR_NUMBER),
            task=task.name,
            needs=list(joined),
        ),
        result_path=join_path(task.name),
        catch=catch,
    )


def join_signal(layout: Layout, task: Task) -> TaskState:
    """After a task awaited by joins, whatever it ended with: record its result, release the joins."""
    joins = sorted(layout.signals[task.name])
    return TaskState(
        comment=f"Release {', '.join(joins)} waiting on {task.name}",
        function=JOIN_FUNCTION,
        payload=JoinSignal.template(
            action="signal",
            workflow=JsonPath(WORKFLOW_NAME),
            run_id=JsonPath(RUN_ID),
            repair=JsonPath(REPAIR_NUMBER),
            task=task.name,
            result=JsonPath(result_path(task.name)),
            joins=joins,
        ),
        discard_result=True,
        retry=[platform_retry(), retrier([ALL_ERRORS], 1, 5, 2.0)],
    )


def fold_signal(states: dict[str, State], previous: str, task: str, wait: TaskState) -> None:
    """`previous` (the task just before, in this sequence) signals joins and `task` starts with a
    join wait: one state does both, the signal first. Whatever led to the signal state leads to
    the wait, which retries as the signal did; should it still fail, the signal state alone (its
    own retries) runs before `task` is marked FAILED, so no waiter is left without the signal.

    The signal state object the sequence connects to `task` is left out of the states: a copy
    under its name is the fallback."""
    name, wait_name = f"{previous}.signal", f"{task}.join"
    signal = states[name]
    assert isinstance(signal, TaskState)
    for state in states.values():
        if state.next == name:
            state.next = wait_name
    wait.payload = {**wait.payload, JoinWait.key("signal"): signal.payload}
    wait.retry = signal.retry
    wait.catch = [catch_all(result_path(task), name)]
    states[name] = replace(signal, next=exit_state(task, TaskStatus.FAILED))


def outcome_states(task: Task, has_deps: bool) -> dict[TaskStatus, PassState]:
    """The Pass states recording that the task did not succeed (skips only when it has dependencies)."""
    result = result_path(task.name)
    states = {
        TaskStatus.FAILED: PassState(
            parameters=TaskResult.template(status=TaskStatus.FAILED, output=None, error=JsonPath(error_of(result))),
            result_path=result,
        )
    }
    if has_deps:
        for status in (TaskStatus.SKIPPED, TaskStatus.UPSTREAM_FAILED):
            states[status] = PassState(result=TaskResult.template(status=status, output=None), result_path=result)
    return states
