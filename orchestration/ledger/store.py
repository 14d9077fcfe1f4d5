"""RunLedger: runs, task attempts and task summaries in the ledger table.

Writes are conditional on a status rank (queued/pending 0 < running 1 < terminal 2; for a run, in
each pass: a repair ranks above the pass it repairs), so a late or duplicated write never moves a
run, task or attempt backwards. A run is addressed by its workflow
and run id (its items sit under the workflow's key prefix, see `keys`); `find_runs` finds a run's
workflow from its id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import islice
from typing import Any

from orchestration.errors import LedgerError
from orchestration.ledger.codec import Item, encode, pages
from orchestration.ledger.joins import Joins
from orchestration.ledger.keys import (
    ATTEMPT_SK,
    BY_RUN,
    BY_STATUS,
    BY_WORKFLOW,
    LEGACY_RUN_PK,
    PK,
    RUN_SK,
    SK,
    STATUS_PK,
    TASK_SK,
    WORKFLOW_PK,
    Index,
    KeyPrefix,
    attempt_pk,
    run_key,
    run_pk,
)
from orchestration.ledger.records import (
    Attempt,
    RunRecord,
    TaskRecord,
    attempt_from_item,
    attempt_item,
    run_from_item,
    run_item,
    summary_from_item,
    summary_item,
    task_records,
)
from orchestration.status import RunStatus, TaskStatus, is_terminal, rank, run_rank
from orchestration.times import ms_between, now_iso

BATCH_SIZE = 25  # BatchWriteItem's limit
PARALLEL_READS = 8  # concurrent queries when a part's Finalize reads its tasks' attempts
IS_NEW = f"attribute_not_exists({PK})"
EXISTS = f"attribute_exists({PK})"


def _alerted(repair: int) -> str:
    """The run item's attribute claiming the failure alert of a pass."""
    return "alerted_at" if repair == 0 else f"alerted_at_r{repair}"


def _as_requested(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A repairs entry as stored: without the status and end that reading it adds."""
    return {k: v for k, v in entry.items() if k not in ("status", "ended_at")}


class RunLedger:
    """DynamoDB store for runs; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client
        self.joins = Joins(table_name, client)
        self._errors = client.exceptions

    # -- runs -----------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> bool:
        """Insert a run; False (and nothing written) when a run with that id already exists."""
        return self._put_new(run_item(run))

    def set_run_status(
        self,
        workflow: str,
        run_id: str,
        status: str,
        *,
        at: str | None = None,
        error: str | None = None,
        execution_arn: str | None = None,
        repair: int = 0,
    ) -> bool:
        """Move a run forward in pass `repair` (0: its first); False when the ledger already holds a
        status as advanced or later. A repair's start is in its `repairs` entry: `at` sets only its end."""
        names = {"#s": "status"}
        values: dict[str, str | int | None] = {":s": status, ":r": run_rank(status, repair), ":g": STATUS_PK(status)}
        sets = ["#s = :s", "status_rank = :r", f"{BY_STATUS.pk} = :g"]
        if at is not None and (repair == 0 or is_terminal(status)):
            sets.append(f"{'ended_at' if is_terminal(status) else 'started_at'} = :t")
            values[":t"] = at
        if error is not None:
            sets.append("#e = :e")
            names["#e"] = "error"
            values[":e"] = error
        if execution_arn is not None:
            sets.append("execution_arn = :x")
            values[":x"] = execution_arn
        if self._update_run(workflow, run_id, "SET " + ", ".join(sets), "status_rank < :r", names, values):
            return True
        if self.get_run_item(workflow, run_id) is None:
            raise LedgerError(f"run {run_id!r} of workflow {workflow!r} is not in the ledger table {self.table!r}")
        if at is not None and repair == 0 and not is_terminal(status):  # its start, as the ARN below
            self._set_once(workflow, run_id, "started_at", at)
        if execution_arn is not None:
            # The run already moved on (e.g. it finished before its starter recorded RUNNING):
            # keep the execution ARN anyway (a repair's, while the run is still in that repair).
            if repair == 0:
                self._set_once(workflow, run_id, "execution_arn", execution_arn)
            else:
                self._update_run(
                    workflow,
                    run_id,
                    "SET execution_arn = :x",
                    "#p = :p",
                    {"#p": "repair"},
                    {":x": execution_arn, ":p": repair},
                )
        return False

    def close_run(self, workflow: str, run_id: str, status: str, *, at: str, error: str, repair: int = 0) -> bool:
        """End a run (pass `repair`) that no finalize step ended (timeout, abort, a failure before any
        task ran): set its status and close every attempt still running as failed with `error`."""
        moved = self.set_run_status(workflow, run_id, status, at=at, error=error, repair=repair)
        for att in self._attempts(workflow, run_id):
            if att.status == TaskStatus.RUNNING:
                self._cut_off(
                    workflow,
                    run_id,
                    att,
                    at,
                    error.split(":", 1)[0],
                    f"the run ended ({status}) while this attempt was running",
                )
        return moved

    def begin_repair(
        self, run: RunRecord, entry: Mapping[str, Any], *, params: Mapping[str, Any], definition_hash: str | None
    ) -> bool:
        """Claim repair `entry["number"]` of `run` (read before, in a terminal status of the pass it is
        in): the run moves to QUEUED in the new pass with these params, its error and end cleared.
        False (nothing written) when the run is no longer as read, e.g. another repair claimed it."""
        number = int(entry["number"])
        repairs = [*(_as_requested(e) for e in run.repairs), dict(entry)]
        values: dict[str, str | int | None] = {
            ":s": RunStatus.QUEUED,
            ":r": run_rank(RunStatus.QUEUED, number),
            ":g": STATUS_PK(RunStatus.QUEUED),
            ":n": number,
            ":l": json.dumps(repairs, sort_keys=True),
            ":p": json.dumps(dict(params), sort_keys=True),
            ":h": definition_hash,
            ":was": run_rank(run.status, run.repair),
            ":old": run.status,
        }
        sets = f"#s = :s, status_rank = :r, {BY_STATUS.pk} = :g, #p = :n, repairs = :l, params = :p"
        sets += ", definition_hash = :h" if definition_hash is not None else ""
        update = f"SET {sets} REMOVE ended_at, #e, execution_arn"
        names = {"#s": "status", "#p": "repair", "#e": "error"}
        return self._update_run(run.workflow, run.run_id, update, "status_rank = :was AND #s = :old", names, values)

    def _cut_off(self, workflow: str, run_id: str, att: Attempt, at: str, error: str, message: str) -> None:
        """Close an attempt that was still running when something outside its code ended it."""
        duration_ms = ms_between(att.started_at, at) or 0
        self._put_final(
            workflow,
            run_id,
            replace(att, status=TaskStatus.FAILED, ended_at=at, duration_ms=duration_ms, error=error, message=message),
        )

    def _set_once(self, workflow: str, run_id: str, attribute: str, value: str) -> bool:
        return self._update_run(
            workflow, run_id, "SET #a = :v", "attribute_not_exists(#a)", {"#a": attribute}, {":v": value}
        )

    def _update_run(
        self,
        workflow: str,
        run_id: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: Mapping[str, str | int | None],
    ) -> bool:
        """Update the run's item if it exists and `condition` holds; False (nothing written) otherwise."""
        return self._conditional(
            self.client.update_item,
            Key=encode(run_key(workflow, run_id)),
            UpdateExpression=update,
            ConditionExpression=f"{EXISTS} AND {condition}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=encode(values),
        )

    def _conditional(self, write: Callable[..., Any], **request: Any) -> bool:
        """A conditional write to the table; False (nothing written) when its condition fails."""
        try:
            write(TableName=self.table, **request)
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def claim_alert(self, workflow: str, run_id: str, repair: int = 0) -> bool:
        """Claim the right to send the failure alert of the run's pass `repair`: True for exactly one caller."""
        return self._set_once(workflow, run_id, _alerted(repair), now_iso())

    def release_alert(self, workflow: str, run_id: str, repair: int = 0) -> None:
        """Give the claim back (the alert could not be sent) so a retried delivery can send it."""
        self.client.update_item(
            TableName=self.table,
            Key=encode(run_key(workflow, run_id)),
            UpdateExpression=f"REMOVE {_alerted(repair)}",
        )

    def get_run_item(self, workflow: str, run_id: str) -> RunRecord | None:
        """The run record alone, without its tasks (what the writers read: never the old layout,
        which a trigger or a task's function has no right to read)."""
        got = self.client.get_item(TableName=self.table, Key=encode(run_key(workflow, run_id)))
        return run_from_item(got["Item"]) if "Item" in got else None

    def _locate(self, workflow: str, run_id: str) -> tuple[RunRecord, str, str] | None:
        """The run record with its run and attempt partitions; a run of a ledger written before
        per-workflow partitions is found (read-only) in its old partition, which held both."""
        run = self.get_run_item(workflow, run_id)
        if run is not None:
            return run, run_pk(workflow, run_id), attempt_pk(workflow, run_id)
        legacy = LEGACY_RUN_PK(run_id)
        got = self.client.get_item(TableName=self.table, Key=encode({PK: legacy, SK: RUN_SK}))
        if "Item" in got and got["Item"].get("workflow") == {"S": workflow}:
            return run_from_item(got["Item"]), legacy, legacy
        return None

    def get_run(self, workflow: str, run_id: str, *, attempts: bool = True) -> RunRecord | None:
        """A run with its tasks; with `attempts=False` only the run and its final task summaries
        are read (what a finished run needs), not every attempt."""
        found = self._locate(workflow, run_id)
        if found is None:
            return None
        run, run_partition, attempt_partition = found
        summaries = [summary_from_item(item) for item in self.query_items(run_partition, TASK_SK)]
        if attempts or not summaries:
            run.attempts = [attempt_from_item(item) for item in self.query_items(attempt_partition, ATTEMPT_SK)]
        run.tasks = task_records(run.attempts, summaries)
        return run

    def find_runs(self, run_id: str) -> list[RunRecord]:
        """The run records with this id, whatever their workflow (oldest first). Scheduled and
        event run ids hash in their workflow; a run id given by hand may be used by two workflows."""
        resp = self.client.query(
            TableName=self.table,
            IndexName=BY_RUN.name,
            KeyConditionExpression=f"{BY_RUN.pk} = :p",
            ExpressionAttributeValues=encode({":p": run_id}),
        )
        return sorted((run_from_item(i) for i in resp["Items"]), key=lambda r: (r.created_at, r.workflow))

    def get_run_by_id(self, run_id: str, *, attempts: bool = True) -> RunRecord | None:
        """`get_run` knowing only the run id; LedgerError when two workflows have a run with it."""
        workflows = sorted({run.workflow for run in self.find_runs(run_id)})
        if len(workflows) > 1:
            raise LedgerError(f"run id {run_id!r} is used by workflows {', '.join(workflows)}: name the workflow")
        return self.get_run(workflows[0], run_id, attempts=attempts) if workflows else None

    def list_runs(self, workflow: str, *, limit: int = 20, since: str | None = None) -> list[RunRecord]:
        """Runs of a workflow, newest first (created at or after `since`, an ISO time, when given)."""
        return list(islice(self.index_runs(BY_WORKFLOW, WORKFLOW_PK(workflow), since=since, page=limit), limit))

    def runs_by_status(self, status: str, *, limit: int = 50, since: str | None = None) -> list[RunRecord]:
        """Runs with a status, newest first (created at or after `since`, an ISO time, when given)."""
        return list(islice(self.index_runs(BY_STATUS, STATUS_PK(status), since=since, page=limit), limit))

    def index_runs(
        self,
        index: Index,
        pk: str,
        *,
        since: str | None = None,
        where: Mapping[str, str] | None = None,
        page: int = 100,
    ) -> Iterator[RunRecord]:
        """The runs of an index partition newest first, read `page` items at a time as they are
        consumed: created at or after `since` (an ISO time), whose attributes equal `where`'s values."""
        condition = f"{index.pk} = :p"
        values: dict[str, str] = {":p": pk}
        kwargs: dict[str, Any] = {}
        if since is not None:
            condition += f" AND {index.sk} >= :since"
            values[":since"] = since
        if where:
            names = {f"#w{i}": attribute for i, attribute in enumerate(where)}
            kwargs["FilterExpression"] = " AND ".join(f"{n} = :w{i}" for i, n in enumerate(names))
            kwargs["ExpressionAttributeNames"] = names
            values |= {f":w{i}": value for i, value in enumerate(where.values())}
        kwargs |= {
            "TableName": self.table,
            "IndexName": index.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": encode(values),
            "ScanIndexForward": False,
            "Limit": page,
        }
        for resp in pages(self.client.query, **kwargs):
            yield from (run_from_item(i) for i in resp["Items"])

    def query_items(self, partition: str, prefix: KeyPrefix) -> list[Item]:
        """Every item of a partition whose sort key starts with `prefix`."""
        condition = f"{PK} = :p AND begins_with({SK}, :s)"
        values = encode({":p": partition, ":s": prefix.text})
        request = {"TableName": self.table, "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        return [item for resp in pages(self.client.query, **request) for item in resp["Items"]]

    def _attempts(self, workflow: str, run_id: str, prefix: KeyPrefix = ATTEMPT_SK) -> list[Attempt]:
        return [attempt_from_item(item) for item in self.query_items(attempt_pk(workflow, run_id), prefix)]

    def task_attempts(self, workflow: str, run_id: str, task: str) -> list[Attempt]:
        """The recorded attempts of one task of a run (items of a for-each included), in key order."""
        return self._attempts(workflow, run_id, KeyPrefix(ATTEMPT_SK(f"{task}#")))

    def _put_new(self, item: Item) -> bool:
        """Put an item that must not exist yet; False (nothing written) when it does."""
        return self._conditional(self.client.put_item, Item=item, ConditionExpression=IS_NEW)

    # -- attempts (the only items a task's function writes) -------------------------------

    def start_attempt(
        self, workflow: str, run_id: str, task: str, attempt: int, started_at: str, index: int | None = None
    ) -> bool:
        """Record a running attempt; False if this attempt was already recorded (duplicate delivery)."""
        att = Attempt(task, attempt, TaskStatus.RUNNING, started_at, index=index)
        return self._put_new(attempt_item(workflow, run_id, att))

    def end_attempt(
        self,
        workflow: str,
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
        output: Any = None,
        datasets: dict[str, list[str]] | None = None,
    ) -> bool:
        """Write an attempt's final record; never overwrites an attempt that is already terminal. `output` is
        what a succeeded attempt returned to the state (the value, or its artifact reference), `datasets` what
        it read and wrote. A whole-item put (no update expression): the task runtime may have skipped the
        running record for a short attempt, so this write must stand on its own."""
        att = Attempt(task, attempt, status, started_at, ended_at, duration_ms, error, message, index, output, datasets)
        return self._put_final(workflow, run_id, att)

    def _put_final(self, workflow: str, run_id: str, att: Attempt) -> bool:
        """Put an attempt's final record unless the ledger holds it as terminal already."""
        return self._conditional(
            self.client.put_item,
            Item=attempt_item(workflow, run_id, att),
            ConditionExpression=f"{IS_NEW} OR status_rank < :r",
            ExpressionAttributeValues=encode({":r": rank(att.status)}),
        )

    def finalize_tasks(
        self, workflow: str, run_id: str, outcomes: Mapping[str, Mapping[str, Any]], at: str, *, own: bool = False
    ) -> dict[str, TaskRecord]:
        """Write each task's final summary from the state machine's view; close dangling attempts.

        `outcomes` maps task -> {"status", "error"?, "output"?}. An attempt still running for a task
        that ended failed was cut off by the state machine (timeout); it is closed as failed with that
        error. A task that succeeded without any attempt and with the output [] is a for-each over no
        item: its summary says 0 items, so its output reads back as [].
        `own`: read only these tasks' attempts (a split workflow's part, not the whole run's).
        """
        if own:  # one query per task, a few at a time: a part's share of a run of thousands of tasks
            with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
                found = pool.map(lambda task: self.task_attempts(workflow, run_id, task), sorted(outcomes))
                attempts = [att for task_attempts in found for att in task_attempts]
        else:
            attempts = self._attempts(workflow, run_id)
        derived = task_records(attempts, [])
        records: dict[str, TaskRecord] = {}
        for name, outcome in sorted(outcomes.items()):
            status = str(outcome.get("status") or TaskStatus.FAILED)
            rec = derived.get(name, TaskRecord(name))
            error = (rec.error or outcome.get("error")) if status == TaskStatus.FAILED else None
            succeeded = status == TaskStatus.SUCCEEDED
            no_items = succeeded and not rec.attempts and outcome.get("output") == []
            records[name] = TaskRecord(
                name,
                status,
                rec.attempts,
                rec.started_at,
                rec.ended_at or (at if rec.started_at else None),
                error,
                0 if no_items else rec.items,
                ([] if no_items else rec.output) if succeeded else None,
            )
        for att in attempts:
            final = records.get(att.task)
            if att.status == TaskStatus.RUNNING and final is not None and final.status != TaskStatus.SUCCEEDED:
                self._cut_off(
                    workflow,
                    run_id,
                    att,
                    at,
                    str(final.error or "States.Timeout"),
                    "the state machine ended this attempt (timeout or abort)",
                )
        self._write_summaries(workflow, run_id, records.values())
        return records

    def _write_summaries(self, workflow: str, run_id: str, records: Iterable[TaskRecord]) -> None:
        requests = [{"PutRequest": {"Item": summary_item(workflow, run_id, rec)}} for rec in records]
        for i in range(0, len(requests), BATCH_SIZE):
            batch = {self.table: requests[i : i + BATCH_SIZE]}
            while batch:
                resp = self.client.batch_write_item(RequestItems=batch)
                batch = resp.get("UnprocessedItems") or {}

    # -- joins ----------------------------------------------------------------------------

    def join_wait(
        self, workflow: str, run_id: str, task: str, token: str, needs: list[str], repair: int = 0
    ) -> dict[str, Any] | None:
        """Register a waiting task's token; returns the awaited results if all already arrived."""
        return self.joins.wait(workflow, run_id, task, token, needs, repair)

    def join_signal(
        self, workflow: str, run_id: str, task: str, result: Any, joins: list[str], repair: int = 0
    ) -> list[tuple[str, dict[str, Any]]]:
        """Record a finished upstream task; returns (token, results) for every join now complete."""
        return self.joins.signal(workflow, run_id, task, result, joins, repair)
