"""Billed state transitions, on the success path and on a failure path.

Standard Workflows bill one transition per state entered (every state, inside Parallel branches and
Map iterations too). Two independent counts:

- *static*: walk the compiled ASL from ``StartAt`` as `orch plan` does (``planning.walk``): a new
  run (not a repair) whose every task succeeds (Choice rules hold with every status SUCCEEDED);
- *executed*: run the workflow on LocalCloud with no-op tasks and count the ``*StateEntered``
  events of its execution history.

Both are reported per DAG shape and for series-parallel DAGs against the others. The failure path
(executed only) runs each subset DAG again with its middle task (by index) failing, no retries:
what the run-if rules cost when part of the DAG is marked UPSTREAM_FAILED.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.corpus import Dag, is_series_parallel, task_name
from bench.workflows import workflow_of
from orchestration.compiler import compile_workflow
from orchestration.local.cloud import LocalCloud
from orchestration.planning import walk
from orchestration.runtime.registry import SERVICE

FIXED_STATES = ("New run or repair", "Start", "Finalize", "Outcome", "Run succeeded", "Run failed")
PRICE_PER_1000_TRANSITIONS = 0.025  # USD, Standard Workflows (us-east-1)
KINDS = ("fixed", "task", "check", "parallel", "join_wait", "join_signal", "map_item", "other")


def kind_of(state: str, state_type: str | None = None) -> str:
    """Which part of the compiled shape a state belongs to (for the breakdown)."""
    if state in FIXED_STATES:
        return "fixed"
    if state.startswith("Parallel ") or state_type == "Parallel":
        return "parallel"
    if state.endswith(".check"):
        return "check"
    if state.endswith(".join"):
        return "join_wait"
    if state.endswith(".signal"):
        return "join_signal"
    if state.endswith(".item"):
        return "map_item"
    if "." not in state:
        return "task"
    return "other"  # .failed / .skipped / .upstream_failed, bypasses: never on the success path


@dataclass(frozen=True)
class Count:
    total: int
    by_kind: Mapping[str, int]

    @property
    def fixed(self) -> int:
        return self.by_kind.get("fixed", 0)


def static_count(definition: Mapping[str, Any]) -> Count:
    """The success path's states by kind, walked as `orch plan` walks it (`planning.walk`)."""
    entered = walk(definition, items=0).entered
    if any(kind == "Map" for _, kind in entered):
        raise ValueError("for-each tasks have a data-dependent iteration count: count them executed")
    counter: Counter[str] = Counter()
    for (name, kind), n in entered.items():
        counter[kind_of(name, kind)] += n
    return Count(sum(counter.values()), dict(counter))


def static_count_of(workflow: Any) -> Count:
    return static_count(compile_workflow(workflow))


def executed_count(history: list[dict[str, Any]]) -> Count:
    counter: Counter[str] = Counter()
    for event in history:
        typ = str(event["type"])
        if not typ.endswith("StateEntered"):
            continue
        name = str((event.get("stateEnteredEventDetails") or {}).get("name", ""))
        counter[kind_of(name, typ.removesuffix("StateEntered"))] += 1
    return Count(sum(counter.values()), dict(counter))


def cost_per_1000_runs(transitions_per_run: float) -> float:
    """USD for 1,000 runs: transitions per run x 1,000 runs x $0.025 / 1,000 transitions."""
    return transitions_per_run * 1000 * PRICE_PER_1000_TRANSITIONS / 1000


# -- the corpus measurement -----------------------------------------------------------------------


def stratified_subset(corpus: list[Dag], per_shape: int) -> list[Dag]:
    """`per_shape` DAGs of every shape, evenly spaced over that shape's sizes (smallest first)."""
    chosen: list[Dag] = []
    shapes = sorted({d.shape for d in corpus}, key=[d.shape for d in corpus].index)
    for shape in shapes:
        dags = sorted((d for d in corpus if d.shape == shape), key=lambda d: (d.size, d.name))
        if per_shape == 1:
            picks = [0]
        else:
            picks = sorted({round(i * (len(dags) - 1) / (per_shape - 1)) for i in range(per_shape)})
        chosen.extend(dags[i] for i in picks)
    return chosen


def _row(dag: Dag, count: Count) -> dict[str, Any]:
    return {
        "name": dag.name,
        "shape": dag.shape,
        "series_parallel": is_series_parallel(dag.preds),
        "tasks": dag.size,
        "transitions": count.total,
        "by_kind": dict(sorted(count.by_kind.items())),
        "per_task": count.total / dag.size,
        "per_task_excluding_fixed": (count.total - count.fixed) / dag.size,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total_tr = sum(r["transitions"] for r in rows)
    total_tasks = sum(r["tasks"] for r in rows)
    fixed = sorted({r["by_kind"].get("fixed", 0) for r in rows})
    per_run = statistics.fmean(r["transitions"] for r in rows)
    kinds = Counter[str]()
    for r in rows:
        kinds.update(r["by_kind"])
    return {
        "dags": len(rows),
        "tasks": total_tasks,
        "transitions": total_tr,
        "per_task_mean_over_dags": statistics.fmean(r["per_task"] for r in rows),
        "per_task_excluding_fixed_mean_over_dags": statistics.fmean(r["per_task_excluding_fixed"] for r in rows),
        "per_task_pooled": total_tr / total_tasks,
        "per_task_excluding_fixed_pooled": (total_tr - sum(r["by_kind"].get("fixed", 0) for r in rows)) / total_tasks,
        "per_task_min": min(r["per_task_excluding_fixed"] for r in rows),
        "per_task_max": max(r["per_task_excluding_fixed"] for r in rows),
        "fixed_per_run": fixed[0] if len(fixed) == 1 else fixed,
        "transitions_per_run_mean": per_run,
        "by_kind_per_task": {k: v / total_tasks for k, v in sorted(kinds.items()) if k != "fixed"},
        "cost_per_1000_runs_mean_usd": cost_per_1000_runs(per_run),
        "cost_per_1000_task_runs_usd": cost_per_1000_runs(
            (total_tr - sum(r["by_kind"].get("fixed", 0) for r in rows)) / total_tasks
        ),
        "cost_fixed_per_1000_runs_usd": cost_per_1000_runs(fixed[0] if len(fixed) == 1 else max(fixed)),
    }


def grouped(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Summaries per shape, and for series-parallel DAGs against the others."""
    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    classes = {"series-parallel": True, "not series-parallel": False}
    return {
        "by_shape": {sh: _summary([r for r in rows if r["shape"] == sh]) for sh in shapes},
        "by_class": {
            label: _summary(picked)
            for label, sp in classes.items()
            if (picked := [r for r in rows if r["series_parallel"] == sp])
        },
    }


def failing_task(dag: Dag) -> str:
    """The task the failure path fails: the middle one by index (it has upstream and downstream tasks)."""
    return task_name(dag.size // 2)


HANG_SECONDS = 30.0
HANG_SECONDS_PER_TASK = 0.3
HANG_RETRIES = 3


def _finished_within(cloud: LocalCloud, run_id: str, seconds: float) -> bool:
    """Poll the execution; stop it and return False if it is still running after `seconds`.

    Guards against a lost join release (a `.waitForTaskToken` state nobody releases hangs the run
    forever: see docs/benchmarks.md, "Findings")."""
    run = cloud.ledger.get_run_by_id(run_id, attempts=False)
    assert run is not None and run.execution_arn is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cloud.sfn.describe_execution(executionArn=run.execution_arn)["status"] != "RUNNING":
            return True
        time.sleep(0.02)
    cloud.sfn.stop_execution(executionArn=run.execution_arn, error="BenchHang", cause="join never released")
    return False


def run(corpus: list[Dag], subset_per_shape: int, log: Any = None) -> dict[str, Any]:
    static_rows = [_row(d, static_count_of(workflow_of(d))) for d in corpus]
    subset = stratified_subset(corpus, subset_per_shape)
    executed_rows: list[dict[str, Any]] = []
    failure_rows: list[dict[str, Any]] = []
    mismatches: list[str] = []
    static_by_name = {r["name"]: r for r in static_rows}
    t0 = time.perf_counter()
    hangs: list[str] = []
    with LocalCloud() as cloud:
        for dag in subset:
            wf = workflow_of(dag)
            status, count = _executed(cloud, wf, dag, hangs, log)
            if status != "SUCCEEDED":
                raise RuntimeError(f"{wf.name}: run ended {status}")
            row = _row(dag, count)
            executed_rows.append(row)
            st = static_by_name[dag.name]
            if row["transitions"] != st["transitions"] or row["by_kind"] != st["by_kind"]:
                mismatches.append(f"{dag.name}: executed {row['by_kind']} static {st['by_kind']}")
            with _quiet():  # the failing task's error log
                _, failed = _executed(cloud, workflow_of(dag, "benchfail", failing_task(dag)), dag, hangs, log)
            failure_rows.append(_row(dag, failed))
            if log:
                log(
                    f"  executed {dag.name:22s} {dag.size:3d} tasks: {row['transitions']:4d} transitions "
                    f"({failed.total} with {failing_task(dag)} failing)"
                )
    subset_static = [static_by_name[d.name] for d in subset]
    return {
        "subset": {
            "dags": [d.name for d in subset],
            "per_shape": subset_per_shape,
            "seconds": time.perf_counter() - t0,
            "static_equals_executed": not mismatches,
            "mismatches": mismatches,
            "hung_runs_retried": hangs,
        },
        "executed": {"summary": _summary(executed_rows), **grouped(executed_rows), "dags": executed_rows},
        "failure_path": {
            "failing": "the middle task by index, no retries",
            "summary": _summary(failure_rows),
            **grouped(failure_rows),
            "dags": failure_rows,
        },
        "static_on_subset": {"summary": _summary(subset_static)},
        "static": {"summary": _summary(static_rows), **grouped(static_rows), "dags": static_rows},
    }


@contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("moto", SERVICE)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _executed(cloud: LocalCloud, wf: Any, dag: Dag, hangs: list[str], log: Any) -> tuple[str, Count]:
    """Run `wf` to its end (stopping and retrying a hung run): its status and executed transitions."""
    for _attempt in range(1 + HANG_RETRIES):
        rid = cloud.start(wf, {})
        if _finished_within(cloud, rid, HANG_SECONDS + HANG_SECONDS_PER_TASK * dag.size):
            break
        hangs.append(f"{dag.name} ({rid})")
        if log:
            log(f"  HANG: {dag.name} run {rid} did not finish; stopped it and retrying")
    rec = cloud.wait(rid)
    return rec.status, executed_count(cloud.execution_history(rid))
