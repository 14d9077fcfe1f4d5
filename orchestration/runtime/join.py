"""The join function: lets a task wait for upstream tasks that nested Parallel states cannot order.

`wait` runs as a `.waitForTaskToken` task: it stores the token and, if every awaited task has
already finished, releases it at once (a wait may carry the signal of the task just before it:
that signal goes first). `signal` runs after an awaited task ends (whatever its
status): it records the result and releases every waiting task whose awaited tasks are now all done.
DynamoDB's atomic updates make exactly one of the racing calls see the join complete.
"""

from __future__ import annotations

import json
from typing import Any

from orchestration.protocol import JoinResponse, JoinWait, parse_join_request
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.redact import parsed


def run_join(payload: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    request = parsed(parse_join_request, payload, "the join function's event")
    released: list[tuple[str, dict[str, Any]]] = []
    signal = request.signal if isinstance(request, JoinWait) else request
    if signal is not None:
        released += rt.ledger.join_signal(
            signal.workflow, signal.run_id, signal.task, signal.result, list(signal.joins), signal.repair
        )
    if isinstance(request, JoinWait):
        results = rt.ledger.join_wait(
            request.workflow, request.run_id, request.task, request.token, list(request.needs), request.repair
        )
        released += [(request.token, results)] if results is not None else []
    for token, results in released:
        _release(rt, token, results)
    return JoinResponse(released=len(released)).model_dump()


def _release(rt: Runtime, token: str, results: dict[str, Any]) -> None:
    client = rt.stepfunctions
    try:
        client.send_task_success(taskToken=token, output=json.dumps(results))
    except (client.exceptions.TaskTimedOut, client.exceptions.InvalidToken) as exc:
        # A duplicate release (retried signal) or a waiter that already gave up: nothing to do.
        logger.info("join token already settled", extra={"error": type(exc).__name__})
