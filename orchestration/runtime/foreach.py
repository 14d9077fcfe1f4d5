"""For-each lists at scale, in the task runtime (`orchestration.foreach`).

- `travel`: a list feeding for-each tasks (a source's output, or a for-each's results feeding
  another) stays in the state while it fits the inline Map's quotas (`ForEachFeed`); otherwise it
  is stored as a list reference for a Distributed Map ("auto", "distributed"), or, declared
  "inline", the task fails before any Map starts, saying how many items, the limit and the fix.
- `collect`: after a for-each's Map, its results in item order (a Distributed Map's come from its
  ResultWriter files: manifest.json, then SUCCEEDED_n.json / FAILED_n.json, each a list of child
  executions whose `Input` and `Output` are JSON strings); a tolerated failed item's result is None.
"""

from __future__ import annotations

import json
from typing import Any

from orchestration.artifacts import ArtifactStore, artifact_key, dumps, run_prefix
from orchestration.errors import ArtifactError, OrchestrationError
from orchestration.protocol import (
    FOR_EACH_ITEM_INLINE,
    ArtifactRef,
    ForEachCollect,
    ForEachFeed,
    RunContext,
    TaskEvent,
    TaskResponse,
)
from orchestration.runtime.deps import Runtime

RESULT_STATUSES = ("SUCCEEDED", "FAILED")  # the ResultWriter's result files (PENDING: none when a run ended)


class ForEachQuotaError(OrchestrationError):
    """A list too large for the inline Map declared for it."""


def _result_bytes(store: ArtifactStore, run: RunContext, consumers: list[str]) -> int:
    """The most one item's result can take in the state: a reference to its output, or a small value."""
    refs = (
        ArtifactRef(uri=f"s3://{store.bucket}/{artifact_key(run.workflow, run.run_id, c, 999, 999_999)}.json", bytes=0)
        for c in consumers
    )
    longest = max(len(dumps(r.model_dump(by_alias=True))) + 12 for r in refs)  # 12: the size's digits
    return max(FOR_EACH_ITEM_INLINE, longest) + 1  # and a comma


def travel(store: ArtifactStore, values: list[Any], feed: ForEachFeed, key: str, task: str, run: RunContext) -> Any:
    """The encoded list `values` as it travels in the state: itself, or a list reference at `key`."""
    count = len(values)
    if feed.mode != "distributed":
        listed = len(dumps(values).encode())
        size = listed + count * _result_bytes(store, run, feed.consumers)
        if count <= feed.max_items and size <= feed.max_bytes:
            return values
        if feed.mode == "inline":
            consumers = ", ".join(repr(c) for c in feed.consumers)
            raise ForEachQuotaError(
                f"task {task!r} returned {count} items for the inline for-each {consumers}, over what one "
                f"execution holds: {feed.max_items} items (25,000 history events) and {feed.max_bytes} bytes of "
                "list and results (262,144-byte state); declare mode='distributed' (or 'auto') on the for-each, or "
                f"return fewer items. The list takes {listed} bytes, its results up to {size - listed}; no item ran"
            )
    return store.put_list(f"{key}/list.json", values)


def source_output(store: ArtifactStore, event: TaskEvent, value: Any) -> Any:
    """A for-each source's encoded output as it travels (`travel`), when the event says how."""
    if event.feed is None or not isinstance(value, list):
        return value
    key = artifact_key(event.run.workflow, event.run.run_id, event.task, event.attempt, event.index)
    return travel(store, value, event.feed, key, event.task, event.run)


def _own(store: ArtifactStore, run: RunContext, bucket: Any, key: Any, what: str) -> str:
    prefix = run_prefix(run.workflow, run.run_id)
    if bucket != store.bucket or not isinstance(key, str) or not key.startswith(prefix) or ".." in key.split("/"):
        raise ArtifactError(
            f"the {what} s3://{bucket}/{key} is not under this run's artifacts (s3://{store.bucket}/{prefix}): "
            "nothing was read; the state was altered outside the runtime"
        )
    return key


def map_run_results(store: ArtifactStore, run: RunContext, manifest: dict[str, Any], count: int) -> list[Any]:
    """The item results of a Distributed Map run, by item index, from its ResultWriter manifest."""
    found = store.get(_own(store, run, manifest.get("Bucket"), manifest.get("Key"), "map run manifest"))
    results: list[Any] = [None] * count
    seen = 0
    for status in RESULT_STATUSES:
        for entry in found.get("ResultFiles", {}).get(status, []):
            key = _own(store, run, found.get("DestinationBucket"), entry.get("Key"), "map run result file")
            for execution in store.get(key):
                index = json.loads(execution["Input"])[TaskEvent.key("index")]
                seen += 1
                if status == "SUCCEEDED":
                    results[index] = json.loads(execution["Output"])
    if seen != count:
        raise ArtifactError(f"the map run's results name {seen} items, its list had {count}: rerun the task")
    return results


def collect(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    """A for-each's results, in item order, as they travel in the state."""
    event = ForEachCollect.model_validate(payload)
    store, run = rt.need_artifacts(), event.run
    if event.manifest is not None:
        outputs = map_run_results(store, run, event.manifest, event.count or 0)
    else:
        outputs = list(event.outputs or [])
    key = f"{run_prefix(run.workflow, run.run_id)}{event.task}/results-r{run.repair}"
    if event.feed is not None:
        return TaskResponse(output=travel(store, outputs, event.feed, key, event.task, run)).model_dump()
    inline = len(dumps(outputs).encode()) <= event.limit
    return TaskResponse(output=outputs if inline else store.put_list(f"{key}/list.json", outputs)).model_dump()
