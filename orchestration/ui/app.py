"""The `orch ui` web application (Starlette): pages rendered with Jinja2, JSON endpoints the pages
poll for live refresh, and the repair and cancel actions, which call the code `orch repair` and
`orch runs cancel` call. Every asset is served from the package (no CDN)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from orchestration.cli.runview import notice_line
from orchestration.errors import OrchestrationError, ParameterError, RunNotFound
from orchestration.operations.source import RunFilter, RunSource
from orchestration.status import RunStatus, is_terminal
from orchestration.ui.datasets import dataset_rows, recent_index, task_datasets
from orchestration.ui.views import run_row, run_view

PAGE_SIZE = 50
ACTION_HEADER = "x-orch-ui"  # a custom header: a page of another origin cannot send it without CORS


@dataclass
class UIState:
    """What the application serves: where the runs are, the workflow files for repairs on a
    deployed stack, and who the actions are recorded as."""

    source: RunSource
    files: Sequence[str] = ()
    caller: str = "ui"
    refresh_seconds: float = 1.5
    ready: Callable[[], None] | None = None  # called once a local repair's cloud is up
    lock: threading.Lock = field(default_factory=threading.Lock)  # one local repair at a time
    graphs: dict[str, dict[str, list[str]] | None] = field(default_factory=dict)  # workflow -> from `files`


def _templates() -> Environment:
    env = Environment(loader=PackageLoader("orchestration.ui", "templates"), autoescape=select_autoescape())
    env.globals["statuses"] = [s.value for s in RunStatus]
    return env


def _page(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _filters(request: Request) -> tuple[dict[str, str], RunFilter, str]:
    """The list's filters as typed, the RunFilter they make (one run more than the page, to know
    whether there is a next one), and what was wrong with them."""
    from orchestration.cli.history import parse_since

    q = {k: request.query_params.get(k, "").strip() for k in ("workflow", "status", "since")}
    error = ""
    since = None
    if q["since"]:
        try:
            since = parse_since(q["since"])
        except ParameterError as exc:
            error = str(exc)
    status = q["status"].upper() or None
    if status is not None and status not in {s.value for s in RunStatus}:
        error, status = f"unknown status {q['status']!r}: pick one of the list", None
    which = RunFilter(workflow=q["workflow"] or None, status=status, since=since, limit=_page(request) * PAGE_SIZE + 1)
    return q, which, error


def create_app(state: UIState, host: str = "127.0.0.1") -> Starlette:
    """The application serving `state.source`'s runs to requests for `host`."""
    env = _templates()

    def html(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(where=state.source.where, **context), status)

    def list_context(request: Request) -> dict[str, Any]:
        q, which, error = _filters(request)
        page = _page(request)
        found = state.source.list_runs(which)
        now = datetime.now(UTC)
        rows = [run_row(r, now) for r in found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
        return {
            "query": q,
            "error": error,
            "rows": rows,
            "page": page,
            "has_next": len(found) > page * PAGE_SIZE,
            "live": any(not r["terminal"] for r in rows),
        }

    def run_context(request: Request) -> dict[str, Any]:
        run = state.source.get_run(request.path_params["run_id"], request.path_params["workflow"])
        view = run_view(run, state.source.graph(run) or _file_graph(state, run.workflow))
        view["notifications"] = [n | {"line": notice_line(n)} for n in state.source.notices(run)]
        view["datasets"] = task_datasets(run)
        return view

    async def runs_page(request: Request) -> Response:
        context = await run_in_threadpool(list_context, request)
        return html("runs.html", refresh=state.refresh_seconds, **context)

    async def runs_json(request: Request) -> Response:
        context = await run_in_threadpool(list_context, request)
        return JSONResponse({k: context[k] for k in ("rows", "page", "has_next", "error")})

    async def run_page(request: Request) -> Response:
        try:
            view = await run_in_threadpool(run_context, request)
        except RunNotFound as exc:
            return html("error.html", 404, message=str(exc))
        return html("run.html", run=view, refresh=state.refresh_seconds)

    async def run_json(request: Request) -> Response:
        try:
            view = await run_in_threadpool(run_context, request)
        except RunNotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        for task in view["tasks"]:
            task["bars"] = [asdict(b) for b in task["bars"]]
        return JSONResponse(view)

    async def logs_json(request: Request) -> Response:
        p = request.path_params
        task = request.query_params.get("task") or None

        def read() -> list[dict[str, Any]]:
            return [line.__dict__ for line in state.source.logs(p["run_id"], task, p["workflow"])]

        try:
            return JSONResponse({"lines": await run_in_threadpool(read)})
        except OrchestrationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    async def action(request: Request) -> Response:
        if request.headers.get(ACTION_HEADER) != "1":
            return JSONResponse({"error": f"actions need the {ACTION_HEADER} header (sent by the UI's pages)"}, 403)
        body = await request.json() if request.headers.get("content-type", "").startswith("application/json") else {}
        p = request.path_params
        do = _repair if p["action"] == "repair" else _cancel
        try:
            run = await run_in_threadpool(do, state, p["workflow"], p["run_id"], body)
        except OrchestrationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"status": run.status, "repair": run.repair, "terminal": is_terminal(run.status)})

    async def datasets_page(request: Request) -> Response:
        index = await run_in_threadpool(recent_index, state.source)
        name = request.query_params.get("name", "").strip()
        if not name:
            return html("datasets.html", rows=dataset_rows(index))
        if name not in index:
            return html("error.html", 404, message=f"no recent run read or wrote dataset {name!r}")
        return html(
            "dataset.html", dataset=name, producers=index[name]["producers"], consumers=index[name]["consumers"]
        )

    async def error_page(request: Request, exc: Exception) -> Response:
        return html("error.html", 404, message=f"no page at {request.url.path}: start from the runs list")

    routes = [
        Route("/", runs_page, name="runs"),
        Route("/api/runs", runs_json),
        Route("/runs/{workflow}/{run_id}", run_page, name="run"),
        Route("/api/runs/{workflow}/{run_id}", run_json),
        Route("/api/runs/{workflow}/{run_id}/logs", logs_json),
        Route("/api/runs/{workflow}/{run_id}/{action:str}", action, methods=["POST"]),
        Route("/datasets", datasets_page, name="datasets"),
        Mount("/static", StaticFiles(packages=[("orchestration.ui", "static")]), name="static"),
    ]
    # only requests naming the served host: no DNS rebinding of a loopback UI
    from orchestration.ui.server import is_loopback

    names = sorted({host, "127.0.0.1", "localhost", "::1"}) if is_loopback(host) else ["*"]
    hosts = Middleware(TrustedHostMiddleware, allowed_hosts=names)
    return Starlette(routes=routes, middleware=[hosts], exception_handlers={404: error_page})


def _repair(state: UIState, workflow: str, run_id: str, body: dict[str, Any]) -> Any:
    from orchestration.operations.local_store import LocalStore
    from orchestration.operations.repair_source import (
        RepairRequest,
        load_run_workflow,
        repair_local,
        start_stack_repair,
    )

    run = state.source.get_run(run_id, workflow)
    tasks = [t.strip() for t in str(body.get("tasks") or "").split(",") if t.strip()]
    request = RepairRequest(
        tasks=tasks,
        allow_changed_definition=bool(body.get("allow_changed_definition")),
        trigger={"type": "repair", "by": state.caller},
    )
    file = _file_for(state, run.workflow)
    wf = load_run_workflow(state.source, run, file)
    if isinstance(state.source, LocalStore):
        with state.lock:
            return repair_local(state.source, run, wf, request, ready=state.ready)
    start_stack_repair(state.source, run, wf, request)
    return state.source.get_run(run_id, workflow)


def _file_for(state: UIState, workflow: str) -> str | None:
    """The one of `state.files` that defines `workflow` (None: none given, the store knows)."""
    from orchestration.loader import load_workflow

    for file in state.files:
        try:
            load_workflow(file, workflow)
        except OrchestrationError:
            continue
        return file
    return None


def _file_graph(state: UIState, workflow: str) -> dict[str, list[str]] | None:
    """The workflow's task graph from the one of `state.files` defining it (a deployed stack keeps
    none), loaded once."""
    from orchestration.loader import load_workflow

    if workflow not in state.graphs:
        file = _file_for(state, workflow)
        deps = load_workflow(file, workflow).dependencies() if file else None
        state.graphs[workflow] = {n: [d.upstream for d in ds] for n, ds in deps.items()} if deps else None
    return state.graphs[workflow]


def _cancel(state: UIState, workflow: str, run_id: str, body: dict[str, Any]) -> Any:
    return state.source.cancel(run_id, workflow)
