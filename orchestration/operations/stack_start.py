"""Starting work on a deployed stack from here: a run (`orch run --stack`) or a repair pass
(`orch repair --stack`), through the same starter and repair code as everywhere else, recorded as
started by the caller's AWS identity (or the trigger given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orchestration.errors import OperationError, StackError
from orchestration.model import Workflow
from orchestration.operations.stack import StackRuns

if TYPE_CHECKING:
    from orchestration.operations.repair import RepairStarted


def start_on_stack(
    stack: StackRuns,
    workflow: Workflow,
    params: Mapping[str, Any],
    *,
    run_id: str,
    logical_date: str | None = None,
) -> str:
    """Start a run of a deployed workflow as its trigger function would (the same starter: run
    record, concurrency limit, one execution named after the run id), recorded as started by the
    caller's AWS identity. Returns the run's status once started (RUNNING, QUEUED or SKIPPED)."""
    from orchestration.runtime.starter import start_run

    machine, compiled_hash = _deployed(stack, workflow)
    with stack.aws("start a run on"):
        started = start_run(
            workflow=workflow,
            ledger=stack.ledger,
            stepfunctions=stack.client("stepfunctions"),
            state_machine_arn=machine,
            definition_hash=compiled_hash,
            run_id=run_id,
            params=params,
            logical_date=logical_date,
            trigger={"type": "manual", "by": stack.caller()},
        )
    if started.status == "duplicate":
        raise OperationError(f"run id {run_id!r} already exists on {stack.where}: choose another run id")
    return started.status


def repair_on_stack(
    stack: StackRuns,
    workflow: Workflow,
    run_id: str,
    *,
    tasks: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    allow_changed_definition: bool = False,
    trigger: Mapping[str, Any] | None = None,
) -> RepairStarted:
    """Start a repair of a deployed run on the stack's own state machine (`operations.repair`).
    `workflow` is the workflow as compiled here: its definition hash is compared with the run's,
    so deploy a fix before repairing with it."""
    from orchestration.artifacts import ArtifactStore
    from orchestration.operations.repair import repair_run

    machine, compiled_hash = _deployed(stack, workflow)
    if stack.bucket is None:
        raise StackError(f"{stack.where} has no artifact bucket output: redeploy the stack")
    with stack.aws("repair a run of"):
        return repair_run(
            workflow=workflow,
            ledger=stack.ledger,
            artifacts=ArtifactStore(stack.bucket, stack.client("s3")),
            stepfunctions=stack.client("stepfunctions"),
            state_machine_arn=machine,
            definition_hash=compiled_hash,
            run_id=run_id,
            tasks=tasks,
            params=params,
            allow_changed_definition=allow_changed_definition,
            trigger=trigger,
        )


def _deployed(stack: StackRuns, workflow: Workflow) -> tuple[str, str]:
    """The workflow's state machine on the stack, and the hash of the workflow as compiled here."""
    from orchestration.compiler import compile_workflow, definition_hash, to_json

    machine = stack.state_machines.get(workflow.name)
    if machine is None:
        raise StackError(f"{stack.where} does not deploy workflow {workflow.name!r}: deploy it, or check --stack")
    return machine, definition_hash(to_json(compile_workflow(workflow)))
