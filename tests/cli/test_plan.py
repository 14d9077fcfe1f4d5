"""`orch plan`: the quotas a workflow meets on AWS and its cost per run, checked against the compiled
definition and a local run's execution history; exit 2 naming a quota that would be broken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestration.compiler import compile_workflow, to_json
from orchestration.loader import load_file
from orchestration.local import LocalCloud
from orchestration.planning import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST, PRICE_PER_TRANSITION
from tests.helpers import invoke

SMALL = """
from orchestration import Resources, Retry, Workflow

wf = Workflow("small")


@wf.task(resources=Resources(memory_mb=1024, timeout_seconds=60))
def a() -> int:
    return 1


@wf.task(retry=Retry(max_attempts=2))
def b(a: int) -> int:
    return a


@wf.task
def c(a: int) -> int:
    return a


@wf.task
def d(b: int, c: int) -> int:
    return b + c


@wf.task
def items() -> list[int]:
    return [1, 2, 3]


@wf.task(for_each="items", mode="inline")  # one Map: the count below walks every state
def each(item: int) -> int:
    return item
"""


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.py"
    path.write_text(SMALL)
    return path


def _plan(path: Path, *args: str) -> dict[str, Any]:
    code, out, err = invoke("plan", str(path), "--no-synth", "--json", *args)
    assert code == 0, err
    return dict(json.loads(out))


def _states(scope: dict[str, Any]) -> int:
    n = 0
    for state in scope["States"].values():
        n += 1 + sum(_states(b) for b in state.get("Branches", []))
        n += _states(state["ItemProcessor"]) if "ItemProcessor" in state else 0
    return n


def test_the_figures_are_those_of_the_compiled_definition_and_of_a_local_run(small: Path) -> None:
    (plan,) = _plan(small, "--items", "3")["workflows"]
    (wf,) = load_file(small).values()
    definition = compile_workflow(wf)
    (machine,) = plan["state_machines"]
    assert machine["name"] == "small" and machine["states"] == _states(definition)
    assert machine["definition_bytes"] == len(to_json(definition).encode())
    with LocalCloud() as cloud:  # moto's interpreter writes the history Step Functions would
        cloud.run(wf, run_id="p1")
        history = cloud.execution_history("p1")
    assert machine["events"] == len(history)
    assert machine["transitions"] == sum(1 for e in history if e["type"].endswith("StateEntered"))
    # retries: b's own 2 plus the Lambda service-error retrier of every task (each item's), all exhausted
    retries = sum(
        times * r.get("MaxAttempts", 3)
        for s, times in _all_states(definition, items=3)
        if s["Type"] == "Task"
        for r in s.get("Retry", [])
    )
    assert machine["transitions_worst"] == machine["transitions"] + retries
    assert machine["events_worst"] == machine["events"] + 3 * retries
    assert plan["state_payload_bytes"] <= 262_144 and plan["items_per_for_each"] == 3
    assert plan["task_functions"] == 2 and plan["tasks"] == 6  # a's memory is its own; the others share
    cost = plan["cost_per_run_usd"]
    assert cost["transitions"] == pytest.approx(machine["transitions"] * PRICE_PER_TRANSITION)
    # no recorded run: every task priced at its timeout (a: 1 GB x 60 s; 7 other invocations: 0.5 GB x 300 s)
    assert set(cost["durations"].values()) == {"timeout"}
    tasks_gbs = 1 * 60 + 7 * 0.5 * 300
    platform_gbs = 0.25 * 0.2  # Finalize at 256 MB for 0.2 s (no join: the DAG is series-parallel)
    assert cost["gb_seconds"] == pytest.approx(tasks_gbs + platform_gbs)
    assert cost["requests"] == 9
    assert cost["lambda_usd"] == pytest.approx(
        cost["gb_seconds"] * PRICE_PER_GB_SECOND["x86_64"] + 9 * PRICE_PER_REQUEST
    )
    assert plan["problems"] == []


def _all_states(scope: dict[str, Any], items: int, times: int = 1) -> list[tuple[dict[str, Any], int]]:
    """Every state with the times a run enters it (a Map's: once per item)."""
    out = []
    for state in scope["States"].values():
        out.append((state, times))
        for b in state.get("Branches", []):
            out += _all_states(b, items, times)
        if "ItemProcessor" in state:
            out += _all_states(state["ItemProcessor"], items, times * items)
    return out


def test_the_cost_uses_the_durations_of_recorded_local_runs(small: Path) -> None:
    code, _, err = invoke("run", str(small), "--run-id", "recorded-1")
    assert code == 0, err
    (plan,) = _plan(small, "--items", "3")["workflows"]
    cost = plan["cost_per_run_usd"]
    assert set(cost["durations"].values()) == {"recorded"}
    assert cost["gb_seconds"] < 1  # milliseconds of no-op tasks, not their timeouts
    code, out, _ = invoke("plan", str(small), "--no-synth")
    assert code == 0 and "durations of recorded local runs for 6 of 6 tasks" in out and "small: 6 tasks" in out


def test_a_workflow_over_a_quota_exits_2_naming_it_and_the_fix(small: Path, tmp_path: Path) -> None:
    code, out, err = invoke("plan", str(small), "--no-synth", "--items", "5000")  # 5,000 items: ~35,000 events
    assert code == 2
    assert "history events, over the 25,000 of a Standard execution" in err and "run_workflow" in err
    assert "history events" in out  # the table is shown as well
    source = (
        "from orchestration import Workflow\nwf = Workflow('wide'{kind})\n"
        "def _noop() -> None:\n    return None\n"
        "for i in range(800):\n    wf.task(name=f't{{i}}')(_noop)\n"
    )
    wide = tmp_path / "wide.py"
    wide.write_text(source.format(kind=""))  # too many results for one state: split into parts
    code, out, err = invoke("plan", str(wide), "--no-synth", "--json")
    assert code == 0, err
    machines = json.loads(out)["workflows"][0]["state_machines"]
    assert [m["name"] for m in machines[:2]] == ["wide", "wide-part1"] and len(machines) >= 3
    assert all(m["definition_bytes"] < 1_048_576 and m["events"] < 25_000 for m in machines)
    express = tmp_path / "wide_express.py"
    express.write_text(source.format(kind=", type='EXPRESS'"))  # an Express state machine cannot be split
    code, out, err = invoke("plan", str(express), "--no-synth", "--json")
    assert code == 2
    (problem,) = json.loads(out)["problems"]
    assert problem.startswith("wide: ") and "262,144-byte payload limit" in problem and "split it" in problem


@pytest.mark.infra
def test_resources_are_counted_by_an_in_process_synth(small: Path) -> None:
    code, out, err = invoke("plan", str(small), "--json", "--stack-name", "plantest")
    assert code == 0, err
    stack = json.loads(out)["stack"]
    assert stack["counted_by"] == "synth" and set(stack["resources"]) == {"plantest"}
    # the platform (ledger, bucket, alerts, join, finalize, recorder, alarms...) and small's 2 task functions
    assert 30 < stack["resources"]["plantest"] < 500
