"""`orch ui` in a real browser: what a person sees of the runs list and of a failed run with a retry,
and a repair clicked in the page that ends the run SUCCEEDED."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestration.operations.local_store import LocalStore

pytestmark = pytest.mark.browser

EXPECTED = {  # task -> (status, attempt bars) of run sales-1
    "extract": "SUCCEEDED",
    "audit": "SUCCEEDED",
    "transform": "SUCCEEDED",
    "load": "FAILED",
    "report": "UPSTREAM_FAILED",
}


def cells(page: Any, selector: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        selector, "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return rows


def test_the_runs_list_shows_each_run_and_filters_them(page: Any, ui_url: str, artifacts: Path) -> None:
    page.goto(ui_url)
    rows = cells(page, "#runs tbody tr")
    assert [(r[0], r[1], r[2], r[6]) for r in rows] == [
        ("sales-1", "nightly_sales", "FAILED", "manual"),
        ("hello-1", "hello", "SUCCEEDED", "manual"),
    ]
    page.screenshot(path=str(artifacts / "runs.png"), full_page=True)
    page.select_option("select[name=status]", "SUCCEEDED")
    page.click("button[type=submit]")
    page.wait_for_url("**status=SUCCEEDED**")
    assert [r[0] for r in cells(page, "#runs tbody tr")] == ["hello-1"]
    page.fill("input[name=since]", "yesterday")
    page.click("button[type=submit]")
    assert "neither an ISO 8601 date-time nor an age" in page.inner_text("[role=alert]")


def test_a_failed_run_with_a_retry_then_a_repair_from_the_page(
    page: Any, ui_url: str, demo_store: tuple[LocalStore, Path], artifacts: Path
) -> None:
    store, project = demo_store
    page.goto(ui_url)
    page.click("text=sales-1")
    page.wait_for_selector("#graph-svg g.node")
    assert page.inner_text("#run-status") == "FAILED"
    facts = page.inner_text("dl.facts")
    assert "nightly_sales" in facts and '{"rows": 3}' in facts and "sha256:" in facts and "manual" in facts
    # the task table: every task with its status, transform with its two attempts
    rows = {r[0]: r for r in cells(page, "#tasks > tbody > tr.task")}
    assert {name: r[1] for name, r in rows.items()} == EXPECTED
    assert rows["transform"][2] == "2" and "the warehouse is read-only" in rows["load"][4]
    # the timeline: one bar per attempt, coloured by status; transform's two, the first failed
    bars = page.eval_on_selector_all(".bar", "bs => bs.map(b => [b.dataset.task, b.dataset.attempt, b.className])")
    assert [(t, a) for t, a, _ in bars if t == "transform"] == [("transform", "1"), ("transform", "2")]
    assert [c for t, _, c in bars if t == "transform"] == ["bar s-FAILED", "bar s-SUCCEEDED"]
    assert not [b for b in bars if b[0] == "report"]  # it never ran
    # the graph: a node per task, coloured by status, an edge per dependency
    nodes = page.eval_on_selector_all("#graph-svg g.node", "ns => ns.map(n => [n.dataset.task, n.classList[1]])")
    assert {name: cls.removeprefix("s-") for name, cls in nodes} == EXPECTED
    assert page.locator("#graph-svg path.edge").count() == 4
    # a task's details: its attempts and its log lines
    page.click("tr.task[data-task=extract] .toggle")
    page.wait_for_function("document.querySelector('pre.logs[data-task=extract]').textContent.includes('extracting')")
    assert "extracting 3 rows" in page.inner_text("pre.logs[data-task=extract]")
    page.screenshot(path=str(artifacts / "failed-run.png"), full_page=True)

    (project / "fixed").write_text("")  # the fix is deployed
    page.click("#repair")
    page.wait_for_function("document.getElementById('run-status').textContent === 'SUCCEEDED'", timeout=60_000)
    page.wait_for_selector("text=repair 1: run SUCCEEDED")
    repairs = cells(page, "#repairs tbody tr")
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in repairs] == [
        ("1", "SUCCEEDED", "FAILED", "load, report", "tester@ci")
    ]
    statuses = {r[0]: r[1] for r in cells(page, "#tasks > tbody > tr.task")}
    assert set(statuses.values()) == {"SUCCEEDED"}
    assert page.locator(".bar[data-task=load]").count() == 2  # the failed attempt stays in the history
    assert page.locator(".bar[data-task=load][data-repair='1']").count() == 1  # the rerun, marked as the repair's
    assert page.locator(".lane[data-task=load] .wait").count() == 0  # not drawn as a retry's wait
    assert page.locator(".lane[data-task=transform] .wait").count() == 1
    page.screenshot(path=str(artifacts / "repaired-run.png"), full_page=True)
    assert store.get_run("sales-1").status == "SUCCEEDED"  # the same store `orch runs show` reads
