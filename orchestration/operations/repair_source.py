"""Repair a run where it is kept: what `orch repair` and `orch ui`'s repair button both call.

Locally the run is loaded from the store into an embedded local cloud, repaired there (the cloud waits
for the repair and saves it back); on a deployed stack the repair is started through boto3 and the
caller decides whether to wait for it (`StackRuns.wait`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestration.errors import ParameterError

if TYPE_CHECKING:
    from orchestration.ledger import RunRecord
    from orchestration.model import Workflow
    from orchestration.operations.repair import RepairStarted
    from orchestration.operations.source import RunSource


@dataclass(frozen=True)
class RepairRequest:
    """What to repair: the named tasks (none: the failed ones), parameter overrides, who asks."""

    tasks: Sequence[str] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    allow_changed_definition: bool = False
    trigger: Mapping[str, Any] = field(default_factory=lambda: {"type": "repair"})


def workflow_file(source: RunSource, run: RunRecord, file: str | None) -> str:
    """The file defining the run's workflow: `file`, else (locally) the one the run was started from."""
    from orchestration.operations.local_store import LocalStore

    path = file
    if path is None and isinstance(source, LocalStore):
        path = source.source(run)
    if path is None:
        why = (
            ""
            if isinstance(source, LocalStore)
            else " (the stack's deployed code runs the tasks; the file gives their graph)"
        )
        raise ParameterError(f"which file defines workflow {run.workflow!r}? pass --file FILE{why}")
    return path


def load_run_workflow(source: RunSource, run: RunRecord, file: str | None) -> Workflow:
    from orchestration.loader import load_workflow

    return load_workflow(workflow_file(source, run, file), run.workflow)


def repair_local(
    source: RunSource, run: RunRecord, wf: Workflow, request: RepairRequest, *, ready: Callable[[], None] | None = None
) -> RunRecord:
    """Repair a run of the local store in an embedded local cloud and wait for it; `ready` is called
    once the cloud is up (the CLI quietens its loggers there)."""
    from orchestration.local import LocalCloud
    from orchestration.operations.local_store import LocalStore

    assert isinstance(source, LocalStore)
    store = LocalStore(source.root, cloud=LocalCloud)
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        if ready is not None:
            ready()
        store.load(cloud, run.workflow, run.run_id)
        return cloud.repair(
            run.run_id,
            tasks=list(request.tasks) or None,
            params=request.params,
            allow_changed_definition=request.allow_changed_definition,
            workflow=wf,
            trigger=request.trigger,
        )


def start_stack_repair(source: RunSource, run: RunRecord, wf: Workflow, request: RepairRequest) -> RepairStarted:
    """Start a repair of a deployed stack's run (returns once its execution started)."""
    from orchestration.operations.stack import StackRuns
    from orchestration.operations.stack_start import repair_on_stack

    assert isinstance(source, StackRuns)
    return repair_on_stack(
        source,
        wf,
        run.run_id,
        tasks=list(request.tasks) or None,
        params=request.params,
        allow_changed_definition=request.allow_changed_definition,
        trigger=request.trigger,
    )
