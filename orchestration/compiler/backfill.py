"""The stack's backfill state machine (pure): one execution per backfill runs its planned runs on the
workflow's own state machine, at most `max_concurrent` at once, and waits for each.

Its input is `BackfillInput`: what every run shares (parameters, trigger, definition hash) once, and
per run only its id and logical date, so that a backfill of a couple of thousand runs fits the
payload limit. Each iteration starts the workflow's execution named after the run id
(`startExecution.sync:2`) with an `ExecutionInput` carrying the run's trigger (the shared one plus
its `scheduled_time`) and definition hash, which the recorder records when the run starts. A run
that fails, or cannot start, is caught: the backfill goes on, and its output lists every run's
status (`NOT_STARTED`, with the error, for one that did not start). The state machine starts runs
only: the run ledger, written by the workflow's own functions and the recorder, is the record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from orchestration.compiler.states import (
    ALL_ERRORS,
    START_EXECUTION_SYNC,
    Asl,
    Branch,
    PassState,
    State,
    retrier,
    state_machine,
)
from orchestration.protocol import ExecutionInput, JsonPath, Payload

BACKFILL_OUTPUT = "BackfillStateMachineArn"  # the stack output naming the backfill state machine
MAX_CONCURRENT = 40  # Step Functions runs at most 40 iterations of an inline Map at once
# A Standard execution stops at 25,000 history events; each run costs up to EVENTS_PER_RUN of them.
HISTORY_EVENTS = 25_000
EVENTS_PER_RUN = 12  # measured on moto's interpreter: 8 for a run that succeeds, 12 for one that fails
MAX_RUNS = 1_500  # runs one backfill execution may hold (events and payload, with room to spare)
NOT_STARTED = "NOT_STARTED"  # a run's status in the output when its execution could not start
CHILD_FAILED = "States.TaskFailed"  # startExecution.sync:2: the child ended unsuccessfully
START_RETRY_ERRORS = ("StepFunctions.ExecutionLimitExceededException", "StepFunctions.SdkClientException")

assert MAX_RUNS * EVENTS_PER_RUN < HISTORY_EVENTS


class BackfillRunItem(Payload):
    run_id: str
    logical_date: str


class BackfillInput(Payload):
    """The input of a backfill execution."""

    backfill_id: str
    workflow: str
    state_machine_arn: str
    max_concurrent: int = Field(ge=1, le=MAX_CONCURRENT)
    params: dict[str, Any] = Field(default_factory=dict)
    trigger: dict[str, Any]  # each run's, but its scheduled_time (its logical date, added per run)
    definition_hash: str
    runs: list[BackfillRunItem]


class _Iteration(Payload):
    """What each iteration of the Map works on (its ItemSelector)."""

    run_id: str
    logical_date: str
    at: dict[str, str]  # {"scheduled_time": <logical date>}, merged into the shared trigger
    state_machine_arn: str
    params: dict[str, Any]
    trigger: dict[str, Any]
    definition_hash: str


class BackfillResult(Payload):
    """One run's entry in the backfill execution's output."""

    run_id: str
    status: str
    error: str | None = None


def execution_name(backfill_id: str, run_ids: Iterable[str]) -> str:
    """The backfill execution's name: the backfill id and a hash of the runs it starts, so that
    re-issuing the same backfill while it goes names the same execution (at most 80 characters)."""
    digest = hashlib.sha256("\n".join(sorted(run_ids)).encode()).hexdigest()[:8]
    return f"{backfill_id}-{digest}"[:80]


def backfill_definition() -> Asl:
    """The backfill state machine's definition (JSONPath), the same for every stack."""
    item = "$$.Map.Item.Value"
    selector = _Iteration.template(
        run_id=JsonPath(f"{item}.{BackfillRunItem.key('run_id')}"),
        logical_date=JsonPath(f"{item}.{BackfillRunItem.key('logical_date')}"),
        at={"scheduled_time.$": f"{item}.{BackfillRunItem.key('logical_date')}"},
        state_machine_arn=JsonPath("$.state_machine_arn"),
        params=JsonPath("$.params"),
        trigger=JsonPath("$.trigger"),
        definition_hash=JsonPath("$.definition_hash"),
    )
    run_input = ExecutionInput.template(
        params=JsonPath("$.params"),
        logical_date=JsonPath("$.logical_date"),
        trigger=JsonPath("States.JsonMerge($.trigger, $.at, false)"),
        definition_hash=JsonPath("$.definition_hash"),
        started_by=JsonPath("$$.Execution.Id"),  # the console links the run to its backfill
    )
    processor = Branch(
        "Run",
        {
            "Run": _StartRun(
                parameters={"StateMachineArn.$": "$.state_machine_arn", "Name.$": "$.run_id", "Input": run_input},
                result_selector=BackfillResult.template(run_id=JsonPath("$.Name"), status=JsonPath("$.Status")),
                retry=[retrier(START_RETRY_ERRORS, 2, 4, 2.0, jitter=True)],
                catch=[
                    {"ErrorEquals": [CHILD_FAILED], "ResultPath": "$.error", "Next": "Run ended"},
                    {"ErrorEquals": [ALL_ERRORS], "ResultPath": "$.error", "Next": "Run not started"},
                ],
                end=True,
            ),
            "Run ended": PassState(
                comment="The run's execution ended unsuccessfully: the cause is its DescribeExecution",
                parameters={"run_id.$": "$.run_id", "execution.$": "States.StringToJson($.error.Cause)"},
                next="Run status",
            ),
            "Run status": PassState(
                parameters=BackfillResult.template(run_id=JsonPath("$.run_id"), status=JsonPath("$.execution.Status")),
                end=True,
            ),
            "Run not started": PassState(
                parameters=BackfillResult.template(
                    run_id=JsonPath("$.run_id"), status=NOT_STARTED, error=JsonPath("$.error.Error")
                ),
                end=True,
            ),
        },
    )
    runs = _RunsMap(item_selector=selector, processor=processor, end=True)
    comment = "orch backfill: a workflow's runs, at most max_concurrent at once"
    return state_machine(comment, Branch("Runs", {"Runs": runs}), None)


@dataclass(kw_only=True)
class _StartRun(State):
    """Start the run's execution (`startExecution.sync:2`) and wait for it to end."""

    parameters: Asl
    result_selector: Asl
    retry: list[Asl]
    catch: list[Asl]

    def fields(self) -> Asl:
        return {
            "Type": "Task",
            "Comment": "Start the run's execution and wait for it to end",
            "Resource": START_EXECUTION_SYNC,
            "Parameters": self.parameters,
            "ResultSelector": self.result_selector,
            "Retry": self.retry,
            "Catch": self.catch,
        }


@dataclass(kw_only=True)
class _RunsMap(State):
    """The inline Map over `$.runs`, `$.max_concurrent` iterations at once; its output is the results."""

    item_selector: Asl
    processor: Branch

    def fields(self) -> Asl:
        return {
            "Type": "Map",
            "ItemsPath": "$." + BackfillInput.key("runs"),
            "MaxConcurrencyPath": "$." + BackfillInput.key("max_concurrent"),
            "ItemSelector": self.item_selector,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **self.processor.to_dict()},
        }
