"""Planning and compiling at scale: validate, plan and compile seconds for random layered DAGs of
1,000 to 10,000 tasks, and the parts a split workflow compiles into (docs/benchmarks.md)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from bench.corpus import make_dag
from bench.report import table
from bench.workflows import workflow_of
from orchestration.compiler import compile_machines, to_json
from orchestration.compiler.quotas import history_estimate
from orchestration.graph import build_plan
from orchestration.validation import validate

SIZES = (1_000, 2_000, 5_000, 10_000)
QUICK_SIZES = (1_000, 2_000)
TARGET_SECONDS = 2.0  # validate + compile of 10,000 tasks (issue 11)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def row(n: int) -> dict[str, Any]:
    wf = workflow_of(make_dag("random_layered", n, random.Random(f"scale/{n}"), f"scale{n}"))
    preds = {t: [d.upstream for d in ds] for t, ds in wf.dependencies().items()}
    validate_s, _ = _timed(lambda: validate(wf))
    plan_s, _ = _timed(lambda: build_plan(preds))
    compile_s, machines = _timed(lambda: compile_machines(wf))  # validates, plans per part, emits
    parts = machines.parts
    return {
        "tasks": n,
        "validate_s": round(validate_s, 3),
        "plan_whole_s": round(plan_s, 3),
        "compile_s": round(compile_s, 3),
        "parts": len(parts),
        "parent_bytes": len(to_json(machines.definition).encode()),
        "max_part_tasks": max((len(p.tasks) for p in parts), default=n),
        "max_part_bytes": max((p.size for p in parts), default=len(to_json(machines.definition).encode())),
        "max_part_history": max((history_estimate(len(p.tasks), p.awaited) for p in parts), default=0),
        "cross_part_joins": sum(p.awaited for p in parts),
    }


def run(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    rows = []
    for n in QUICK_SIZES if quick else SIZES:
        log(f"scale: {n} tasks")
        rows.append(row(n))
    return {"rows": rows, "target_seconds": TARGET_SECONDS}


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            r["tasks"],
            r["validate_s"],
            r["plan_whole_s"],
            r["compile_s"],
            r["parts"],
            r["max_part_tasks"],
            r["max_part_bytes"],
            r["max_part_history"],
            r["cross_part_joins"],
            r["parent_bytes"],
        ]
        for r in result["rows"]
    ]
    headers = ["tasks", "validate s", "plan (whole) s", "compile s", "parts", "part tasks", "part bytes"]
    headers += ["part history (est.)", "cross-part joins", "parent bytes"]
    return "\n".join(
        [
            "== Scale: random layered DAGs (compile = validate + split + plan and emit each part) ==",
            table(headers, rows),
            "history estimate: 14 events per task + 12 per cross-part join, against 25,000 per execution",
        ]
    )
