"""`orch ui --stack NAME`: the UI's pages and actions on a deployed stack (this package's stack, served
over HTTP by moto's server), through the same RunSource as the local store: the runs list, a failed
run's page, a repair started from the page (execution <run_id>.r1 on the stack's state machine) and a
cancel that stops a running run. Over HTTP against the app served by uvicorn (`orch ui`'s server); the
repair click once in Chromium when the browser tests can run here."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from orchestration.ledger.notices import claim_notice, record_notice
from orchestration.loader import load_workflow
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns
from orchestration.operations.stack_start import start_on_stack
from orchestration.ui import UIState, create_app, serving
from orchestration.ui.app import ACTION_HEADER
from tests.infra.conftest import STACK
from tests.infra.on_stack.conftest import REGION, _running
from tests.samples import example

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]
ETL = str(example("etl"))
ACT = {ACTION_HEADER: "1"}


@pytest.fixture(scope="module")
def ui_stack(endpoint: str, history: dict[str, str]) -> StackRuns:
    return StackRuns(STACK, region=REGION, endpoint_url=endpoint, cancel_wait_seconds=10)


def _failed_run(stack: StackRuns, deployed: DeployedStack, run_id: str) -> None:
    """A daily_etl run started as `orch run --stack` starts it (its definition hash recorded), whose
    quality check fails."""
    wf = load_workflow(ETL, "daily_etl")
    assert start_on_stack(stack, wf, {"rows": 3, "min_rows": 50}, run_id=run_id) == "started"
    arn = stack.get_run(run_id, "daily_etl").execution_arn
    assert arn is not None
    assert deployed.wait(arn)["status"] == "FAILED"


class Client(requests.Session):
    """Requests to the served UI, by path."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        return super().request(method, f"{self.url}{url!s}", *args, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def ui_url(ui_stack: StackRuns) -> Iterator[str]:
    with serving(create_app(UIState(ui_stack, files=[ETL], caller="tester@ci", refresh_seconds=0.3))) as url:
        yield url


@pytest.fixture()
def client(ui_url: str) -> Iterator[Client]:
    with Client(ui_url) as c:
        yield c


def _until_terminal(client: Client, path: str, repair: int = 0) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        view: dict[str, Any] = client.get(path).json()
        if (view["terminal"] and view["repair"] >= repair) or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def test_the_runs_list_shows_the_stack_s_runs(
    client: Client, history: dict[str, str], ui_stack: StackRuns, deployed: DeployedStack
) -> None:
    _failed_run(ui_stack, deployed, "ui-etl-listed")
    shown = client.get("/")
    assert shown.status_code == 200
    assert f"stack {STACK} ({REGION})" in shown.text
    for run_id in history:
        assert f">{run_id}<" in shown.text
    rows = client.get("/api/runs", params={"workflow": "daily_etl", "status": "FAILED"}).json()["rows"]
    assert rows[0]["run_id"] == "ui-etl-listed" and {r["status"] for r in rows} == {"FAILED"}
    n_shape = client.get("/api/runs", params={"workflow": "n_shape"}).json()["rows"]
    assert {r["run_id"] for r in n_shape} >= {"sr-n-ok", "sr-twin"} and {r["workflow"] for r in n_shape} == {"n_shape"}


def test_a_failed_run_s_page_shows_its_tasks_graph_and_logs(
    client: Client, ui_stack: StackRuns, deployed: DeployedStack
) -> None:
    _failed_run(ui_stack, deployed, "ui-etl-page")
    shown = client.get("/runs/daily_etl/ui-etl-page")
    assert shown.status_code == 200
    assert re.search(r'id="run-status"[^>]*>\s*FAILED', shown.text)
    view = client.get("/api/runs/daily_etl/ui-etl-page").json()
    assert view["statuses"] == {
        "extract": "SUCCEEDED",
        "transform": "SUCCEEDED",
        "load": "SUCCEEDED",
        "quality_check": "FAILED",
        "publish": "UPSTREAM_FAILED",
    }
    (check,) = [t for t in view["tasks"] if t["name"] == "quality_check"]
    assert "only 2 rows, expected at least 50" in check["error"] and [b["status"] for b in check["bars"]] == ["FAILED"]
    assert view["graph"]["publish"] == ["load", "quality_check"]  # the stack keeps no graph: the file gives it
    assert view["definition_hash"].startswith("sha256:") and view["trigger"].startswith("manual")
    lines = client.get("/api/runs/daily_etl/sr-etl-ok/logs", params={"task": "extract"}).json()["lines"]
    assert [line["message"] for line in lines] == ["extracting", "print: rows ready for sr-etl-ok"]  # CloudWatch's
    assert client.get("/runs/daily_etl/nope").status_code == 404


def test_repair_from_the_page_starts_a_repair_pass_on_the_stack(
    client: Client, ui_stack: StackRuns, deployed: DeployedStack
) -> None:
    _failed_run(ui_stack, deployed, "ui-etl-repair")
    refused = client.post("/api/runs/daily_etl/ui-etl-repair/repair", json={})
    assert refused.status_code == 403  # no action without the page's header
    started = client.post("/api/runs/daily_etl/ui-etl-repair/repair", json={}, headers=ACT)
    assert started.status_code == 200, started.text
    assert started.json()["repair"] == 1
    repair_arn = deployed.state_machine_arn("daily_etl").replace(":stateMachine:", ":execution:") + ":ui-etl-repair.r1"
    assert deployed.sfn.describe_execution(executionArn=repair_arn)["name"] == "ui-etl-repair.r1"
    deployed.wait(repair_arn)
    view = _until_terminal(client, "/api/runs/daily_etl/ui-etl-repair", repair=1)
    assert (view["status"], view["repair"]) == ("FAILED", 1)  # the same parameters fail the same check
    tries = {t["name"]: [a["attempt"] for a in t["tries"]] for t in view["tasks"]}
    assert tries["extract"] == [1] and tries["quality_check"] == [1, 2]  # reused; run again
    (repair,) = view["repairs"]
    assert repair["number"] == 1 and repair["trigger"] == {"type": "repair", "by": "tester@ci"}
    again = client.post("/api/runs/daily_etl/ui-etl-repair/cancel", headers=ACT)
    assert again.status_code == 409 and "has already ended (FAILED)" in again.json()["error"]


def test_cancel_from_the_page_stops_a_running_run(client: Client, ui_stack: StackRuns, deployed: DeployedStack) -> None:
    execution = _running(deployed, "ui-cancel")
    assert client.get("/api/runs/n_shape/ui-cancel").json()["status"] == "RUNNING"
    relay = threading.Thread(target=deployed.wait, args=(execution,), daemon=True)  # EventBridge's part
    relay.start()
    stopped = client.post("/api/runs/n_shape/ui-cancel/cancel", headers=ACT)
    relay.join(10)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json() == {"status": "ABORTED", "repair": 0, "terminal": True}
    assert deployed.sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert client.get("/api/runs/n_shape/ui-cancel").json()["status"] == "ABORTED"


@pytest.mark.browser
def test_repair_clicked_in_the_browser_runs_on_the_stack(
    page: Any,
    ui_url: str,
    ui_stack: StackRuns,
    deployed: DeployedStack,
    artifacts: Path,
) -> None:
    _failed_run(ui_stack, deployed, "ui-etl-click")
    page.goto(f"{ui_url}runs/daily_etl/ui-etl-click")
    page.wait_for_selector("#graph-svg g.node")
    assert page.inner_text("#run-status") == "FAILED"
    nodes = page.eval_on_selector_all("#graph-svg g.node", "ns => ns.map(n => [n.dataset.task, n.classList[1]])")
    assert dict(nodes)["quality_check"] == "s-FAILED" and len(nodes) == 5
    page.screenshot(path=str(artifacts / "stack-failed-run.png"), full_page=True)
    page.click("#repair")
    page.wait_for_selector("text=repair 1: run")
    repair_arn = f"{ui_stack.state_machines['daily_etl']}:ui-etl-click.r1".replace(":stateMachine:", ":execution:")
    deployed.wait(repair_arn)  # the execution ends; its status event reaches the recorder
    page.wait_for_selector("#repairs tr.repair", timeout=30_000)
    page.wait_for_function("document.getElementById('run-status').textContent === 'FAILED'", timeout=30_000)
    bars = page.eval_on_selector_all(".bar[data-task=quality_check]", "bs => bs.map(b => b.dataset.attempt)")
    assert bars == ["1", "2"]
    assert ui_stack.get_run("ui-etl-click", "daily_etl").repair == 1
    page.screenshot(path=str(artifacts / "stack-repaired.png"), full_page=True)


def test_a_run_s_notifications_are_read_from_the_stack_s_ledger(client: Client, ui_stack: StackRuns) -> None:
    sent = [{"destination": "email ops@example.com", "ok": True, "attempts": 1}]
    assert claim_notice(ui_stack.ledger, "daily_etl", "sr-etl-ok", 0, "success", "2026-11-21T10:00:00.000Z")
    record_notice(ui_stack.ledger, "daily_etl", "sr-etl-ok", 0, "success", sent)
    expected = [{"kind": "success", "repair": 0, "claimed_at": "2026-11-21T10:00:00.000Z", "results": sent}]
    assert ui_stack.notices(ui_stack.get_run("sr-etl-ok", "daily_etl")) == expected
    (shown,) = client.get("/api/runs/daily_etl/sr-etl-ok").json()["notifications"]
    assert shown["line"] == "success at 2026-11-21 10:00:00: email ops@example.com sent"
    assert ui_stack.notices(ui_stack.get_run("sr-n-ok", "n_shape")) == []
