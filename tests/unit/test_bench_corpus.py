"""The benchmark corpus: deterministic, covers the shapes and sizes, and the planner is exact on it.

Fast (no moto): the executed benchmark lives in `python -m bench`.
"""

from __future__ import annotations

import pytest

from bench.analysis import longest_path, makespan
from bench.corpus import MAX_TASKS, MIN_TASKS, SHAPES, Dag, generate_corpus, is_series_parallel
from bench.makespan import measure_dag
from bench.transitions import static_count_of, stratified_subset
from bench.workflows import workflow_of
from orchestration.graph import build_plan, find_cycle, is_exact

SP_SHAPES = {"chain", "fan_out", "fan_in", "diamond", "layered", "series_parallel"}


@pytest.fixture(scope="module")
def corpus() -> list[Dag]:
    return generate_corpus()


def test_corpus_is_deterministic(corpus: list[Dag]) -> None:
    again = generate_corpus()
    assert [(d.name, dict(d.preds), dict(d.durations)) for d in again] == [
        (d.name, dict(d.preds), dict(d.durations)) for d in corpus
    ]
    other = generate_corpus(seed=1)
    assert [dict(d.preds) for d in other] != [dict(d.preds) for d in corpus]


def test_corpus_covers_shapes_and_sizes(corpus: list[Dag]) -> None:
    assert len(corpus) >= 200
    assert len({d.name for d in corpus}) == len(corpus)
    for shape in SHAPES:
        sizes = [d.size for d in corpus if d.shape == shape]
        assert len(sizes) >= 20, shape
        assert min(sizes) == MIN_TASKS and max(sizes) == MAX_TASKS, shape
    assert all(MIN_TASKS <= d.size <= MAX_TASKS for d in corpus)
    assert all(find_cycle(d.preds) is None for d in corpus)
    assert all(all(isinstance(v, int) and v > 0 for v in d.durations.values()) for d in corpus)
    non_sp = [d for d in corpus if not is_series_parallel(d.preds)]
    assert {d.shape for d in non_sp} == {"random_layered", "n_shape", "random_dag", "lattice", "bipartite"}
    assert len(non_sp) > len(corpus) / 2  # weighted toward the shapes that need joins
    assert all(is_series_parallel(d.preds) for d in corpus if d.shape in SP_SHAPES)


def test_series_parallel_check() -> None:
    n_shape = {"a": (), "b": (), "c": ("a",), "d": ("a", "b")}
    assert not is_series_parallel(n_shape)
    assert is_series_parallel({"a": (), "b": (), "c": ("a", "b"), "d": ("a", "b")})
    assert is_series_parallel({"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")})


def test_planner_exact_on_corpus_sample(corpus: list[Dag]) -> None:
    sample = stratified_subset(corpus, 4)[:44]  # small and mid-sized DAGs of every shape
    assert len(sample) >= 40
    for dag in sample:
        plan = build_plan(dag.preds)
        assert is_exact(plan, dag.preds), dag.name
        assert makespan(plan, dag.durations) == longest_path(dag.preds, dag.durations), dag.name
        row = measure_dag(dag)
        assert row["ratio"] == 1.0 and row["level_ratio"] >= 1.0
        assert (row["join_edges"] == 0) == row["series_parallel"], dag.name


def test_static_transitions_small_shapes(corpus: list[Dag]) -> None:
    chain = next(d for d in corpus if d.shape == "chain" and d.size == MIN_TASKS)
    count = static_count_of(workflow_of(chain))
    assert count.by_kind == {"fixed": 5, "task": 5}  # a chain routes statically: one state per task
