"""The recorder's lineage step: when a run's pass ends, its OpenLineage events (built from the run
ledger, `orchestration.lineage.events`) go out through the `openlineage-python` client to the
runtime's `LineageTarget`: the run's lineage.jsonl in a local store, or an HTTP endpoint.

The client is imported here, on demand: task functions never load it. Lineage never fails the
recorder: events that cannot be sent are logged (re-sending a run gives the same events).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.lineage import DEFAULT_NAMESPACE, LineageTarget
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.registry import Env

SECRET_MAX_AGE_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 5.0
MISSING_CLIENT = (
    "openlineage-python is not installed where the recorder runs: add it to the project's requirements.txt "
    "(deployed) or install orchestration[lineage] (local runs)"
)


def emit_run(rt: Runtime, workflow: str, run_id: str, repair: int, *, starting: bool = False) -> dict[str, Any]:
    """Send the events of the run's pass `repair` (`starting`: its START only, as it starts);
    {"lineage": number of events sent} ({} when the runtime has no lineage target or the client
    is not installed)."""
    target = rt.lineage
    if target is None:
        return {}
    try:
        from orchestration.lineage.events import run_events, start_event
    except ImportError:
        # a local store without the client stays quiet; a configured endpoint says what is missing
        (logger.warning if target.url else logger.debug)(MISSING_CLIENT)
        return {}
    try:
        run = rt.ledger.get_run(workflow, run_id, attempts=not starting)
        if run is None:
            return {"lineage": 0}
        since = run.repairs[repair - 1].get("started_at") if 0 < repair <= len(run.repairs) else None
        if starting:
            events = [start_event(run, target.namespace, since=since)]
        else:
            events = run_events(run, target.namespace, since=since)
        client = _client(target, workflow, run_id)
        for event in events:
            client.emit(event)
    except Exception as exc:  # an endpoint down, a secret missing: the run's own records stand
        logger.warning(
            "lineage events not sent", extra={"run_id": run_id, "error": f"{type(exc).__name__}: {exc}"[:500]}
        )
        return {"lineage": 0}
    return {"lineage": len(events)}


def _client(target: LineageTarget, workflow: str, run_id: str) -> Any:
    from openlineage.client import OpenLineageClient

    transport: Any
    if target.url:
        from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider

        key = _secret(target.api_key_secret) if target.api_key_secret else None
        auth = ApiKeyTokenProvider({"api_key": key}) if key else TokenProvider({})
        config = HttpConfig(url=target.url, endpoint=target.endpoint, auth=auth, timeout=HTTP_TIMEOUT_SECONDS)
        transport = HttpTransport(config)
    elif target.file is not None:
        from openlineage.client.transport.file import FileConfig, FileTransport

        path = target.file(workflow, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        transport = FileTransport(FileConfig(log_file_path=str(path), append=True))
    else:
        raise ValueError("the lineage target has neither a URL nor a file")
    return OpenLineageClient(transport=transport)


def _secret(name: str) -> str:
    from aws_lambda_powertools.utilities.parameters import get_secret

    value = get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    if not isinstance(value, str):
        raise TypeError(f"secret {name!r} holds binary data: the lineage API key must be text")
    return value


def target_from_env(env: Mapping[str, str]) -> LineageTarget | None:
    """The deployed recorder's target: an HTTP endpoint when its URL is set, else none (no emission)."""
    url = env.get(Env.LINEAGE_URL)
    if not url:
        return None
    return LineageTarget(
        namespace=env.get(Env.LINEAGE_NAMESPACE) or DEFAULT_NAMESPACE,
        url=url,
        api_key_secret=env.get(Env.LINEAGE_API_KEY_SECRET) or None,
    )
