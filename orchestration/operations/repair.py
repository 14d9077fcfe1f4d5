"""Repair a finished run: run again its failed tasks and everything downstream of them (or named
tasks and their downstream), reusing the recorded outputs of the tasks that succeeded.

A repair is another pass of the run on the workflow's own state machine (no second definition):
an execution named `<run_id>.r<n>` whose input says which run and repair it is (`RepairInput`). The
run keeps its id; its ledger item moves to repair n (a status rank above the pass it repairs) and
lists each repair; earlier attempts stay and new ones continue their numbering. The task functions
read the repair's plan (`RepairPlan`, an artifact of the run) to return the outputs they reuse.

`repair_run` works through the clients it is given (the local cloud's or a deployed stack's):

1. check: the run has ended, its recorded definition hash is the workflow's (unless allowed),
   there is something to repair, the parameters (recorded ones with the overrides) are valid;
2. claim the repair with one conditional write on the run item (from the status read): of two
   concurrent repairs exactly one gets it;
3. write the plan, start the execution, record RUNNING with its ARN. A repair that stopped between
   2 and 3 (crash) is continued by the next `repair_run` of the run, with what it recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.artifacts import ArtifactStore, dumps, repair_plan_key
from orchestration.errors import OperationError, RunNotFound
from orchestration.ledger import RunLedger, RunRecord
from orchestration.model import Workflow
from orchestration.protocol import ExecutionInput, RepairInput, RepairPlan, repair_execution_name
from orchestration.runtime.starter import checked_params
from orchestration.status import RunStatus, TaskStatus, is_terminal
from orchestration.times import now_iso

# Tasks whose recorded outcome stands when nothing upstream of them runs again.
_SETTLED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.SKIPPED})


@dataclass(frozen=True)
class Selection:
    """Which tasks a repair runs again (or re-decides, for run-if rules) and which it reuses."""

    rerun: tuple[str, ...]
    reused: tuple[str, ...]


def select_tasks(
    statuses: Mapping[str, str], upstream: Mapping[str, Iterable[str]], named: Sequence[str] | None = None
) -> Selection:
    """The repair of a run whose tasks ended in `statuses` (a task missing: never ran), for a graph
    given as task -> its upstream tasks. Runs again: the named tasks, else every task that did not
    end SUCCEEDED or SKIPPED (FAILED, UPSTREAM_FAILED, cut off or never reached), plus everything
    downstream of them. Reuses every other task that SUCCEEDED; the rest (with no output to reuse:
    SKIPPED, or FAILED but not named) the state machine decides again by their run-if rules."""
    tasks = sorted(upstream)
    unknown = sorted(set(named or ()) - set(tasks))
    if unknown:
        raise OperationError(
            f"task(s) {', '.join(map(repr, unknown))} are not in the workflow: name one of {', '.join(tasks)}"
        )
    roots = set(named) if named else {t for t in tasks if statuses.get(t) not in _SETTLED}
    below: dict[str, set[str]] = {t: set() for t in tasks}
    for task, ups in upstream.items():
        for up in ups:
            below.setdefault(up, set()).add(task)
    again, todo = set(roots), list(roots)
    while todo:
        for child in below.get(todo.pop(), ()):
            if child not in again:
                again.add(child)
                todo.append(child)
    reused = tuple(t for t in tasks if t not in again and statuses.get(t) == TaskStatus.SUCCEEDED)
    return Selection(tuple(t for t in tasks if t not in reused), reused)


@dataclass(frozen=True)
class RepairStarted:
    run_id: str
    workflow: str
    number: int  # the repair's number: 1 for the run's first repair
    execution_arn: str
    rerun: tuple[str, ...]
    reused: tuple[str, ...]
    resumed: bool = False  # a repair that had stopped before its execution started, continued


def repair_run(
    *,
    workflow: Workflow,
    ledger: RunLedger,
    artifacts: ArtifactStore,
    stepfunctions: Any,
    state_machine_arn: str,
    definition_hash: str,
    run_id: str,
    tasks: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    allow_changed_definition: bool = False,
    trigger: Mapping[str, Any] | None = None,
) -> RepairStarted:
    """Start a repair of run `run_id` of `workflow` (deployed as `state_machine_arn`, whose compiled
    definition has `definition_hash`). Raises RunNotFound, OperationError (the run is still going,
    has nothing to repair, ran another definition, or another repair started first) or
    ParameterError (bad overrides); returns at once, the repair running."""
    run = ledger.get_run(workflow.name, run_id)
    if run is None or ledger.get_run_item(workflow.name, run_id) is None:
        raise RunNotFound(
            f"run {run_id!r} of workflow {workflow.name!r} is not in the ledger {ledger.table!r}"
            + (" (it was recorded before per-workflow partitions and cannot be repaired)" if run else "")
            + ": check the run id (orch runs list)"
        )
    if _stalled(run):
        stalled = run.repairs[-1]
        _check_definition(
            run.run_id, run.workflow, stalled.get("definition_hash"), definition_hash, allow_changed_definition
        )
        return _launch(workflow, ledger, artifacts, stepfunctions, state_machine_arn, run, stalled, resumed=True)
    _check_repairable(run, definition_hash, allow_changed_definition, named=bool(tasks))
    values = checked_params(workflow, {**run.params, **dict(params or {})})
    upstream = {name: [d.upstream for d in deps] for name, deps in workflow.dependencies().items()}
    selection = select_tasks({name: rec.status for name, rec in run.tasks.items()}, upstream, tasks)
    entry: dict[str, Any] = {
        "number": run.repair + 1,
        "started_at": now_iso(),
        "tasks": list(selection.rerun),
        "named": list(tasks or []),
        "params": {name: values[name] for name in params or {}},  # the overrides, as validated
        "trigger": dict(trigger or {"type": "manual"}),
        "definition_hash": definition_hash,
        "previous_status": run.status,
        "previous_ended_at": run.ended_at,
    }
    if not ledger.begin_repair(run, entry, params=values, definition_hash=definition_hash):
        now = ledger.get_run_item(workflow.name, run_id)
        raise OperationError(
            f"run {run_id!r} changed while repair {entry['number']} was starting: it is now "
            f"{now.status if now else 'gone'} in pass {now.repair if now else '-'} (another repair started "
            "first?): see it with orch runs show, and repair it again once it has ended"
        )
    claimed = ledger.get_run(workflow.name, run_id)
    assert claimed is not None
    return _launch(workflow, ledger, artifacts, stepfunctions, state_machine_arn, claimed, entry, resumed=False)


def _stalled(run: RunRecord) -> bool:
    """Did a repair of this run claim it, and stop before its execution started?"""
    return run.repair > 0 and run.status == RunStatus.QUEUED and run.execution_arn is None and bool(run.repairs)


def _check_repairable(run: RunRecord, definition_hash: str, allow_changed: bool, *, named: bool) -> None:
    if not is_terminal(run.status):
        raise OperationError(
            f"run {run.run_id!r} is {run.status}: it is still going; wait for it to end (or cancel it: "
            f"orch runs cancel {run.run_id}), then repair it"
        )
    _check_definition(run.run_id, run.workflow, run.definition_hash, definition_hash, allow_changed)
    if run.status == RunStatus.SUCCEEDED and not named:
        raise OperationError(
            f"run {run.run_id!r} is {run.status}: nothing to repair; name the tasks to run again "
            "(--task T) to rerun them and everything downstream"
        )


def _check_definition(run_id: str, workflow: str, recorded: str | None, current: str, allow_changed: bool) -> None:
    if recorded != current and not allow_changed:
        raise OperationError(
            f"run {run_id!r} ran the compiled definition {recorded or 'none (the run was started outside orch)'}; "
            f"workflow {workflow!r} now compiles to {current}: a repair would run a changed workflow. Repair it "
            "anyway with --allow-changed-definition (allow_changed_definition=True), or start a new run"
        )


def _launch(
    workflow: Workflow,
    ledger: RunLedger,
    artifacts: ArtifactStore,
    stepfunctions: Any,
    state_machine_arn: str,
    run: RunRecord,
    entry: Mapping[str, Any],
    *,
    resumed: bool,
) -> RepairStarted:
    """Write the claimed repair's plan, start its execution and record it RUNNING."""
    number = int(entry["number"])
    plan = repair_plan(workflow, run, entry)
    artifacts.put(repair_plan_key(workflow.name, run.run_id, number), dumps(plan.model_dump(mode="json")))
    name = repair_execution_name(run.run_id, number)
    start = ExecutionInput(
        params=run.params, logical_date=run.logical_date, repair=RepairInput(run_id=run.run_id, number=number)
    )
    try:
        resp = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=start.model_dump_json()
        )
        arn = str(resp["executionArn"])
    except stepfunctions.exceptions.ExecutionAlreadyExists:  # a continued repair whose start went through
        arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    ledger.set_run_status(workflow.name, run.run_id, RunStatus.RUNNING, execution_arn=arn, repair=number)
    rerun = tuple(sorted(entry["tasks"]))
    return RepairStarted(run.run_id, workflow.name, number, arn, rerun, tuple(plan.reused), resumed)


def repair_plan(workflow: Workflow, run: RunRecord, entry: Mapping[str, Any]) -> RepairPlan:
    """The plan of a claimed repair, from what the ledger held before it (attempts that started
    before the repair was requested): the same whenever it is computed, so a continued repair
    writes the plan the first try wrote."""
    rerun = set(entry["tasks"])
    before = [a for a in run.attempts if a.started_at < str(entry["started_at"])]
    offsets = {t: max((a.attempt for a in before if a.task == t), default=0) for t in sorted(rerun)}
    reused = {t: run.tasks[t].output for t in sorted(workflow.tasks) if t not in rerun and t in run.tasks}
    return RepairPlan(
        workflow=workflow.name, run_id=run.run_id, number=int(entry["number"]), reused=reused, offsets=offsets
    )
