"""`orch ui` dataset pages in a real browser: from a run's page to a dataset it wrote, whose page
lists the tasks that produce and consume it with their last runs; and the list of datasets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.operations.local_store import LocalStore
from orchestration.ui import UIState, create_app, serving
from tests.browser.test_ui import cells

pytestmark = pytest.mark.browser

PIPELINES = """
from orchestration import Workflow

ingest = Workflow("ingest")


@ingest.task(reads=["s3://raw-bucket/orders/"], writes=["warehouse.orders"])
def load(ctx):
    ctx.lineage.read("crm.customers")
    return 1


reporting = Workflow("reporting")


@reporting.task(reads=["warehouse.orders"], writes=["s3://reports-bucket/daily.csv"])
def daily():
    raise RuntimeError("the report bucket is read-only")
"""


@pytest.fixture()
def lineage_url(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "pipelines.py").write_text(PIPELINES)
    store = LocalStore(tmp_path / "orch")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        cloud.run(load_workflow(str(tmp_path / "pipelines.py"), "ingest"), run_id="ingest-1")
        cloud.run(load_workflow(str(tmp_path / "pipelines.py"), "ingest"), run_id="ingest-2")
        cloud.run(load_workflow(str(tmp_path / "pipelines.py"), "reporting"), run_id="report-1")
    with serving(create_app(UIState(store, refresh_seconds=0.3))) as url:
        yield url


def test_a_dataset_page_shows_its_producers_and_consumers_with_their_last_runs(
    page: Any, lineage_url: str, artifacts: Path
) -> None:
    page.goto(f"{lineage_url}runs/ingest/ingest-2")
    used = {r[0]: r[1:] for r in cells(page, "#run-datasets tbody tr")}
    assert used == {"load": ["s3://raw-bucket/orders/, crm.customers", "warehouse.orders"]}
    page.click("#run-datasets a.dataset:text('warehouse.orders')")
    page.wait_for_selector("#dataset-name")
    assert page.inner_text("#dataset-name") == "warehouse.orders"
    # task, workflow, last run, run status, task status: the newest run of each task
    assert [r[:5] for r in cells(page, "#producers tbody tr")] == [
        ["load", "ingest", "ingest-2", "SUCCEEDED", "SUCCEEDED"]
    ]
    assert [r[:5] for r in cells(page, "#consumers tbody tr")] == [
        ["daily", "reporting", "report-1", "FAILED", "FAILED"]
    ]
    page.screenshot(path=str(artifacts / "dataset.png"), full_page=True)
    page.click("#consumers a:text('report-1')")
    page.wait_for_selector("#run-status")
    assert page.inner_text("#run-status") == "FAILED"

    page.click("header a.nav")  # every dataset a recent run read or wrote
    rows = {r[0]: r[1:] for r in cells(page, "#datasets tbody tr")}
    assert rows == {
        "crm.customers": ["", "ingest.load"],
        "s3://raw-bucket/orders/": ["", "ingest.load"],
        "s3://reports-bucket/daily.csv": ["reporting.daily", ""],
        "warehouse.orders": ["ingest.load", "reporting.daily"],
    }
    page.goto(f"{lineage_url}datasets?name=warehouse.nothing")
    assert "no recent run read or wrote dataset 'warehouse.nothing'" in page.inner_text("main")
