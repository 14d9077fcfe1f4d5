"""How fast `orch ui` pages load in Chromium: a run of 200 tasks (graph laid out, timeline drawn) and
the runs list over a store of 1,000 runs (written as the ledger records runs, not run: 200 tasks take
the local cloud about 100 s). The figures go to artifacts/load-times.json; the bounds
asserted are loose (a shared CI machine), the figures are what to read."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestration.operations.local_store import GRAPH, LEDGER, LocalStore
from orchestration.ui import UIState, create_app, serving
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

LAYERS, WIDTH = 20, 10  # 200 tasks: each after two tasks of the layer before
STORED_RUNS = 1_000
ROUNDS = 5


def stored_run(store: LocalStore, workflow: str, run_id: str, created: datetime, graph: dict[str, list[str]]) -> None:
    """Write a finished run into the store as the ledger records it: tasks start a layer after their
    upstream tasks end; every tenth task fails once and succeeds on its retry after a 2 s wait."""
    from orchestration.ledger.records import Attempt, RunRecord, TaskRecord, attempt_item, run_item, summary_item

    def iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    ends: dict[str, datetime] = {}
    items: list[dict[str, Any]] = []
    for n, (task, ups) in enumerate(graph.items()):
        start = max((ends[u] for u in ups), default=created) + timedelta(milliseconds=200)
        tries = 2 if n % 10 == 9 else 1
        for attempt in range(1, tries + 1):
            end = start + timedelta(seconds=1)
            ok = attempt == tries
            status, error = ("SUCCEEDED", None) if ok else ("FAILED", "Timeout")
            att = Attempt(task, attempt, status, iso(start), iso(end), 1000, error)
            items.append(attempt_item(workflow, run_id, att))
            start = end + timedelta(seconds=2)
        ends[task] = end
        first = iso(end - timedelta(seconds=3 * tries - 2))
        items.append(summary_item(workflow, run_id, TaskRecord(task, "SUCCEEDED", tries, first, iso(end))))
    finished = iso(max(ends.values()))
    run = RunRecord(
        run_id,
        workflow,
        "SUCCEEDED",
        iso(created),
        {"rows": 1},
        iso(created),
        finished,
        None,
        {"type": "manual"},
        "sha256:0123456789abcdef",
    )
    folder = store.run_dir(workflow, run_id)
    folder.mkdir(parents=True)
    lines = [run_item(run) | {"ended_at": {"S": finished}}, *items]
    (folder / LEDGER).write_text("".join(json.dumps(item) + "\n" for item in lines))
    (folder / GRAPH).write_text(json.dumps(graph))


def wide_graph() -> dict[str, list[str]]:
    """200 tasks in 20 layers of 10, each after two tasks of the layer before."""
    return {
        f"t{layer}_{i}": [f"t{layer - 1}_{i}", f"t{layer - 1}_{(i + 1) % WIDTH}"] if layer else []
        for layer in range(LAYERS)
        for i in range(WIDTH)
    }


def timed(load: Callable[[], Any]) -> dict[str, float]:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        load()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "best_ms": round(min(times), 1)}


def test_page_load_times_for_a_200_task_run_and_1000_runs(page: Any, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "orch")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    small = {"extract": [], "transform": ["extract"], "load": ["transform"]}
    for i in range(STORED_RUNS - 1):
        stored_run(store, "small", f"small-{i:04d}", base + timedelta(minutes=i), small)
    stored_run(store, "wide_200", "wide-1", base + timedelta(days=1), wide_graph())
    big = store.get_run("wide-1")
    assert big.status == "SUCCEEDED" and len(big.tasks) == LAYERS * WIDTH and len(big.attempts) == 220

    with serving(create_app(UIState(store))) as url:

        def run_page() -> None:
            page.goto(url + "runs/wide_200/wide-1")
            page.wait_for_function("document.querySelectorAll('#graph-svg g.node').length === 200")

        def runs_list() -> None:
            page.goto(url)
            page.wait_for_selector("#runs tbody tr")

        def older_page() -> None:
            page.goto(url + "?page=20")
            page.wait_for_selector("#runs tbody tr")

        figures = {
            "run_page_200_tasks": timed(run_page),
            "runs_list_1000_runs_first_page": timed(runs_list),
            "runs_list_1000_runs_page_20": timed(older_page),
        }
        run_page()
        assert page.locator(".bar").count() == 220 and page.locator(".wait").count() == 20
        assert page.locator("#graph-svg path.edge").count() == 380
        runs_list()
        assert page.locator("#runs tbody tr").count() == 50 and "page 1" in page.inner_text(".pages")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load-times.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    assert all(f["median_ms"] < 10_000 for f in figures.values()), figures
