"""Distributed Map on moto's interpreter, as on AWS (installed by `moto_adapter`, item 10).

moto 5.2.x runs a Distributed Map's items (ItemReader included) but:
- never fails the Map when items fail: here the map run fails with
  `States.ExceedToleratedFailureThreshold` once failures pass ToleratedFailureCount or
  ToleratedFailurePercentage (either; neither set tolerates none), as on AWS;
- its ResultWriter evaluates its `Parameters` paths on the Map's results, not its input, and writes
  a manifest that lists no result files: here it writes AWS's shape,
  `<prefix>/<map run id>/manifest.json` and `SUCCEEDED_0.json` / `FAILED_0.json`, each a list of
  child executions with their `Input` and `Output` as JSON strings (`Error`, `Cause` when failed);
- a Parallel branch or Map iteration that fails with a `States.` error (such as the threshold above)
  dies on moto's own check that custom error names do not start with "States.": here it keeps its
  States error name, so Catch sees it as on AWS;
- its grammar refuses `"ExecutionType": "EXPRESS"` in a ProcessorConfig: here the definition moto
  parses says STANDARD (the definition deployed is unchanged); locally both run the items the same
  way, once each;
- a worker evaluates its items by recursion (one level per item: past about 1,000 items per worker
  the run dies of a RecursionError): here by a loop doing the same steps;
- starts one thread per allowed concurrent item (10,000 for MaxConcurrency 10000, as many as items
  for 0): here at most `LOCAL_MAP_WORKERS` run at once, which changes nothing but the speed.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

LOCAL_MAP_WORKERS = 16
_EXPRESS_CHILDREN = re.compile(r'("ExecutionType"\s*:\s*)"EXPRESS"')
THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
_current = threading.local()  # the map run whose results the thread's ResultWriter writes


def records_items(eval_job: Callable[..., None], ended: type) -> Callable[..., None]:
    """A distributed worker's job that records its child execution for the ResultWriter."""

    @functools.wraps(eval_job)
    def run(self: Any, env: Any, job: Any) -> None:
        started = datetime.now(UTC)
        eval_job(self, env, job)
        state = env.program_state()
        entry: dict[str, Any] = {
            "Input": json.dumps(getattr(env, "orch_item_input", job.job_input)),
            "StartDate": started.isoformat(),
            "StopDate": datetime.now(UTC).isoformat(),
        }
        if isinstance(state, ended):
            entry |= {"Status": "SUCCEEDED", "Output": json.dumps(job.job_output)}
        else:
            error = getattr(state, "error", None) or {}
            failure = {"Error": error.get("error", "States.Runtime"), "Cause": error.get("cause", "")}
            entry |= {"Status": "FAILED", **failure}
        record = self._map_run_record
        with _lock:
            record.__dict__.setdefault("orch_items", []).append((job.job_index, entry))

    return run


_lock = threading.Lock()


def keeps_item_input(eval_input: Callable[..., None]) -> Callable[..., None]:
    """Remember the child execution's input (the item after ItemSelector), which results show."""

    @functools.wraps(eval_input)
    def run(self: Any, env_frame: Any) -> None:
        eval_input(self, env_frame)
        env_frame.orch_item_input = env_frame.states.get_input()

    return run


def map_run(original: Callable[..., None], fail: Callable[[Any, str, str], Exception]) -> Callable[..., None]:
    """The map run with at most LOCAL_MAP_WORKERS threads, failing past its tolerated failures."""

    @functools.wraps(original)
    def run(self: Any, env: Any, eval_input: Any) -> None:
        record = eval_input.map_run_record
        allowed = record.max_concurrency
        record.max_concurrency = min(allowed or LOCAL_MAP_WORKERS, LOCAL_MAP_WORKERS)
        _current.record = record
        try:
            original(self, env, eval_input)
        finally:
            record.max_concurrency = allowed
        items = record.__dict__.get("orch_items", [])
        failed = sum(1 for _, e in items if e["Status"] != "SUCCEEDED")
        count, pct = eval_input.tolerated_failure_count or 0, eval_input.tolerated_failure_percentage or 0
        limits = [failed > count] if count else []
        limits += [failed * 100 > pct * max(1, len(items))] if pct else []
        if failed and (any(limits) or not limits):
            cause = f"{failed} of {len(items)} items failed (tolerated: count {count}, percentage {pct})"
            raise fail(env, THRESHOLD_ERROR, cause)

    return run


def eval_pool(self: Any, job: Any, worker_frame: Any) -> None:
    """DistributedItemProcessorWorker._eval_pool as a loop (moto recurses once per item)."""
    while job is not None:
        job_frame = worker_frame.open_inner_frame()
        self._eval_job(env=job_frame, job=job)
        worker_frame.delete_frame(job_frame)
        if isinstance(job.job_output, Exception) or self.stopped():
            break
        next_job = self._job_pool.next_job()
        if next_job is None:
            break
        self._job_pool.close_job(job)
        job = next_job
    # the frame is closed before the job: the Map waits for its jobs, not its workers
    self._env.delete_frame(worker_frame)
    if job is not None:
        self._job_pool.close_job(job)


def standard_children(definition: str) -> str:
    """The definition moto parses: Distributed Map child executions as STANDARD."""
    return _EXPRESS_CHILDREN.sub(r'\1"STANDARD"', definition)


def error_names(custom: type, states: Callable[[Any], Any], lookup: Callable[[str], Any]) -> Callable[..., Any]:
    """An error name as moto's branches and iterations rethrow it: a States one stays one."""

    def name(error_name: str | None) -> Any:
        if error_name is not None and error_name.startswith("States."):
            try:
                return states(lookup(error_name))
            except ValueError:  # a States name moto does not know: kept as a custom name would be
                pass
        return custom(error_name)

    return name


def reads_state_input(self: Any, env: Any) -> None:
    """ResultWriter's `Parameters` paths read the Map state's input, as on AWS (moto reads its results)."""
    results = env.stack.pop()
    env.stack.append(env.states.get_input())
    self.parargs.eval(env=env)
    parameters = env.stack.pop()
    env.stack.pop()
    env.stack.extend([results, parameters])
    self.resource_eval.eval_resource(env=env)


def write_results(env: Any, runtime_part: Any, credentials: Any, s3: Callable[..., Any]) -> None:
    """ResultWriter `s3:putObject`: the map run's results in AWS's shape, and its details as the output."""
    parameters = env.stack.pop()
    env.stack.pop()  # the items' outputs: the result files hold them
    record = _current.record
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    client = s3(runtime_part, credentials)
    base = f"{prefix}{record.map_run_arn.split(':')[-1]}/"
    executions = record.map_run_arn.replace(":mapRun:", ":execution:", 1).rsplit(":", 1)[0]
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        entries = []
        for _, entry in sorted(record.__dict__.get("orch_items", [])):
            if entry["Status"] == status:
                name = str(uuid.uuid4())
                details = {"Included": True}
                entries.append(
                    {
                        "ExecutionArn": f"{executions}:{name}",
                        "InputDetails": details,
                        "Name": name,
                        **({"OutputDetails": details} if status == "SUCCEEDED" else {}),
                        "RedriveCount": 0,
                        "RedriveStatus": "NOT_REDRIVABLE",
                        **entry,
                    }
                )
        if entries:
            key = f"{base}{status}_0.json"
            body = json.dumps(entries).encode()
            client.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    key = f"{base}manifest.json"
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    env.stack.append({"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}})
