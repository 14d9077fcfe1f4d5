"""The pytest plugin: run a workflow offline in one line and assert on what it did.

Registered under its module name as a pytest11 entry point, so installing the package makes its
fixtures available to every test (see docs/testing.md):

- `orch_cloud` (session scope): one LocalCloud, an in-process moto with the run ledger and the
  artifact bucket, started when a test first needs it and stopped when the session ends;
- `orch_run`: runs a workflow (a file path, relative to pytest's rootdir, or a Workflow) on it and
  returns a `WorkflowRun`.

Importing this module starts nothing: the local cloud (moto, boto3) is imported by the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from orchestration.artifacts import ArtifactStore, unwrap
from orchestration.errors import OrchestrationError, ParameterError, WorkflowLoadError
from orchestration.loader import load_workflow
from orchestration.model import Workflow
from orchestration.status import RunStatus, TaskStatus
from orchestration.times import parse_iso

if TYPE_CHECKING:  # both import boto3: only the fixtures load them
    from orchestration.ledger import RunRecord
    from orchestration.local import LocalCloud

__all__ = ["RunWorkflow", "TaskOutputError", "TaskRun", "WorkflowRun", "orch_cloud", "orch_run"]


class TaskOutputError(OrchestrationError, LookupError):
    """`WorkflowRun.output` was asked for a task the workflow lacks, or one that did not succeed."""


@dataclass(frozen=True)
class TaskRun:
    """One task of a finished run, as the run ledger recorded it."""

    name: str
    status: str  # a TaskStatus: SUCCEEDED, FAILED, SKIPPED, UPSTREAM_FAILED or PENDING (never reached)
    attempts: int
    error: str | None  # "ErrorName: message" of its last failed attempt
    # A succeeded task's output as it returned it, except that one stored in the artifact bucket is a
    # reference {"__orch_ref__": "s3://...", "bytes": n} (as are large items of a for-each's list),
    # which `WorkflowRun.output(name)` fetches.
    output: Any
    items: int | None  # for-each: how many item attempts ran
    recorded: Any = field(default=None, repr=False, compare=False)  # the output as the ledger holds it

    @property
    def succeeded(self) -> bool:
        return self.status == TaskStatus.SUCCEEDED


@dataclass(frozen=True)
class WorkflowRun:
    """A finished local run: its ledger record, with each task's outcome and output."""

    run_id: str
    workflow: str
    status: str  # a RunStatus: SUCCEEDED, SUCCEEDED_WITH_FAILURES, FAILED, TIMED_OUT or ABORTED
    params: dict[str, Any]  # as the run got them: validated, defaults applied
    logical_date: datetime | None
    error: str | None
    tasks: dict[str, TaskRun]  # every task of the workflow, in declaration order
    artifacts: ArtifactStore = field(repr=False, compare=False)  # where its large outputs are

    @property
    def succeeded(self) -> bool:
        """The run succeeded with every task succeeded or skipped by its run-if rule."""
        return self.status == RunStatus.SUCCEEDED

    def output(self, task: str) -> Any:
        """The task's output, fetched from the artifact bucket when it was stored there.

        Raises TaskOutputError when the workflow has no such task or the task did not succeed."""
        found = self.tasks.get(task)
        if found is None:
            known = ", ".join(self.tasks) or "none"
            raise TaskOutputError(f"workflow {self.workflow!r} has no task {task!r} (its tasks: {known})")
        if not found.succeeded:
            why = f" ({found.error})" if found.error else ""
            raise TaskOutputError(
                f"task {task!r} of run {self.run_id} ended {found.status}{why}, so it has no output: "
                "check run.tasks[...].status first"
            )
        consumer = f"run.output({task!r}) of run {self.run_id}"
        return self.artifacts.resolve(found.recorded, workflow=self.workflow, run_id=self.run_id, consumer=consumer)

    @classmethod
    def of(cls, record: RunRecord, artifacts: ArtifactStore) -> WorkflowRun:
        tasks = {
            name: TaskRun(name, t.status, t.attempts, t.error, unwrap(t.output, dict), t.items, t.output)
            for name, t in record.tasks.items()
        }
        return cls(
            run_id=record.run_id,
            workflow=record.workflow,
            status=record.status,
            params=dict(record.params),
            logical_date=parse_iso(record.logical_date),
            error=record.error,
            tasks=tasks,
            artifacts=artifacts,
        )


class RunWorkflow(Protocol):
    """The `orch_run` fixture's type, for annotating tests: `def test_x(orch_run: RunWorkflow)`."""

    def __call__(
        self,
        target: str | Path | Workflow,
        params: Mapping[str, Any] | None = None,
        *,
        workflow: str | None = None,
        logical_date: datetime | str | None = None,
        run_id: str | None = None,
    ) -> WorkflowRun: ...


@pytest.fixture(scope="session")
def orch_cloud() -> Iterator[LocalCloud]:
    """The session's local cloud. While it is up, every boto3 client in the process talks to its
    moto (fake credentials, region us-east-1), not to AWS."""
    from orchestration.local import LocalCloud

    with LocalCloud() as cloud:
        yield cloud


@pytest.fixture
def orch_run(orch_cloud: LocalCloud, pytestconfig: pytest.Config) -> RunWorkflow:
    """Run a workflow on the session's local cloud and wait for it:
    `run = orch_run("workflows/etl.py", params={"rows": 10})`."""
    root = pytestconfig.rootpath

    def run(
        target: str | Path | Workflow,
        params: Mapping[str, Any] | None = None,
        *,
        workflow: str | None = None,
        logical_date: datetime | str | None = None,
        run_id: str | None = None,
    ) -> WorkflowRun:
        __tracebackhide__ = True
        try:
            wf = _workflow(target, workflow, root)
            record = orch_cloud.run(wf, params or {}, logical_date=_date(logical_date), run_id=run_id)
        except OrchestrationError as exc:
            # a usage mistake: pytest shows the message at the test's line, not the library's frames
            raise exc.with_traceback(None)  # noqa: B904 - the same exception, re-raised
        return WorkflowRun.of(record, orch_cloud.artifacts)

    return run


def _workflow(target: str | Path | Workflow, name: str | None, root: Path) -> Workflow:
    if isinstance(target, Workflow):
        if name is not None and name != target.name:
            raise WorkflowLoadError(
                f"orch_run got the workflow {target.name!r} and workflow={name!r}: pass workflow= only with a file path"
            )
        return target
    path = Path(target)
    return load_workflow(path if path.is_absolute() else root / path, name)


def _date(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    moment = parse_iso(value)
    if moment is None:
        raise ParameterError(f"logical_date {value!r} is not an ISO 8601 date-time: use e.g. 2026-11-21T00:00:00Z")
    return moment
