"""What the ledger holds, as records, and their DynamoDB items (the stored layout: attribute
names and types must not change, so ledgers already written keep reading)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from orchestration.artifacts import dumps, is_ref, shown
from orchestration.ledger.codec import AttributeValue, Item, decode, encode
from orchestration.ledger.keys import (
    BY_STATUS,
    BY_WORKFLOW,
    STATUS_PK,
    TASK_SK,
    WORKFLOW_PK,
    Kind,
    attempt_key,
    created_sk,
    run_item_key,
    run_key,
)
from orchestration.status import TaskStatus, merge_item_status, rank

MAX_MESSAGE = 2000  # characters of an attempt's error message kept
MAX_TASK_ERROR = 300  # characters of a task's "error: message" kept
# `orch run --json` shows a task's output as is up to this many bytes of JSON; a larger one as a
# reference object {"$ref": where, "bytes": its size} (see `output_view`).
SHOWN_OUTPUT_BYTES = 4096

# Field metadata: how a record's field is stored in its item (by default, as is under its own name).
_ATTRIBUTE = "attribute"  # the attribute name, when not the field's
_JSON = "json"  # stored as a JSON string (keys sorted)
_EXACT_JSON = "exact_json"  # stored as a JSON string, keys in their own order (a task's output)
_STORED = "stored"  # False: not in the item

# The fields `as_dict` shows, in its order (a run's JSON in the CLI).
_TASK_SHOWN = ("status", "attempts", "started_at", "ended_at", "error")
_RUN_SHOWN = (
    "run_id",
    "workflow",
    "status",
    "started_at",
    "ended_at",
    "params",
    "logical_date",
    "trigger",
    "definition_hash",
    "error",
    "parent_run_id",
    "parent_workflow",
    "parent_task",
    "repair",
    "repairs",
)


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
    index: int | None = field(default=None, metadata={_ATTRIBUTE: "item_index"})
    # What a succeeded attempt returned to the state, encoded (`artifacts.ArtifactStore.offload`): the value,
    # the reference to it in the artifact bucket, or the value wrapped as a literal (kept for succeeded attempts only).
    output: Any = field(default=None, metadata={_EXACT_JSON: True})
    # The datasets the attempt read and wrote ({"inputs": [...], "outputs": [...]}: declared and reported).
    datasets: dict[str, list[str]] | None = field(default=None, metadata={_JSON: True})


@dataclass
class TaskRecord:
    """A task's view of a run (also the shape of each task in Finalize's output)."""

    name: str = field(metadata={_ATTRIBUTE: "task"})
    status: str = TaskStatus.PENDING
    attempts: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    items: int | None = None  # for-each: number of item attempts that ran
    # A succeeded task's output as its attempts recorded it (for a for-each, its items' outputs by index);
    # derived from the attempt items, not stored in the summary.
    output: Any = field(default=None, metadata={_STORED: False})

    def as_dict(self) -> dict[str, Any]:
        """The task as `orch run --json` shows it (a large output as a reference object)."""
        return {name: getattr(self, name) for name in _TASK_SHOWN} | {"output": output_view(self.output)}


@dataclass
class RunRecord:
    run_id: str
    workflow: str
    status: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict, metadata={_JSON: True})
    started_at: str | None = None
    ended_at: str | None = None
    logical_date: str | None = None
    trigger: dict[str, Any] = field(default_factory=dict, metadata={_JSON: True})
    definition_hash: str | None = None
    execution_arn: str | None = None
    error: str | None = None
    tasks: dict[str, TaskRecord] = field(default_factory=dict, metadata={_STORED: False})
    attempts: list[Attempt] = field(default_factory=list, metadata={_STORED: False})
    # A child run (started by a run_workflow task): the run, workflow and task that started it.
    parent_run_id: str | None = None
    parent_workflow: str | None = None
    parent_task: str | None = None
    # Repairs: the pass the run is in (0: its first), and one entry per repair as requested (number,
    # started_at, tasks rerun, params, trigger, definition_hash, and the outcome it repaired:
    # previous_status, previous_ended_at); read back with each repair's own status and ended_at.
    repair: int = 0
    repairs: list[dict[str, Any]] = field(default_factory=list, metadata={_JSON: True})

    def as_dict(self) -> dict[str, Any]:
        shown = {name: getattr(self, name) for name in _RUN_SHOWN}
        return shown | {"tasks": {name: t.as_dict() for name, t in self.tasks.items()}}


_Record = TypeVar("_Record", Attempt, TaskRecord, RunRecord)


def output_view(output: Any) -> Any:
    """A recorded output as `orch run --json` shows it: as is when its JSON takes at most
    SHOWN_OUTPUT_BYTES, with each artifact reference as {"$ref": "s3://bucket/key", "bytes": size};
    a larger one as {"$ref": "s3://bucket/key" (the artifact holding it) or "ledger" (the run
    ledger's attempt items hold it), "bytes": size of its JSON}. A value the task returned that
    looks like a reference is shown as returned (it was recorded wrapped, see `artifacts`)."""
    view = shown(output)
    if is_ref(output):
        return view
    size = len(dumps(view).encode())
    return view if size <= SHOWN_OUTPUT_BYTES else {"$ref": "ledger", "bytes": size}


def run_item(run: RunRecord) -> Item:
    """The run's item as first written (its end and error are set by later updates)."""
    created = created_sk(run.created_at, run.run_id)
    # (the run_id attribute keys the by_run index: it is a field of the record already)
    indexes: dict[str, str] = {
        BY_WORKFLOW.pk: WORKFLOW_PK(run.workflow),
        BY_STATUS.pk: STATUS_PK(run.status),
    }
    for index in (BY_WORKFLOW, BY_STATUS):
        assert index.sk is not None
        indexes[index.sk] = created
    # A repair sets `repair` and `repairs` later: a new run's item goes without them.
    repair = {"repair": None, "repairs": None}
    return _item(run_key(run.workflow, run.run_id), Kind.RUN, run, ended_at=None, error=None, **repair, **indexes)


def run_from_item(item: Mapping[str, AttributeValue]) -> RunRecord:
    run = _from_item(RunRecord, item)
    # Each repair ended as the next one found the run (its previous_*), the last one as the run is now.
    ends = [(e.get("previous_status"), e.get("previous_ended_at")) for e in run.repairs[1:]]
    ends.append((run.status, run.ended_at))
    run.repairs = [entry | {"status": s, "ended_at": t} for entry, (s, t) in zip(run.repairs, ends, strict=False)]
    return run


def attempt_item(workflow: str, run_id: str, att: Attempt) -> Item:
    message = None if att.message is None else att.message[:MAX_MESSAGE]
    # Only a succeeded attempt has an output (even null): others leave the attribute out.
    output = {} if att.status == TaskStatus.SUCCEEDED else {"output": None}
    key = attempt_key(workflow, run_id, att.task, att.attempt, att.index)
    datasets = _sorted_json(att.datasets) if att.datasets else None  # left out when none
    return _item(key, Kind.ATTEMPT, att, message=message, datasets=datasets, **output)


def attempt_from_item(item: Mapping[str, AttributeValue]) -> Attempt:
    return _from_item(Attempt, item, started_at="")  # an item without a start reads as ""


def summary_item(workflow: str, run_id: str, rec: TaskRecord) -> Item:
    """A task's final summary, written when its run finishes."""
    error = None if rec.error is None else str(rec.error)  # the state machine's error name may not be a string
    return _item(run_item_key(workflow, run_id, TASK_SK(rec.name)), Kind.TASK, rec, error=error)


def summary_from_item(item: Mapping[str, AttributeValue]) -> TaskRecord:
    return _from_item(TaskRecord, item)


def _stored_fields(
    record: Attempt | TaskRecord | RunRecord | type[_Record],
) -> Iterator[tuple[str, str, Callable[[Any], str] | None]]:
    """(field, attribute name, its JSON encoder or None) for each field kept in the record's item."""
    for f in fields(record):
        if f.metadata.get(_STORED, True):
            encoder = _sorted_json if f.metadata.get(_JSON) else dumps if f.metadata.get(_EXACT_JSON) else None
            yield f.name, f.metadata.get(_ATTRIBUTE, f.name), encoder


def _sorted_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _item(
    key: Mapping[str, str], kind: Kind, record: Attempt | TaskRecord | RunRecord, **attributes: str | int | None
) -> Item:
    """The record's item: its key, kind, status rank and stored fields; `attributes` add or replace
    attributes (None leaves one out)."""
    values: dict[str, Any] = {**key, "kind": kind, "status_rank": rank(record.status)}
    for name, attribute, encoder in _stored_fields(record):
        value = getattr(record, name)
        values[attribute] = encoder(value) if encoder else value
    return encode(values | attributes)


def _from_item(cls: type[_Record], item: Mapping[str, AttributeValue], **defaults: str) -> _Record:
    """The record an item holds; a field whose attribute is absent takes `defaults` or its own default."""
    values = defaults | decode(item)
    return cls(
        **{
            name: json.loads(values[attribute]) if encoder else values[attribute]
            for name, attribute, encoder in _stored_fields(cls)
            if attribute in values
        }
    )


def task_records(attempts: Iterable[Attempt], summaries: Iterable[TaskRecord]) -> dict[str, TaskRecord]:
    """Per-task view: the final summary when the run finished, else derived from the attempts; a
    succeeded task's output is its last attempt's (a for-each's: each item's, by index)."""
    records: dict[str, TaskRecord] = {}
    outputs: dict[str, dict[int | None, Any]] = {}  # task -> item index (None: not a for-each) -> output
    for att in sorted(attempts, key=lambda a: (a.task, a.attempt, a.index or 0)):
        rec = records.setdefault(att.task, TaskRecord(att.task))
        if att.status == TaskStatus.SUCCEEDED:
            outputs.setdefault(att.task, {})[att.index] = att.output
        if att.attempt > rec.attempts:  # a later attempt: an earlier one's error and status are history
            rec.attempts, rec.error, rec.status = att.attempt, None, TaskStatus.PENDING
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
    for name, rec in records.items():
        if rec.status == TaskStatus.SUCCEEDED:
            rec.output = _task_output(outputs.get(name, {}), for_each=rec.items is not None)
    return records


def _task_output(by_index: Mapping[int | None, Any], *, for_each: bool) -> Any:
    if for_each:
        return [output for _, output in sorted(by_index.items(), key=lambda kv: kv[0] or 0)]
    return by_index.get(None)


def assemble_run(items: Iterable[Mapping[str, AttributeValue]]) -> RunRecord | None:
    """A run with its tasks from all of its items (run item, task summaries, attempts; joins are
    ignored), in any order; None without a run item."""
    run: RunRecord | None = None
    summaries: list[TaskRecord] = []
    attempts: list[Attempt] = []
    for item in items:
        kind = item.get("kind", {}).get("S")
        if kind == Kind.RUN:
            run = run_from_item(item)
        elif kind == Kind.TASK:
            summaries.append(summary_from_item(item))
        elif kind == Kind.ATTEMPT:
            attempts.append(attempt_from_item(item))
    if run is None:
        return None
    run.attempts = sorted(attempts, key=lambda a: (a.task, a.attempt, a.index or 0))
    run.tasks = task_records(run.attempts, summaries)
    return run
