"""The series-parallel planner: exact parallelism on every DAG shape."""

from __future__ import annotations

import random

import pytest

from bench.analysis import level_plan, longest_path, makespan
from orchestration.graph import (
    Node,
    Par,
    Seq,
    build_plan,
    find_cycle,
    is_exact,
    topological_order,
    transitive_reduction,
)


def test_series_parallel_dag_needs_no_join() -> None:
    preds = {
        "extract": [],
        "transform": ["extract"],
        "load": ["transform"],
        "qc": ["transform"],
        "publish": ["load", "qc"],
    }
    plan = build_plan(preds)
    assert plan.joins == {}
    assert plan.block == Seq((Node("extract"), Node("transform"), Par((Node("load"), Node("qc"))), Node("publish")))


def test_n_shape_gets_exactly_one_join_and_no_lost_parallelism() -> None:
    preds = {"a": [], "b": [], "c": ["a"], "d": ["a", "b"]}
    plan = build_plan(preds)
    assert plan.block == Par((Seq((Node("a"), Node("c"))), Seq((Node("b"), Node("d")))))
    assert plan.joins == {"d": ("a",)}
    assert is_exact(plan, preds)
    durations = {"a": 1, "b": 3, "c": 5, "d": 1}
    assert makespan(plan, durations) == longest_path(preds, durations) == 6


def test_level_by_level_loses_parallelism_on_the_n_shape() -> None:
    preds = {"a": [], "b": [], "c": ["a"], "d": ["a", "b"]}
    durations = {"a": 1, "b": 5, "c": 5, "d": 1}
    assert longest_path(preds, durations) == 6
    assert makespan(level_plan(preds), durations) == 10  # c waits for b for nothing
    assert makespan(build_plan(preds), durations) == 6


def test_transitive_edges_are_dropped() -> None:
    reduced = transitive_reduction({"a": [], "b": ["a"], "c": ["a", "b"]})
    assert reduced == {"a": set(), "b": {"a"}, "c": {"b"}}


def test_cycle_is_reported_as_a_path() -> None:
    cycle = find_cycle({"a": ["c"], "b": ["a"], "c": ["b"], "d": []})
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": [], "b": ["a"]}) is None


def test_topological_order_is_deterministic() -> None:
    preds = {"z": [], "y": [], "x": ["z", "y"]}
    assert topological_order(preds) == ["y", "z", "x"]


def _random_dag(rng: random.Random, n: int, p: float) -> dict[str, list[str]]:
    names = [f"t{i:03d}" for i in range(n)]
    return {names[j]: [names[i] for i in range(j) if rng.random() < p] for j in range(n)}


@pytest.mark.parametrize("seed", range(40))
def test_random_dags_are_planned_exactly(seed: int) -> None:
    rng = random.Random(seed)
    preds = _random_dag(rng, rng.randint(2, 40), rng.choice([0.05, 0.15, 0.3]))
    plan = build_plan(preds)
    assert is_exact(plan, preds)
    durations = {n: rng.randint(1, 20) for n in preds}
    assert makespan(plan, durations) == longest_path(preds, durations)
    assert build_plan(preds) == plan  # deterministic
