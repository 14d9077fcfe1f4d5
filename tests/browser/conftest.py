"""Browser tests of `orch ui`: headless Chromium (Debian's package, /usr/bin/chromium; `make test`
installs it when missing on a root CI machine) driven by Playwright's sync API, over a local store
holding real runs. Screenshots are kept in tests/browser/artifacts/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.operations.local_store import HOME_ENV, LocalStore
from orchestration.ui import UIState, create_app, serving
from tests.browser_fixtures import ARTIFACTS, CHROMIUM  # noqa: F401 (the browser tests' names)

DEMO = """
from pathlib import Path

from orchestration import Param, Retry, Workflow

HERE = Path(__file__).parent

hello = Workflow("hello")


@hello.task
def greet():
    return "hello"


wf = Workflow("nightly_sales", params={"rows": Param(int, default=3)})


@wf.task
def extract(ctx):
    print("extracting", ctx.params.rows, "rows")
    return list(range(ctx.params.rows))


@wf.task(retry=Retry(max_attempts=1, interval_seconds=1))
def transform(extract):
    if not (HERE / "attempted").exists():
        (HERE / "attempted").write_text("")
        raise RuntimeError("the source timed out")
    return [x * 2 for x in extract]


@wf.task
def load(transform):
    if not (HERE / "fixed").exists():
        raise ValueError("the warehouse is read-only")
    return sum(transform)


@wf.task
def report(load):
    return f"loaded {load}"


@wf.task
def audit(extract):
    return {"rows": len(extract)}
"""


@pytest.fixture()
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalStore, Path]:
    """A local store with a succeeded run of `hello` and a FAILED run of `nightly_sales` (transform
    failed once then succeeded on its retry; load failed; report never ran)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "demo.py").write_text(DEMO)
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "orch"))
    store = LocalStore(tmp_path / "orch")
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        cloud.run(load_workflow(str(project / "demo.py"), "hello"), run_id="hello-1")
        cloud.run(load_workflow(str(project / "demo.py"), "nightly_sales"), run_id="sales-1")
    return store, project


@pytest.fixture()
def ui_url(demo_store: tuple[LocalStore, Path]) -> Iterator[str]:
    with serving(create_app(UIState(demo_store[0], caller="tester@ci", refresh_seconds=0.3))) as url:
        yield url
