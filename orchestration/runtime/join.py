"""The join function: lets a task wait for upstream tasks that nested Parallel states cannot order.

`wait` runs as a `.waitForTaskToken` task: it stores the token and, if every awaited task has
already finished, releases it at once. `signal` runs after an awaited task ends (whatever its
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
    if isinstance(request, JoinWait):
        results = rt.ledger.join_wait(
            request.workflow, request.run_id, request.task, request.token, list(request.needs), request.repair
        )
        released = [(request.token, results)] if results is not None else []
    else:
        released = rt.ledger.join_signal(
            request.workflow, request.run_id, request.task, request.result, list(request.joins), request.repair
        )
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
