"""The run ledger: one DynamoDB table holding every run, task attempt and join.

Key design (single table, see docs/ledger.md):

| item         | pk           | sk                                      |
|--------------|--------------|-----------------------------------------|
| run          | RUN#<run_id> | RUN                                     |
| task summary | RUN#<run_id> | TASK#<task>                             |
| task attempt | RUN#<run_id> | ATTEMPT#<task>#<attempt:03>[#<idx:06>]  |
| join         | RUN#<run_id> | JOIN#<task>                             |

The run item also carries gsi1pk = WF#<workflow>, gsi1sk = <created>#<run_id> and
gsi2pk = STATUS#<status>, gsi2sk = <created>#<run_id>.

- runs of a workflow newest first: query gsi1 (`by_workflow`) with ScanIndexForward=False;
- a run with all its tasks and attempts: query pk = RUN#<run_id>;
- runs by status: query gsi2 (`by_status`).

Writes are conditional on a status rank (queued/pending 0 < running 1 < terminal 2), so a late or
duplicated write never moves a run, task or attempt backwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestration.errors import LedgerError

GSI_BY_WORKFLOW = "by_workflow"
GSI_BY_STATUS = "by_status"
TERMINAL = frozenset(
    {"SUCCEEDED", "SUCCEEDED_WITH_FAILURES", "FAILED", "SKIPPED", "UPSTREAM_FAILED", "TIMED_OUT", "ABORTED"}
)


def rank(status: str) -> int:
    if status in TERMINAL:
        return 2
    return 1 if status == "RUNNING" else 0


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-21T05:41:37.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def table_spec(name: str) -> dict[str, Any]:
    """create_table arguments for the ledger (the CDK construct declares the same schema)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, prefix in ((GSI_BY_WORKFLOW, "gsi1"), (GSI_BY_STATUS, "gsi2"))
        ],
    }


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
    status: str = "PENDING"
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


class RunLedger:
    """DynamoDB store for runs; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client
        self._errors = client.exceptions

    # -- runs -----------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> bool:
        """Insert a run; False (and nothing written) when a run with that id already exists."""
        item = {
            "pk": _s(f"RUN#{run.run_id}"),
            "sk": _s("RUN"),
            "kind": _s("run"),
            "run_id": _s(run.run_id),
            "workflow": _s(run.workflow),
            "status": _s(run.status),
            "status_rank": _n(rank(run.status)),
            "created_at": _s(run.created_at),
            "params": _s(json.dumps(run.params, sort_keys=True)),
            "trigger": _s(json.dumps(run.trigger, sort_keys=True)),
            "gsi1pk": _s(f"WF#{run.workflow}"),
            "gsi1sk": _s(f"{run.created_at}#{run.run_id}"),
            "gsi2pk": _s(f"STATUS#{run.status}"),
            "gsi2sk": _s(f"{run.created_at}#{run.run_id}"),
        }
        for key in ("started_at", "logical_date", "definition_hash", "execution_arn"):
            value = getattr(run, key)
            if value is not None:
                item[key] = _s(value)
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def set_run_status(
        self,
        run_id: str,
        status: str,
        *,
        at: str | None = None,
        error: str | None = None,
        execution_arn: str | None = None,
    ) -> bool:
        """Move a run forward; False when the ledger already holds a status as advanced or later."""
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":s": _s(status),
            ":r": _n(rank(status)),
            ":g": _s(f"STATUS#{status}"),
        }
        sets = ["#s = :s", "status_rank = :r", "gsi2pk = :g"]
        stamp = "ended_at" if rank(status) == 2 else "started_at"
        if at is not None:
            sets.append(f"{stamp} = :t")
            values[":t"] = _s(at)
        if error is not None:
            sets.append("#e = :e")
            names["#e"] = "error"
            values[":e"] = _s(error)
        if execution_arn is not None:
            sets.append("execution_arn = :x")
            values[":x"] = _s(execution_arn)
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"RUN#{run_id}"), "sk": _s("RUN")},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND status_rank < :r",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._errors.ConditionalCheckFailedException:
            if self.get_run_item(run_id) is None:
                raise LedgerError(f"run {run_id!r} is not in the ledger table {self.table!r}") from None
            if execution_arn is not None:
                # The run already moved on (e.g. it finished before its starter recorded RUNNING):
                # keep the execution ARN anyway.
                self._set_once(run_id, "execution_arn", execution_arn)
            return False
        return True

    def close_run(self, run_id: str, status: str, *, at: str, error: str) -> bool:
        """End a run that no finalize step ended (timeout, abort, a failure before any task ran):
        set its status and close every attempt still RUNNING as FAILED with `error`."""
        moved = self.set_run_status(run_id, status, at=at, error=error)
        for item in self._query_run(run_id, "ATTEMPT#"):
            att = _attempt_from_item(item)
            if att.status == "RUNNING":
                self._cut_off(
                    run_id, att, at, error.split(":", 1)[0], f"the run ended ({status}) while this attempt was running"
                )
        return moved

    def _cut_off(self, run_id: str, att: Attempt, at: str, error: str, message: str) -> None:
        """Close an attempt that was still RUNNING when something outside its code ended it."""
        self.end_attempt(
            run_id,
            att.task,
            att.attempt,
            "FAILED",
            started_at=att.started_at,
            ended_at=at,
            duration_ms=_ms_between(att.started_at, at),
            error=error,
            message=message,
            index=att.index,
        )

    def _set_once(self, run_id: str, attribute: str, value: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"RUN#{run_id}"), "sk": _s("RUN")},
                UpdateExpression="SET #a = :v",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#a)",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={":v": _s(value)},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def claim_alert(self, run_id: str) -> bool:
        """Claim the right to send the run's failure alert: True for exactly one caller."""
        return self._set_once(run_id, "alerted_at", now_iso())

    def release_alert(self, run_id: str) -> None:
        """Give the claim back (the alert could not be sent) so a retried delivery can send it."""
        self.client.update_item(
            TableName=self.table,
            Key={"pk": _s(f"RUN#{run_id}"), "sk": _s("RUN")},
            UpdateExpression="REMOVE alerted_at",
        )

    def get_run_item(self, run_id: str) -> RunRecord | None:
        """The run record alone, without its tasks."""
        got = self.client.get_item(TableName=self.table, Key={"pk": _s(f"RUN#{run_id}"), "sk": _s("RUN")})
        return _run_from_item(got["Item"]) if "Item" in got else None

    def get_run(self, run_id: str, *, attempts: bool = True) -> RunRecord | None:
        """A run with its tasks; with `attempts=False` only the run and its final task summaries
        are read (what a finished run needs), not every attempt."""
        run = self.get_run_item(run_id)
        if run is None:
            return None
        summaries = {item["task"]["S"]: item for item in self._query_run(run_id, "TASK#")}
        if attempts or not summaries:
            run.attempts = [_attempt_from_item(item) for item in self._query_run(run_id, "ATTEMPT#")]
        run.tasks = _task_records(run.attempts, summaries)
        return run

    def list_runs(self, workflow: str, *, limit: int = 20) -> list[RunRecord]:
        """Runs of a workflow, newest first."""
        resp = self.client.query(
            TableName=self.table,
            IndexName=GSI_BY_WORKFLOW,
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s(f"WF#{workflow}")},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_run_from_item(i) for i in resp["Items"]]

    def runs_by_status(self, status: str, *, limit: int = 50) -> list[RunRecord]:
        resp = self.client.query(
            TableName=self.table,
            IndexName=GSI_BY_STATUS,
            KeyConditionExpression="gsi2pk = :p",
            ExpressionAttributeValues={":p": _s(f"STATUS#{status}")},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_run_from_item(i) for i in resp["Items"]]

    def _query_run(self, run_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": _s(f"RUN#{run_id}"), ":s": _s(prefix)},
        }
        while True:
            resp = self.client.query(**kwargs)
            items.extend(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # -- attempts -------------------------------------------------------------------------

    def start_attempt(self, run_id: str, task: str, attempt: int, started_at: str, index: int | None = None) -> bool:
        """Record a running attempt; False if this attempt was already recorded (duplicate delivery)."""
        item = _attempt_item(run_id, task, attempt, index, "RUNNING", started_at)
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def end_attempt(
        self,
        run_id: str,
        task: str,
        attempt: int,
        status: str,
        *,
        started_at: str,
        ended_at: str,
        duration_ms: int,
        error: str | None = None,
        message: str | None = None,
        index: int | None = None,
    ) -> bool:
        """Write an attempt's final record; never overwrites an attempt that is already terminal.

        A whole-item put (no update expression): the task runtime may have skipped the RUNNING
        record for a short attempt, so this write must stand on its own.
        """
        item = _attempt_item(run_id, task, attempt, index, status, started_at)
        item["ended_at"] = _s(ended_at)
        item["duration_ms"] = _n(duration_ms)
        if error is not None:
            item["error"] = _s(error)
        if message is not None:
            item["message"] = _s(message[:2000])
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR status_rank < :r",
                ExpressionAttributeValues={":r": _n(rank(status))},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def finalize_tasks(self, run_id: str, outcomes: Mapping[str, Mapping[str, Any]], at: str) -> dict[str, TaskRecord]:
        """Write each task's final summary from the state machine's view; close dangling attempts.

        `outcomes` maps task -> {"status", "error"?}. An attempt still RUNNING for a task that ended
        FAILED was cut off by the state machine (timeout); it is closed as FAILED with that error.
        """
        attempts = [_attempt_from_item(item) for item in self._query_run(run_id, "ATTEMPT#")]
        derived = _task_records(attempts, {})
        records: dict[str, TaskRecord] = {}
        for name, outcome in sorted(outcomes.items()):
            status = str(outcome.get("status") or "FAILED")
            rec = derived.get(name, TaskRecord(name))
            error = (rec.error or outcome.get("error")) if status == "FAILED" else None
            records[name] = TaskRecord(
                name,
                status,
                rec.attempts,
                rec.started_at,
                rec.ended_at or (at if rec.started_at else None),
                error,
                rec.items,
            )
        for att in attempts:
            final = records.get(att.task)
            if att.status == "RUNNING" and final is not None and final.status != "SUCCEEDED":
                self._cut_off(
                    run_id,
                    att,
                    at,
                    str(final.error or "States.Timeout"),
                    "the state machine ended this attempt (timeout or abort)",
                )
        self._write_summaries(run_id, records.values())
        return records

    def _write_summaries(self, run_id: str, records: Iterable[TaskRecord]) -> None:
        requests = []
        for rec in records:
            item = {
                "pk": _s(f"RUN#{run_id}"),
                "sk": _s(f"TASK#{rec.name}"),
                "kind": _s("task"),
                "task": _s(rec.name),
                "status": _s(rec.status),
                "status_rank": _n(rank(rec.status)),
                "attempts": _n(rec.attempts),
            }
            for key in ("started_at", "ended_at", "error"):
                value = getattr(rec, key)
                if value is not None:
                    item[key] = _s(str(value))
            if rec.items is not None:
                item["items"] = _n(rec.items)
            requests.append({"PutRequest": {"Item": item}})
        for i in range(0, len(requests), 25):
            batch = {self.table: requests[i : i + 25]}
            while batch:
                resp = self.client.batch_write_item(RequestItems=batch)
                batch = resp.get("UnprocessedItems") or {}

    # -- joins ----------------------------------------------------------------------------

    def join_wait(self, run_id: str, task: str, token: str, needs: list[str]) -> dict[str, Any] | None:
        """Register a waiting task's token; returns the awaited results if all already arrived."""
        resp = self.client.update_item(
            TableName=self.table,
            Key={"pk": _s(f"RUN#{run_id}"), "sk": _s(f"JOIN#{task}")},
            UpdateExpression="SET #t = :t, needs = :n, kind = :k",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues={":t": _s(token), ":n": _s(json.dumps(needs)), ":k": _s("join")},
            ReturnValues="ALL_NEW",
        )
        return _join_ready(resp["Attributes"])

    def join_signal(self, run_id: str, task: str, result: Any, joins: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """Record a finished upstream task; returns (token, results) for every join now complete."""
        ready = []
        for join in joins:
            resp = self.client.update_item(
                TableName=self.table,
                Key={"pk": _s(f"RUN#{run_id}"), "sk": _s(f"JOIN#{join}")},
                UpdateExpression="SET #d = :d, kind = :k",
                ExpressionAttributeNames={"#d": f"done_{task}"},
                ExpressionAttributeValues={":d": _s(json.dumps(result)), ":k": _s("join")},
                ReturnValues="ALL_NEW",
            )
            attrs = resp["Attributes"]
            results = _join_ready(attrs)
            if results is not None:
                ready.append((attrs["token"]["S"], results))
        return ready


def _join_ready(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    if "token" not in attrs or "needs" not in attrs:
        return None
    needs = json.loads(attrs["needs"]["S"])
    if not all(f"done_{n}" in attrs for n in needs):
        return None
    return {n: json.loads(attrs[f"done_{n}"]["S"]) for n in needs}


def _attempt_item(
    run_id: str, task: str, attempt: int, index: int | None, status: str, started_at: str
) -> dict[str, Any]:
    item = {
        "pk": _s(f"RUN#{run_id}"),
        "sk": _s(_attempt_sk(task, attempt, index)),
        "kind": _s("attempt"),
        "task": _s(task),
        "attempt": _n(attempt),
        "status": _s(status),
        "status_rank": _n(rank(status)),
        "started_at": _s(started_at),
    }
    if index is not None:
        item["item_index"] = _n(index)
    return item


def _attempt_sk(task: str, attempt: int, index: int | None) -> str:
    base = f"ATTEMPT#{task}#{attempt:03d}"
    return base if index is None else f"{base}#{index:06d}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _opt(item: Mapping[str, Any], key: str) -> str | None:
    return item[key]["S"] if key in item else None


def _run_from_item(item: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        run_id=item["run_id"]["S"],
        workflow=item["workflow"]["S"],
        status=item["status"]["S"],
        created_at=item["created_at"]["S"],
        params=json.loads(item["params"]["S"]) if "params" in item else {},
        started_at=_opt(item, "started_at"),
        ended_at=_opt(item, "ended_at"),
        logical_date=_opt(item, "logical_date"),
        trigger=json.loads(item["trigger"]["S"]) if "trigger" in item else {},
        definition_hash=_opt(item, "definition_hash"),
        execution_arn=_opt(item, "execution_arn"),
        error=_opt(item, "error"),
    )


def _attempt_from_item(item: Mapping[str, Any]) -> Attempt:
    return Attempt(
        task=item["task"]["S"],
        attempt=int(item["attempt"]["N"]),
        status=item["status"]["S"],
        started_at=item.get("started_at", {}).get("S", ""),
        ended_at=_opt(item, "ended_at"),
        duration_ms=int(item["duration_ms"]["N"]) if "duration_ms" in item else None,
        error=_opt(item, "error"),
        message=_opt(item, "message"),
        index=int(item["item_index"]["N"]) if "item_index" in item else None,
    )


def _task_records(attempts: list[Attempt], summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, TaskRecord]:
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
            if att.index is None or rec.status not in ("FAILED",):
                rec.status = att.status if att.index is None else _merge_item_status(rec.status, att.status)
            if att.error:
                rec.error = f"{att.error}: {att.message}"[:300] if att.message else att.error
    for name, item in summaries.items():
        rec = records.setdefault(name, TaskRecord(name))
        rec.status = item["status"]["S"]
        rec.attempts = int(item["attempts"]["N"])
        rec.started_at = _opt(item, "started_at") or rec.started_at
        rec.ended_at = _opt(item, "ended_at") or rec.ended_at
        rec.error = _opt(item, "error")
        if "items" in item:
            rec.items = int(item["items"]["N"])
    return records


def _merge_item_status(current: str, new: str) -> str:
    order = {"PENDING": 0, "SUCCEEDED": 1, "RUNNING": 2, "FAILED": 3}
    return max(current, new, key=lambda s: order.get(s, 0))


def _ms_between(start: str, end: str) -> int:
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return 0
    return max(0, int((b - a).total_seconds() * 1000))
