"""The join function: lets a task wait for upstream tasks that nested Parallel states cannot order.

`wait` runs as a `.waitForTaskToken` task: it stores the token and, if every awaited task has
already finished, releases it at once. `signal` runs after an awaited task ends (whatever its
status): it records the result and releases every waiting task whose awaited tasks are now all done.
DynamoDB's atomic updates make exactly one of the racing calls see the join complete.
"""

from __future__ import annotations

import json
from typing import Any

from functions.runtime import Runtime, from_env, logger


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_join(event, from_env())


def run_join(event: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    action = event.get("action")
    run_id = event["run_id"]
    if action == "wait":
        results = rt.ledger.join_wait(run_id, event["task"], event["token"], list(event["needs"]))
        released = [(event["token"], results)] if results is not None else []
    elif action == "signal":
        released = rt.ledger.join_signal(run_id, event["task"], event["result"], list(event["joins"]))
    else:
        raise ValueError(f"unknown join action {action!r}: expected 'wait' or 'signal'")
    for token, results in released:
        _release(rt, token, results)
    return {"released": len(released)}


def _release(rt: Runtime, token: str, results: dict[str, Any]) -> None:
    client = rt.stepfunctions
    try:
        client.send_task_success(taskToken=token, output=json.dumps(results))
    except (client.exceptions.TaskTimedOut, client.exceptions.InvalidToken) as exc:
        # A duplicate release (retried signal) or a waiter that already gave up: nothing to do.
        logger.info("join token already settled", extra={"error": type(exc).__name__})
