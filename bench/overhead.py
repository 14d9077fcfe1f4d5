"""Local orchestration overhead per task: a LocalCloud run of N no-op tasks versus N direct calls.

The run is timed from `cloud.start` to the return of `cloud.wait` (the ledger record read back);
it includes everything the local runtime does per task: the interpreter's state transitions, the
in-process Lambda invocation and the task runtime's ledger write on moto DynamoDB, plus the
per-run work (ledger run record, Finalize's summaries, the final ledger read). Deploying (compiling
and creating N functions and the state machine) is timed separately. Beside it, the floor
(`bench.floor`): the same compiled ASL on the same interpreter with trivial handlers and no ledger.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bench import floor
from bench.workflows import chain_workflow, fan_out_workflow
from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow

SHAPES = {"chain": chain_workflow, "fan_out": fan_out_workflow}


def direct_seconds(workflow: Workflow, rounds: int = 5) -> float:
    """Best-of-`rounds` wall time of calling every task function once, directly."""
    fns = [t.fn for t in workflow.tasks.values()]
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for fn in fns:
            fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(shape: str, n: int, repeats: int = 1) -> dict[str, Any]:
    """One fresh LocalCloud: deploy, a first run, then `repeats` further runs of the same workflow."""
    wf = SHAPES[shape](n, f"overhead_{shape}_{n}")
    direct = direct_seconds(wf)
    with LocalCloud() as cloud:
        t0 = time.perf_counter()
        cloud.deploy(wf)
        deploy = time.perf_counter() - t0
        runs: list[float] = []
        for _ in range(1 + repeats):
            gc.collect()
            t0 = time.perf_counter()
            rid = cloud.start(wf, {})
            rec = cloud.wait(rid)
            runs.append(time.perf_counter() - t0)
            if rec.status != "SUCCEEDED":
                raise RuntimeError(f"{wf.name}: run {rid} ended {rec.status}")
            attempts = sum(t.attempts for t in rec.tasks.values())
            if attempts != n or any(t.status != "SUCCEEDED" for t in rec.tasks.values()):
                raise RuntimeError(f"{wf.name}: the ledger holds {attempts} attempts for {n} tasks")
    first, *rest = runs
    out: dict[str, Any] = {
        "shape": shape,
        "n": n,
        "deploy_s": deploy,
        "deploy_ms_per_task": deploy / n * 1000,
        "direct_s": direct,
        "run_s": first,
        "ms_per_task": (first - direct) / n * 1000,
        "ledger_attempts": n,
    }
    if rest:
        best = min(rest)
        out["repeat_run_s"] = best
        out["repeat_ms_per_task"] = (best - direct) / n * 1000
    base = floor.measure(SHAPES[shape](n, f"floor_{shape}_{n}"), repeats)
    out["floor_ms_per_task"] = base["run_s"] / n * 1000
    out["x_floor"] = out["ms_per_task"] / out["floor_ms_per_task"]
    if base["repeat_run_s"] is not None and rest:
        out["floor_repeat_ms_per_task"] = base["repeat_run_s"] / n * 1000
        out["repeat_x_floor"] = out["repeat_ms_per_task"] / out["floor_repeat_ms_per_task"]
    return out


def run(ns: list[int], repeats: int = 1, log: Any = None) -> list[dict[str, Any]]:
    rows = []
    for shape in SHAPES:
        for n in ns:
            row = measure(shape, n, repeats)
            if log:
                log(
                    f"  overhead {shape:8s} N={n:4d}: run {row['run_s']:.2f}s = {row['ms_per_task']:.1f} ms/task"
                    f" (deploy {row['deploy_s']:.1f}s; floor {row['floor_ms_per_task']:.1f} ms/task)"
                )
            rows.append(row)
    return rows
