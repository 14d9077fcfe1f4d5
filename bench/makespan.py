"""Makespan of the compiled schedule versus the critical path, on the whole corpus."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.analysis import level_plan, longest_path, makespan
from bench.corpus import SHAPES, Dag, is_series_parallel
from orchestration.graph import build_plan, is_exact

EPS = 1e-9


def measure_dag(dag: Dag) -> dict[str, Any]:
    plan = build_plan(dag.preds)
    critical = longest_path(dag.preds, dag.durations)
    compiled = makespan(plan, dag.durations)
    levels = makespan(level_plan(dag.preds), dag.durations)
    return {
        "name": dag.name,
        "shape": dag.shape,
        "tasks": dag.size,
        "edges": dag.edges,
        "series_parallel": is_series_parallel(dag.preds),
        "critical_path": critical,
        "makespan": compiled,
        "ratio": compiled / critical,
        "exact": is_exact(plan, dag.preds),
        "join_tasks": len(plan.joins),
        "join_edges": sum(len(ups) for ups in plan.joins.values()),
        "level_makespan": levels,
        "level_ratio": levels / critical,
    }


def _stats(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "mean": statistics.fmean(values), "max": max(values)}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    non_sp = [r for r in rows if not r["series_parallel"]]
    per_shape = {}
    for shape in SHAPES:
        sub = [r for r in rows if r["shape"] == shape]
        if not sub:
            continue
        per_shape[shape] = {
            "dags": len(sub),
            "tasks": {"min": min(r["tasks"] for r in sub), "max": max(r["tasks"] for r in sub)},
            "non_series_parallel": sum(not r["series_parallel"] for r in sub),
            "ratio": _stats([r["ratio"] for r in sub]),
            "level_ratio": _stats([r["level_ratio"] for r in sub]),
            "level_loses": sum(r["level_ratio"] > 1 + EPS for r in sub),
            "join_edges": sum(r["join_edges"] for r in sub),
        }
    return {
        "dags": len(rows),
        "tasks": {
            "min": min(r["tasks"] for r in rows),
            "max": max(r["tasks"] for r in rows),
            "total": sum(r["tasks"] for r in rows),
        },
        "series_parallel": len(rows) - len(non_sp),
        "non_series_parallel": len(non_sp),
        "ratio": _stats([r["ratio"] for r in rows]),
        "all_ratio_one": all(abs(r["ratio"] - 1.0) <= EPS for r in rows),
        "all_exact": all(r["exact"] for r in rows),
        "level_ratio": _stats([r["level_ratio"] for r in rows]),
        "level_loses": sum(r["level_ratio"] > 1 + EPS for r in rows),
        "level_ratio_non_sp": _stats([r["level_ratio"] for r in non_sp]) if non_sp else None,
        "joins": {
            "join_edges_total": sum(r["join_edges"] for r in rows),
            "join_tasks_total": sum(r["join_tasks"] for r in rows),
            "sp_dags_with_joins": sum(1 for r in rows if r["series_parallel"] and r["join_edges"]),
            "per_non_sp_dag": {
                "join_edges": _stats([r["join_edges"] for r in non_sp]) if non_sp else None,
                "join_tasks": _stats([r["join_tasks"] for r in non_sp]) if non_sp else None,
                "join_edges_per_task": _stats([r["join_edges"] / r["tasks"] for r in non_sp]) if non_sp else None,
            },
        },
        "per_shape": per_shape,
    }


def run(corpus: list[Dag]) -> dict[str, Any]:
    rows = [measure_dag(d) for d in corpus]
    return {"summary": summarize(rows), "dags": rows}
