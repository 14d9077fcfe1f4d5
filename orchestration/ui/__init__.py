"""`orch ui`: a web UI of runs (Starlette, Jinja2, uvicorn; the graph laid out by dagre, vendored in
static/). `create_app` builds the application over a `RunSource`; `serving` runs it in a thread."""

from orchestration.ui.app import UIState, create_app
from orchestration.ui.server import bind, is_loopback, serve, serving, url_of

__all__ = ["UIState", "bind", "create_app", "is_loopback", "serve", "serving", "url_of"]
