"""A run's notifications (the ledger's notice items) shown by `orch runs show` (a "notifications"
section; `notifications` in --json) and on `orch ui`'s run page, from the local store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from orchestration.operations.local_store import LocalStore
from orchestration.ui import UIState, create_app, serving
from tests.cli.test_history import invoke

NOTIFIED = """
from orchestration import Workflow
from orchestration.notifications import Email, Webhook, on_failure

wf = Workflow(
    "notified",
    notify=[on_failure(Webhook("{url}/ok"), Webhook("{url}/fail"), Email("team@example.com"))],
)


@wf.task
def broken():
    raise ValueError("no such partition")
"""


@pytest.fixture()
def hook_url() -> Iterator[str]:
    """A webhook receiver: /fail answers 500, anything else 204."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(500 if self.path == "/fail" else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture()
def notified_run(tmp_path: Path, hook_url: str) -> str:
    """A FAILED run of `notified` kept in the local store, its failure notified."""
    path = tmp_path / "notified.py"
    path.write_text(NOTIFIED.replace("{url}", hook_url))
    code, _, err = invoke("run", str(path), "--run-id", "notified-1")
    assert code == 1, err
    return "notified-1"


def test_runs_show_lists_the_notifications_sent(notified_run: str) -> None:
    code, out, err = invoke("runs", "show", notified_run, "--json")
    assert code == 0, err
    (notice,) = json.loads(out)["notifications"]
    assert (notice["kind"], notice["repair"]) == ("failure", 0) and notice["claimed_at"]
    assert notice["results"] == [
        {"destination": "webhook http://127.0.0.1", "ok": True, "attempts": 1},
        {"destination": "webhook http://127.0.0.1", "ok": False, "attempts": 3, "error": "HTTP 500"},
        {"destination": "email team@example.com", "ok": True, "attempts": 1, "sent": False},
    ]
    code, out, err = invoke("runs", "show", notified_run)
    assert code == 0, err
    section = " ".join(out[out.index("notifications") :].split())  # (rich wraps long lines)
    assert "failure at " in section
    assert "webhook http://127.0.0.1 sent; webhook http://127.0.0.1 failed after 3 attempts: HTTP 500" in section
    assert "email team@example.com recorded (not sent)" in section


def test_a_run_without_notifications_shows_none(tmp_path: Path) -> None:
    path = tmp_path / "quiet.py"
    path.write_text("from orchestration import Workflow\nwf = Workflow('quiet')\nwf.task(name='t')(lambda: 1)\n")
    assert invoke("run", str(path), "--run-id", "quiet-1")[0] == 0
    code, out, _ = invoke("runs", "show", "quiet-1", "--json")
    assert code == 0 and json.loads(out)["notifications"] == []
    assert "notifications" not in invoke("runs", "show", "quiet-1")[1]


def test_the_ui_run_page_shows_the_notifications(notified_run: str) -> None:
    with serving(create_app(UIState(LocalStore()))) as url:
        view = requests.get(f"{url}api/runs/notified/{notified_run}", timeout=30).json()
        page = requests.get(f"{url}runs/notified/{notified_run}", timeout=30).text
    (notice,) = view["notifications"]
    assert notice["kind"] == "failure" and [r["ok"] for r in notice["results"]] == [True, False, True]
    assert 'id="notifications"' in page and 'data-kind="failure"' in page
    assert "failed after 3 attempts: HTTP 500" in page
