"""The platform functions' logger (Powertools, structured JSON), named after the service. What they
log about a value they reject is its type and size (`orchestration.runtime.redact`), never the value.

Every line an invocation logs carries its run id as `correlation_id` (`correlated`): one search finds a
run's lines across its functions."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger

from orchestration.protocol import parse_execution_name
from orchestration.runtime.registry import SERVICE, Env

logger = Logger(service=SERVICE, level=os.environ.get(Env.LOG_LEVEL, "INFO"))

CORRELATION_ID = "correlation_id"  # the key Powertools' Logger.set_correlation_id writes


def run_id_of(event: Any) -> str | None:
    """The run an event concerns: `run.run_id` (task, subflow, finalize), `run_id` (join) or the
    execution name of a status change (recorder); None for an event of no run (a trigger's)."""
    if not isinstance(event, Mapping):
        return None
    run, detail = event.get("run"), event.get("detail")
    if isinstance(run, Mapping) and isinstance(run.get("run_id"), str):
        return str(run["run_id"])
    if isinstance(event.get("run_id"), str):
        return str(event["run_id"])
    if isinstance(detail, Mapping) and isinstance(detail.get("name"), str):
        return parse_execution_name(detail["name"])[0]
    return None


@contextmanager
def correlated(event: Any) -> Iterator[None]:
    """Log with the event's run id as the correlation id (thread-local: the local runtime runs
    parallel branches on threads)."""
    run_id = run_id_of(event)
    if run_id:
        logger.thread_safe_append_keys(**{CORRELATION_ID: run_id})
    try:
        yield
    finally:
        logger.thread_safe_remove_keys([CORRELATION_ID])
