"""Turn corpus DAGs into workflows of no-op tasks."""

from __future__ import annotations

from bench.corpus import Dag, task_name
from orchestration.model import Workflow


def noop() -> None:
    """The benchmark task: does nothing, returns nothing."""
    return None


def fail() -> None:
    """The benchmark's failing task."""
    raise RuntimeError("fails on purpose")


def workflow_of(dag: Dag, prefix: str = "bench", failing: str | None = None) -> Workflow:
    """No-op tasks; `failing`: one task that fails (without retries, so every transition is a state's)."""
    wf = Workflow(f"{prefix}_{dag.name}"[:48])
    for name, ups in dag.preds.items():
        if name == failing:
            wf.task(name=name, after=list(ups), retry=0)(fail)
        else:
            wf.task(name=name, after=list(ups))(noop)
    return wf


def chain_workflow(n: int, name: str) -> Workflow:
    wf = Workflow(name)
    for i in range(n):
        wf.task(name=task_name(i), after=[task_name(i - 1)] if i else [])(noop)
    return wf


def fan_out_workflow(n: int, name: str) -> Workflow:
    """n independent tasks (one Parallel state with n branches)."""
    wf = Workflow(name)
    for i in range(n):
        wf.task(name=task_name(i))(noop)
    return wf
