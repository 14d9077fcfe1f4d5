"""Automatic splitting: parts that each fit the quotas, joins across parts, a small parent."""

from __future__ import annotations

import gc
import random

from bench.corpus import make_dag
from bench.workflows import workflow_of
from orchestration.compiler import MAX_DEFINITION_BYTES, PAYLOAD_LIMIT_BYTES, compile_machines, to_json
from orchestration.compiler.quotas import HISTORY_EVENTS_LIMIT, history_estimate
from orchestration.compiler.split import _collector_paused, part_placeholder
from orchestration.compiler.states import START_EXECUTION_SYNC


def _states(scope: dict) -> dict:
    """Every state of a definition, in Parallel branches too."""
    out, todo = {}, [scope]
    while todo:
        s = todo.pop()
        for name, state in s["States"].items():
            out[name] = state
            todo += state.get("Branches", [])
    return out


def test_a_small_workflow_is_not_split() -> None:
    wf = workflow_of(make_dag("random_layered", 60, random.Random("s/60"), "small"))
    assert compile_machines(wf).parts == ()


def test_a_2000_task_workflow_compiles_into_parts_under_every_limit() -> None:
    wf = workflow_of(make_dag("random_layered", 2000, random.Random("s/2000"), "big"))
    machines = compile_machines(wf)
    assert len(machines.parts) >= 5
    assert sorted(t for p in machines.parts for t in p.tasks) == sorted(wf.tasks)
    for part in machines.parts:
        assert part.size == len(to_json(part.definition).encode()) < MAX_DEFINITION_BYTES
        assert history_estimate(len(part.tasks), part.awaited) < HISTORY_EVENTS_LIMIT
    parent = to_json(machines.definition)
    assert len(parent) < 50_000  # the parent holds no task
    starts = [s for s in _states(machines.definition).values() if s.get("Resource") == START_EXECUTION_SYNC]
    assert sorted(s["Parameters"]["StateMachineArn"] for s in starts) == sorted(
        "${" + part_placeholder(p.number) + "}" for p in machines.parts
    )
    assert compile_machines(wf) == machines  # deterministic


def test_a_cross_part_dependency_is_a_join_carrying_the_result() -> None:
    wf = workflow_of(make_dag("random_layered", 120, random.Random("s/120"), "joined"))
    machines = compile_machines(wf, part_tasks=40)
    assert len(machines.parts) == 3
    first, second = (_states(p.definition) for p in machines.parts[:2])
    part_of = {t: p.number for p in machines.parts for t in p.tasks}
    deps = wf.dependencies()
    crossing = [(d.upstream, t) for t, ds in deps.items() for d in ds if part_of[d.upstream] != part_of[t]]
    assert crossing
    up, down = next((u, t) for u, t in crossing if part_of[u] == 1 and part_of[t] == 2)
    assert down in first[f"{up}.signal"]["Parameters"]["Payload"]["joins"]
    assert up in second[f"{down}.join"]["Parameters"]["Payload"]["needs"]


def test_each_part_keeps_its_state_under_the_payload_limit() -> None:
    wf = workflow_of(make_dag("random_dag", 900, random.Random("s/900"), "wide"))
    machines = compile_machines(wf)
    for part in machines.parts:
        limit = next(
            s["Parameters"]["Payload"]["limit"]
            for s in _states(part.definition).values()
            if "limit" in s.get("Parameters", {}).get("Payload", {})
        )
        results = len(part.tasks) + part.awaited
        assert results * (limit + 64) + 16_384 <= PAYLOAD_LIMIT_BYTES


def test_compiling_pauses_the_garbage_collector_and_restores_it() -> None:
    wf = workflow_of(make_dag("random_layered", 30, random.Random("gc"), "gc30"))
    compile_machines(wf, part_tasks=10)
    assert gc.isenabled()  # enabled again after compiling
    gc.disable()
    try:
        compile_machines(wf)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
    with _collector_paused:
        assert not gc.isenabled()
        with _collector_paused:  # nested (another thread compiling): the outer pause still holds
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
