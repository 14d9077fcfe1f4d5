"""`orch ui` without a browser: where it listens (loopback unless told, a port in use said plainly),
the JSON endpoints and the guards on its actions, and the assets it ships in the package."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest

import orchestration.ui
import orchestration.ui.app
from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.operations.local_store import LocalStore
from orchestration.ui import UIState, create_app, serving
from tests.helpers import invoke
from tests.samples import example

ETL = str(example("etl"))


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


@pytest.fixture()
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """`orch ui` without blocking: the (url, where) it would serve is recorded instead."""
    calls: list[tuple[str, str]] = []

    def fake_serve(app: Any, sock: socket.socket) -> None:
        calls.append((orchestration.ui.url_of(sock), sock.getsockname()[0]))
        sock.close()

    monkeypatch.setattr(orchestration.ui, "serve", fake_serve)
    return calls


def test_it_listens_on_loopback_on_a_free_port_by_default(served: list[tuple[str, str]]) -> None:
    code, out, err = invoke("ui")
    assert code == 0, err
    ((url, host),) = served
    assert host == "127.0.0.1" and url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
    assert url in out and "the local store" in out and "warning" not in err


def test_another_host_is_served_only_when_asked_and_with_a_warning(served: list[tuple[str, str]]) -> None:
    code, _, err = invoke("ui", "--host", "0.0.0.0")
    assert code == 0
    assert served[0][1] == "0.0.0.0"
    assert "warning:" in err and "no login" in err


def test_a_port_in_use_exits_2_naming_it_and_the_fix(served: list[tuple[str, str]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = invoke("ui", "--port", str(port))
    assert code == 2 and not served
    assert f"port {port} on 127.0.0.1 is in use" in err and "--port 0" in err


def test_region_without_stack_is_a_user_error() -> None:
    code, _, err = invoke("ui", "--region", "eu-west-1")
    assert code == 2 and "--stack NAME" in err


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI over a store holding three runs of the etl example, two to a page."""
    store = LocalStore(tmp_path_factory.mktemp("ui-store"))
    wf = load_workflow(ETL, "daily_etl")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        for n in range(3):
            cloud.run(wf, run_id=f"etl-{n}")
    with pytest.MonkeyPatch.context() as patch, serving(create_app(UIState(store))) as url:
        patch.setattr(orchestration.ui.app, "PAGE_SIZE", 2)
        yield url


def test_the_runs_endpoint_filters_and_pages(ui: str) -> None:
    status, body = fetch(ui + "api/runs")
    assert status == 200 and [r["run_id"] for r in body["rows"]] == ["etl-2", "etl-1"] and body["has_next"]
    _, body = fetch(ui + "api/runs?page=2")
    assert [r["run_id"] for r in body["rows"]] == ["etl-0"] and not body["has_next"]
    _, body = fetch(ui + "api/runs?status=FAILED")
    assert body["rows"] == []
    _, body = fetch(ui + "api/runs?since=soon")
    assert "neither an ISO 8601 date-time nor an age" in body["error"]
    _, body = fetch(ui + "api/runs?workflow=daily_etl&since=1h")
    assert len(body["rows"]) == 2  # a page


def test_a_run_endpoint_and_page(ui: str) -> None:
    status, run = fetch(ui + "api/runs/daily_etl/etl-1")
    assert status == 200 and run["status"] == "SUCCEEDED" and run["terminal"]
    assert set(run["graph"]) == {t["name"] for t in run["tasks"]}
    assert all(len(t["bars"]) == t["attempts"] == 1 for t in run["tasks"])
    status, page = fetch(ui + "runs/daily_etl/etl-1")
    assert status == 200 and "etl-1" in page and "/static/dagre.min.js" in page
    status, page = fetch(ui + "runs/daily_etl/nope")
    assert status == 404 and "no run &#39;nope&#39; of workflow &#39;daily_etl&#39;" in page
    status, _ = fetch(ui + "static/dagre.min.js")
    assert status == 200


def test_actions_need_the_ui_header_and_say_why_they_cannot_run(ui: str) -> None:
    status, body = fetch(ui + "api/runs/daily_etl/etl-1/cancel", data=b"{}")
    assert status == 403 and "x-orch-ui" in body["error"]
    headers = {"x-orch-ui": "1", "content-type": "application/json"}
    status, body = fetch(ui + "api/runs/daily_etl/etl-1/cancel", data=b"{}", headers=headers)
    assert status == 409 and "has already ended (SUCCEEDED): nothing to cancel" in body["error"]
    status, body = fetch(ui + "api/runs/daily_etl/etl-1/repair", data=b"{}", headers=headers)
    assert status == 409 and "nothing to repair" in body["error"]


def test_a_request_for_another_host_name_is_refused(ui: str) -> None:
    status, _ = fetch(ui + "api/runs", headers={"Host": "attacker.example"})
    assert status == 400


def test_the_templates_and_assets_ship_in_the_package() -> None:
    root = files("orchestration.ui")
    for name in ("templates/run.html", "templates/runs.html", "static/dagre.min.js", "static/run.js", "static/ui.css"):
        assert root.joinpath(name).is_file(), name
    assert "@dagrejs/dagre 3.1.3 (MIT" in root.joinpath("static/dagre.min.js").read_text()[:200]
