"""What the ledger holds, as records, and their DynamoDB items (the stored layout: attribute
names and types must not change, so ledgers already written keep reading)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestration.ledger.codec import AttributeValue, Item, decode, encode
from orchestration.ledger.keys import (
    BY_STATUS,
    BY_WORKFLOW,
    Kind,
    attempt_sk,
    created_sk,
    item_key,
    run_key,
    status_pk,
    task_sk,
    workflow_pk,
)
from orchestration.status import TaskStatus, merge_item_status, rank

MAX_MESSAGE = 2000  # characters of an attempt's error message kept
MAX_TASK_ERROR = 300  # characters of a task's "error: message" kept


@dataclass
class Attempt:
    task: str
    attempt: int
    status: str
    started_at: str
    ended_at: str | None = None
    duration_ms: int | None = None
    error: str | None = None
    message: str | None = None
    index: int | None = None


@dataclass
class TaskRecord:
    """A task's view of a run (also the shape of each task in Finalize's output)."""

    name: str
    status: str = TaskStatus.PENDING
    attempts: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    items: int | None = None  # for-each: number of item attempts that ran

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "error": self.error,
        }


@dataclass
class RunRecord:
    run_id: str
    workflow: str
    status: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    logical_date: str | None = None
    trigger: dict[str, Any] = field(default_factory=dict)
    definition_hash: str | None = None
    execution_arn: str | None = None
    error: str | None = None
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "params": self.params,
            "logical_date": self.logical_date,
            "definition_hash": self.definition_hash,
            "error": self.error,
            "tasks": {name: t.as_dict() for name, t in self.tasks.items()},
        }


def run_item(run: RunRecord) -> Item:
    """The run's item as first written (its end and error are set by later updates)."""
    created = created_sk(run.created_at, run.run_id)
    return encode(
        {
            **run_key(run.run_id),
            "kind": Kind.RUN,
            "run_id": run.run_id,
            "workflow": run.workflow,
            "status": run.status,
            "status_rank": rank(run.status),
            "created_at": run.created_at,
            "params": json.dumps(run.params, sort_keys=True),
            "trigger": json.dumps(run.trigger, sort_keys=True),
            BY_WORKFLOW.pk: workflow_pk(run.workflow),
            BY_WORKFLOW.sk: created,
            BY_STATUS.pk: status_pk(run.status),
            BY_STATUS.sk: created,
            "started_at": run.started_at,
            "logical_date": run.logical_date,
            "definition_hash": run.definition_hash,
            "execution_arn": run.execution_arn,
        }
    )


def run_from_item(item: Mapping[str, AttributeValue]) -> RunRecord:
    values = decode(item)
    return RunRecord(
        run_id=values["run_id"],
        workflow=values["workflow"],
        status=values["status"],
        created_at=values["created_at"],
        params=json.loads(values["params"]) if "params" in values else {},
        started_at=values.get("started_at"),
        ended_at=values.get("ended_at"),
        logical_date=values.get("logical_date"),
        trigger=json.loads(values["trigger"]) if "trigger" in values else {},
        definition_hash=values.get("definition_hash"),
        execution_arn=values.get("execution_arn"),
        error=values.get("error"),
    )


def attempt_item(run_id: str, att: Attempt) -> Item:
    return encode(
        {
            **item_key(run_id, attempt_sk(att.task, att.attempt, att.index)),
            "kind": Kind.ATTEMPT,
            "task": att.task,
            "attempt": att.attempt,
            "status": att.status,
            "status_rank": rank(att.status),
            "started_at": att.started_at,
            "item_index": att.index,
            "ended_at": att.ended_at,
            "duration_ms": att.duration_ms,
            "error": att.error,
            "message": None if att.message is None else att.message[:MAX_MESSAGE],
        }
    )


def attempt_from_item(item: Mapping[str, AttributeValue]) -> Attempt:
    values = decode(item)
    return Attempt(
        task=values["task"],
        attempt=values["attempt"],
        status=values["status"],
        started_at=values.get("started_at", ""),
        ended_at=values.get("ended_at"),
        duration_ms=values.get("duration_ms"),
        error=values.get("error"),
        message=values.get("message"),
        index=values.get("item_index"),
    )


def summary_item(run_id: str, rec: TaskRecord) -> Item:
    """A task's final summary, written when its run finishes."""
    return encode(
        {
            **item_key(run_id, task_sk(rec.name)),
            "kind": Kind.TASK,
            "task": rec.name,
            "status": rec.status,
            "status_rank": rank(rec.status),
            "attempts": rec.attempts,
            "started_at": rec.started_at,
            "ended_at": rec.ended_at,
            # the state machine's error name may not be a string
            "error": None if rec.error is None else str(rec.error),
            "items": rec.items,
        }
    )


def summary_from_item(item: Mapping[str, AttributeValue]) -> TaskRecord:
    values = decode(item)
    return TaskRecord(
        name=values["task"],
        status=values["status"],
        attempts=values["attempts"],
        started_at=values.get("started_at"),
        ended_at=values.get("ended_at"),
        error=values.get("error"),
        items=values.get("items"),
    )


def task_records(attempts: Iterable[Attempt], summaries: Iterable[TaskRecord]) -> dict[str, TaskRecord]:
    """Per-task view: the final summary when the run finished, else derived from the attempts."""
    records: dict[str, TaskRecord] = {}
    for att in sorted(attempts, key=lambda a: (a.task, a.attempt, a.index or 0)):
        rec = records.setdefault(att.task, TaskRecord(att.task))
        rec.attempts = max(rec.attempts, att.attempt)
        if att.index is not None:
            rec.items = (rec.items or 0) + 1
        rec.started_at = min(filter(None, [rec.started_at, att.started_at]), default=None)
        if att.ended_at:
            rec.ended_at = max(filter(None, [rec.ended_at, att.ended_at]))
        if att.attempt == rec.attempts:
            if att.index is None:
                rec.status = att.status
            elif rec.status != TaskStatus.FAILED:
                rec.status = merge_item_status(rec.status, att.status)
            if att.error:
                rec.error = f"{att.error}: {att.message}"[:MAX_TASK_ERROR] if att.message else att.error
    for summary in summaries:
        rec = records.setdefault(summary.name, TaskRecord(summary.name))
        rec.status = summary.status
        rec.attempts = summary.attempts
        rec.started_at = summary.started_at or rec.started_at
        rec.ended_at = summary.ended_at or rec.ended_at
        rec.error = summary.error
        if summary.items is not None:
            rec.items = summary.items
    return records
