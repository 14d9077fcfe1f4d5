"""What the UI shows of datasets (pure): the datasets a run's tasks read and wrote, and for a dataset,
the tasks that produce and consume it with their last runs, from the datasets recorded on the
attempts in the run ledger (`orchestration.lineage`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestration.errors import RunNotFound
from orchestration.lineage import INPUTS, OUTPUTS
from orchestration.operations.source import RunFilter, RunSource

if TYPE_CHECKING:
    from orchestration.ledger import RunRecord

RECENT_RUNS = 200  # how many of the newest runs the dataset pages look through


def task_datasets(run: RunRecord) -> dict[str, dict[str, list[str]]]:
    """task -> {"inputs": [...], "outputs": [...]}: what its attempts in the run read and wrote."""
    found: dict[str, dict[str, list[str]]] = {}
    for att in run.attempts:
        for key in (INPUTS, OUTPUTS):
            names = (att.datasets or {}).get(key, [])
            into = found.setdefault(att.task, {INPUTS: [], OUTPUTS: []})[key]
            into.extend(n for n in names if n not in into)
    return found


@dataclass(frozen=True)
class TaskUse:
    """A task reading or writing a dataset, with its last run that did."""

    workflow: str
    task: str
    run_id: str
    run_status: str
    task_status: str
    at: str


def dataset_index(runs: Iterable[RunRecord]) -> dict[str, dict[str, list[TaskUse]]]:
    """dataset -> {"producers": [...], "consumers": [...]}, one entry per (workflow, task) with its
    newest run; `runs` newest first (as sources list them)."""
    index: dict[str, dict[str, dict[tuple[str, str], TaskUse]]] = {}
    for run in runs:
        for task, used in task_datasets(run).items():
            record = run.tasks.get(task)
            use = TaskUse(
                run.workflow,
                task,
                run.run_id,
                run.status,
                record.status if record else "",
                (record.ended_at or record.started_at or "") if record else "",
            )
            for key, role in ((OUTPUTS, "producers"), (INPUTS, "consumers")):
                for name in used[key]:
                    index.setdefault(name, {"producers": {}, "consumers": {}})[role].setdefault(
                        (run.workflow, task), use
                    )
    return {
        name: {role: sorted(uses.values(), key=lambda u: (u.workflow, u.task)) for role, uses in roles.items()}
        for name, roles in sorted(index.items())
    }


def dataset_rows(index: dict[str, dict[str, list[TaskUse]]]) -> list[dict[str, Any]]:
    """The datasets list: each dataset with the names of the tasks that produce and consume it."""
    return [
        {
            "name": name,
            "producers": [f"{u.workflow}.{u.task}" for u in roles["producers"]],
            "consumers": [f"{u.workflow}.{u.task}" for u in roles["consumers"]],
        }
        for name, roles in index.items()
    ]


def recent_index(source: RunSource) -> dict[str, dict[str, list[TaskUse]]]:
    """The dataset index of the source's newest RECENT_RUNS runs."""
    runs = []
    for found in source.list_runs(RunFilter(limit=RECENT_RUNS)):
        try:
            runs.append(source.get_run(found.run_id, found.workflow))  # with its attempts
        except RunNotFound:  # removed since it was listed
            continue
    return dataset_index(runs)
