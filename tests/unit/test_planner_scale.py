"""The planner at scale: iterative (no recursion limit) and near-linear."""

from __future__ import annotations

import random
import time

from bench.corpus import make_dag, task_name
from orchestration.graph import Node, Seq, build_plan, describe, is_exact, tasks_of


def test_a_chain_of_20000_tasks_plans_without_recursion() -> None:
    preds = {task_name(i): [task_name(i - 1)] if i else [] for i in range(20_000)}
    plan = build_plan(preds)
    assert plan.block == Seq(tuple(Node(task_name(i)) for i in range(20_000)))
    assert plan.joins == {}
    assert len(describe(plan.block)) == 20_000


def test_a_10000_task_random_dag_is_planned_exactly_in_seconds() -> None:
    dag = make_dag("random_layered", 10_000, random.Random("scale/10000"), "big")
    started = time.perf_counter()
    plan = build_plan(dag.preds)
    elapsed = time.perf_counter() - started
    assert sorted(tasks_of(plan.block)) == sorted(dag.preds)
    assert plan.joins  # not series-parallel: joins cover what nesting cannot express
    assert is_exact(plan, dag.preds)
    assert elapsed < 15  # about 2.5 s here alone; generous for a loaded machine


def test_deeply_nested_plans_are_walked_without_recursion() -> None:
    # n-shaped zigzags joined by single tasks nest one Parallel per zigzag: about 300 levels here
    dag = make_dag("n_shape", 3_000, random.Random("scale/n"), "deep")
    plan = build_plan(dag.preds)
    assert is_exact(plan, dag.preds)
    assert len([line for line in describe(plan.block) if not line.strip().startswith(("parallel", "branch"))]) == 3_000
