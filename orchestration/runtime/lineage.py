"""The recorder's lineage step: when a run's pass ends, its OpenLineage events (built from the run
ledger, `orchestration.lineage.events`) go to the runtime's `LineageTarget`: the run's lineage.jsonl
in a local store (one JSON event per line, as the client's file transport writes them), or an HTTP
endpoint through the `openlineage-python` client.

The client is imported here, on demand, and only for an endpoint: task functions never load it,
and a local store's file needs only to know the installed client's version (its events carry it).
Lineage never fails the recorder: events that cannot be sent are logged (re-sending a run gives the
same events).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from orchestration.lineage import DEFAULT_NAMESPACE, LineageTarget
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.registry import Env

SECRET_MAX_AGE_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 5.0
CLIENT_DISTRIBUTION = "openlineage-python"
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
    from orchestration.lineage.events import run_events, start_event

    try:
        send, producer = _sender(target, workflow, run_id)
        run = rt.ledger.get_run(workflow, run_id, attempts=not starting)
        if run is None:
            return {"lineage": 0}
        since = run.repairs[repair - 1].get("started_at") if 0 < repair <= len(run.repairs) else None
        if starting:
            events = [start_event(run, target.namespace, producer, since=since)]
        else:
            events = run_events(run, target.namespace, producer, since=since)
        send(events)
    except ImportError:
        # a local store without the client stays quiet; a configured endpoint says what is missing
        (logger.warning if target.url else logger.debug)(MISSING_CLIENT)
        return {}
    except Exception as exc:  # an endpoint down, a secret missing: the run's own records stand
        logger.warning(
            "lineage events not sent", extra={"run_id": run_id, "error": f"{type(exc).__name__}: {exc}"[:500]}
        )
        return {"lineage": 0}
    return {"lineage": len(events)}


Sender = Callable[[list[dict[str, Any]]], None]


def _sender(target: LineageTarget, workflow: str, run_id: str) -> tuple[Sender, str]:
    """What sends a list of events to the target, and the facets' producer (the installed client's);
    ImportError when the client is not installed."""
    from orchestration.lineage.events import client_producer

    if target.url:
        from openlineage.client.constants import __version__ as client_version

        return _http_sender(target), client_producer(client_version)
    if target.file is None:
        raise ValueError("the lineage target has neither a URL nor a file")
    version = _installed_client()
    if version is None:
        raise ImportError(MISSING_CLIENT)
    path = target.file(workflow, run_id)

    def append(events: list[dict[str, Any]]) -> None:
        from orchestration.lineage.events import with_client_tags

        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:  # the client's file transport: sorted keys, one event a line
            out.writelines(json.dumps(with_client_tags(e, version), sort_keys=True) + "\n" for e in events)

    return append, client_producer(version)


@functools.cache
def _installed_client() -> str | None:
    """The version of the installed `openlineage-python`, None when it is not installed."""
    try:
        return metadata.version(CLIENT_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def _http_sender(target: LineageTarget) -> Sender:
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider

    assert target.url is not None
    key = _secret(target.api_key_secret) if target.api_key_secret else None
    auth = ApiKeyTokenProvider({"api_key": key}) if key else TokenProvider({})
    config = HttpConfig(url=target.url, endpoint=target.endpoint, auth=auth, timeout=HTTP_TIMEOUT_SECONDS)
    client = OpenLineageClient(transport=HttpTransport(config))

    def post(events: list[dict[str, Any]]) -> None:
        for event in events:
            client.emit(client_event(event))  # the client adds its run tag as it emits

    return post


def client_event(event: Mapping[str, Any]) -> Any:
    """The event as the client's RunEvent (around our facets, which serialize as they are)."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    run, job = event["run"], event["job"]
    return RunEvent(
        eventType=RunState(event["eventType"]),
        eventTime=event["eventTime"],
        run=Run(runId=run["runId"], facets=dict(run["facets"])),
        job=Job(namespace=job["namespace"], name=job["name"], facets=dict(job["facets"])),
        producer=event["producer"],
        inputs=[InputDataset(d["namespace"], d["name"]) for d in event["inputs"]],
        outputs=[OutputDataset(d["namespace"], d["name"]) for d in event["outputs"]],
    )


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
