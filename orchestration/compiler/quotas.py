"""Step Functions quotas a compiled workflow must fit, checked before deploying (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestration.compiler.definition import to_json
from orchestration.errors import CompileError
from orchestration.model import Workflow
from orchestration.protocol import (
    MAX_INLINE_OUTPUT,
    MIN_INLINE_OUTPUT,
    PAYLOAD_LIMIT_BYTES,
    RESULT_OVERHEAD_BYTES,
    STATE_BUDGET_BYTES,
)

MAX_DEFINITION_BYTES = 1_048_576  # a state machine definition
STATE_RESERVE_BYTES = 16_384  # the run context and the Parallel/join bookkeeping around the results


def inline_output_limit(workflow: Workflow) -> int:
    """Largest task output (bytes of JSON) kept in the state; larger outputs go to the artifact bucket."""
    share = STATE_BUDGET_BYTES // max(1, len(workflow.tasks))
    return max(MIN_INLINE_OUTPUT, min(MAX_INLINE_OUTPUT, share))


HISTORY_EVENTS_LIMIT = 25_000  # events in a Standard execution's history
HISTORY_EVENTS_PER_TASK = 14  # measured: 9 to 14 per plain task (entered, scheduled, started, succeeded, exited...)
HISTORY_EVENTS_PER_JOIN = 12  # a join wait (a callback task) and its share of a signal


def worst_state_bytes(results: int, limit: int) -> int:
    """The largest state holding `results` task results of at most `limit` bytes of output each
    (0: the smallest inline output limit)."""
    return results * (max(limit, MIN_INLINE_OUTPUT) + RESULT_OVERHEAD_BYTES) + STATE_RESERVE_BYTES


def history_estimate(tasks: int, joins: int) -> int:
    """Events a state machine running `tasks` plain tasks and `joins` join edges writes, about."""
    return tasks * HISTORY_EVENTS_PER_TASK + joins * HISTORY_EVENTS_PER_JOIN


def check_quotas(workflow: Workflow, definition: Mapping[str, Any]) -> None:
    """Raise CompileError for a limit a run would otherwise hit at run time."""
    worst_state = worst_state_bytes(len(workflow.tasks), inline_output_limit(workflow))
    if worst_state > PAYLOAD_LIMIT_BYTES:
        raise CompileError(
            f"workflow {workflow.name!r} has {len(workflow.tasks)} tasks: even with every output above "
            f"{MIN_INLINE_OUTPUT} bytes moved to S3, their results could reach {worst_state} bytes of state, over "
            f"the {PAYLOAD_LIMIT_BYTES}-byte Step Functions payload limit; split it into smaller workflows"
        )
    size = len(to_json(definition).encode())
    if size > MAX_DEFINITION_BYTES:
        raise CompileError(
            f"workflow {workflow.name!r} compiles to {size} bytes of ASL, over the {MAX_DEFINITION_BYTES}-byte "
            "state machine definition limit; split it into smaller workflows"
        )
