"""The ledger's stored item layout and DynamoDB call patterns, pinned exactly.

Ledgers already written must keep reading correctly, and correctness under races depends on the
conditional writes: these tests fail on any change to an attribute name, a DynamoDB type, a key or
a condition. The expected values were recorded from the ledger before it became a package.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from orchestration.errors import LedgerError
from orchestration.ledger import Attempt, RunLedger, RunRecord, TaskRecord
from orchestration.ledger.keys import BY_WORKFLOW

Call = tuple[str, dict[str, Any]]
Item = dict[str, dict[str, str]]
T0 = "2026-01-02T03:04:05.678Z"
T1 = "2026-01-02T03:04:06.100Z"
T2 = "2026-01-02T03:04:07.350Z"
T_END = "2026-01-02T03:05:00.000Z"


class ConditionFailed(Exception):
    pass


class Cancelled(Exception):
    """A TransactWriteItems refused: one cancellation reason per write, in order."""

    def __init__(self, *codes: str) -> None:
        super().__init__("cancelled")
        self.response = {"CancellationReasons": [{"Code": c} for c in codes]}


class FakeDynamo:
    """A DynamoDB client stand-in: records each call; `replies[operation]` holds its next answers
    (an exception is raised instead of returned). Only `OPERATIONS` exist (None: any)."""

    OPERATIONS: tuple[str, ...] | None = ("put_item", "update_item", "get_item", "query", "batch_write_item")

    def __init__(self, **replies: list[Any]) -> None:
        self.calls: list[Call] = []
        self.replies = replies
        self.exceptions = SimpleNamespace(
            ConditionalCheckFailedException=ConditionFailed, TransactionCanceledException=Cancelled
        )

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((operation, kwargs))
        queue = self.replies.get(operation)
        reply = queue.pop(0) if queue else {}
        if isinstance(reply, Exception):
            raise reply
        return reply

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if self.OPERATIONS is not None and operation not in self.OPERATIONS:
            raise AttributeError(operation)
        return lambda **kwargs: self._call(operation, kwargs)


def typed(values: dict[str, str | int]) -> Item:
    """`values` as DynamoDB types them: a str is {"S": str}, an int {"N": its digits}."""
    return {name: {"S": v} if isinstance(v, str) else {"N": str(v)} for name, v in values.items()}


NEW = "attribute_not_exists(pk)"
FINAL = "attribute_not_exists(pk) OR status_rank < :r"
ONCE = "attribute_exists(pk) AND attribute_not_exists(#a)"


def put(item: Item, condition: str = NEW) -> Call:
    """A conditional put_item; a final attempt only replaces one of a lower status rank."""
    call = {"TableName": "T", "Item": item, "ConditionExpression": condition}
    return "put_item", call | ({"ExpressionAttributeValues": typed({":r": 2})} if condition == FINAL else {})


def update(key: Item, expression: str, **more: Any) -> Call:
    return "update_item", {"TableName": "T", "Key": key, "UpdateExpression": expression, **more}


RUN_ITEM = typed(
    {
        "pk": "WF#etl#RUN#r1",
        "sk": "RUN",
        "kind": "run",
        "run_id": "r1",
        "workflow": "etl",
        "status": "QUEUED",
        "status_rank": 0,
        "created_at": T0,
        "params": '{"a": [1, "x"], "b": 2}',
        "trigger": '{"id": "s", "kind": "schedule"}',
        "gsi1pk": "WF#etl",
        "gsi1sk": f"{T0}#r1",
        "gsi2pk": "STATUS#QUEUED",
        "gsi2sk": f"{T0}#r1",
        "logical_date": "2026-01-02",
        "definition_hash": "abc",
    }
)
RUN = RunRecord(
    run_id="r1",
    workflow="etl",
    status="QUEUED",
    created_at=T0,
    params={"b": 2, "a": [1, "x"]},
    logical_date="2026-01-02",
    trigger={"kind": "schedule", "id": "s"},
    definition_hash="abc",
)
RUN_KEY = typed({"pk": "WF#etl#RUN#r1", "sk": "RUN"})
FAILED_ATTEMPT_ITEM = typed(
    {
        "pk": "WF#etl#ATTEMPT#r1",
        "sk": "ATTEMPT#extract#001",
        "kind": "attempt",
        "task": "extract",
        "attempt": 1,
        "status": "FAILED",
        "status_rank": 2,
        "started_at": T1,
        "ended_at": T2,
        "duration_ms": 1250,
        "error": "ValueError",
        "message": "bad",
    }
)
RUNNING_ITEM_ATTEMPT = typed(
    {
        "pk": "WF#etl#ATTEMPT#r1",
        "sk": "ATTEMPT#fan#001#000007",
        "kind": "attempt",
        "task": "fan",
        "attempt": 1,
        "status": "RUNNING",
        "status_rank": 1,
        "started_at": T1,
        "item_index": 7,
    }
)
SUMMARY_ITEMS = [
    typed(
        {
            "pk": "WF#etl#RUN#r1",
            "sk": "TASK#extract",
            "kind": "task",
            "task": "extract",
            "status": "FAILED",
            "status_rank": 2,
            "attempts": 1,
            "started_at": T1,
            "ended_at": T2,
            "error": "ValueError: bad",
        }
    ),
    typed(
        {
            "pk": "WF#etl#RUN#r1",
            "sk": "TASK#fan",
            "kind": "task",
            "task": "fan",
            "status": "FAILED",
            "status_rank": 2,
            "attempts": 1,
            "started_at": T1,
            "ended_at": T_END,
            "items": 1,
        }
    ),
    typed(
        {
            "pk": "WF#etl#RUN#r1",
            "sk": "TASK#skipped",
            "kind": "task",
            "task": "skipped",
            "status": "SKIPPED",
            "status_rank": 2,
            "attempts": 0,
        }
    ),
]
FINAL_RECORDS = {
    "extract": TaskRecord("extract", "FAILED", 1, T1, T2, "ValueError: bad", None),
    "fan": TaskRecord("fan", "FAILED", 1, T1, T_END, None, 1),
    "skipped": TaskRecord("skipped", "SKIPPED", 0, None, None, None, None),
}


def test_a_run_item() -> None:
    client = FakeDynamo()
    assert RunLedger("T", client).create_run(RUN) is True
    assert client.calls == [put(RUN_ITEM)]


def test_a_child_run_item_adds_its_parent_and_reads_back() -> None:
    child = RunRecord(
        run_id="r1.load.2",
        workflow="load",
        status="QUEUED",
        created_at=T0,
        trigger={"type": "workflow", "parent_run_id": "r1", "parent_task": "load"},
        parent_run_id="r1",
        parent_workflow="etl",
        parent_task="load",
    )
    client = FakeDynamo()
    RunLedger("T", client).create_run(child)
    item = client.calls[0][1]["Item"]
    assert {k: item[k] for k in ("parent_run_id", "parent_workflow", "parent_task")} == typed(
        {"parent_run_id": "r1", "parent_workflow": "etl", "parent_task": "load"}
    )
    assert item["trigger"] == {"S": '{"parent_run_id": "r1", "parent_task": "load", "type": "workflow"}'}
    read = RunLedger("T", FakeDynamo(get_item=[{"Item": item}])).get_run_item("load", "r1.load.2")
    assert read == child


def test_a_run_id_taken_writes_nothing() -> None:
    client = FakeDynamo(put_item=[ConditionFailed()])
    assert RunLedger("T", client).create_run(RUN) is False


def test_a_run_status_update() -> None:
    client = FakeDynamo()
    ledger = RunLedger("T", client)
    assert ledger.set_run_status("etl", "r1", "RUNNING", at=T1, execution_arn="arn:x") is True
    assert ledger.set_run_status("etl", "r1", "FAILED", at=T2, error="tasks failed: a") is True
    condition = "attribute_exists(pk) AND status_rank < :r"
    assert client.calls == [
        update(
            RUN_KEY,
            "SET #s = :s, status_rank = :r, gsi2pk = :g, started_at = :t, execution_arn = :x",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=typed(
                {":s": "RUNNING", ":r": 1, ":g": "STATUS#RUNNING", ":t": T1, ":x": "arn:x"}
            ),
        ),
        update(
            RUN_KEY,
            "SET #s = :s, status_rank = :r, gsi2pk = :g, ended_at = :t, #e = :e",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status", "#e": "error"},
            ExpressionAttributeValues=typed(
                {":s": "FAILED", ":r": 2, ":g": "STATUS#FAILED", ":t": T2, ":e": "tasks failed: a"}
            ),
        ),
    ]


def test_a_stale_status_keeps_the_execution_arn_once() -> None:
    client = FakeDynamo(update_item=[ConditionFailed()], get_item=[{"Item": RUN_ITEM}])
    assert RunLedger("T", client).set_run_status("etl", "r1", "RUNNING", execution_arn="arn:x") is False
    assert client.calls[1:] == [
        ("get_item", {"TableName": "T", "Key": RUN_KEY}),
        update(
            RUN_KEY,
            "SET #a = :v",
            ConditionExpression=ONCE,
            ExpressionAttributeNames={"#a": "execution_arn"},
            ExpressionAttributeValues=typed({":v": "arn:x"}),
        ),
    ]


def test_a_status_for_a_missing_run_is_an_error() -> None:
    client = FakeDynamo(update_item=[ConditionFailed()], get_item=[{}])
    with pytest.raises(LedgerError, match="run 'r1' of workflow 'etl' is not in the ledger table 'T'"):
        RunLedger("T", client).set_run_status("etl", "r1", "RUNNING")


def test_the_alert_claim() -> None:
    client = FakeDynamo(update_item=[{}, ConditionFailed(), {}])
    ledger = RunLedger("T", client)
    assert ledger.claim_alert("etl", "r1") is True
    assert ledger.claim_alert("etl", "r1") is False
    ledger.release_alert("etl", "r1")
    claim = client.calls[0][1]
    assert claim["ConditionExpression"] == ONCE
    assert claim["ExpressionAttributeNames"] == {"#a": "alerted_at"}
    assert list(claim["ExpressionAttributeValues"][":v"]) == ["S"]
    assert client.calls[2] == update(RUN_KEY, "REMOVE alerted_at")


def test_attempt_items() -> None:
    client = FakeDynamo()
    ledger = RunLedger("T", client)
    assert ledger.start_attempt("etl", "r1", "extract", 1, T1) is True
    assert ledger.start_attempt("etl", "r1", "fan", 2, T1, index=7) is True
    long = "bad " * 600
    ledger.end_attempt(
        "etl",
        "r1",
        "extract",
        1,
        "FAILED",
        started_at=T1,
        ended_at=T2,
        duration_ms=1250,
        error="ValueError",
        message=long,
    )
    output = {"z": [1, "é"], "a": None}
    ledger.end_attempt(
        "etl", "r1", "fan", 2, "SUCCEEDED", started_at="s", ended_at="e", duration_ms=0, index=7, output=output
    )
    running = {k: v for k, v in FAILED_ATTEMPT_ITEM.items() if k not in ("ended_at", "duration_ms", "error", "message")}
    running |= typed({"status": "RUNNING", "status_rank": 1})
    fan = RUNNING_ITEM_ATTEMPT | typed({"sk": "ATTEMPT#fan#002#000007", "attempt": 2})
    # a succeeded attempt's output: a JSON string, compact, its keys in their own order
    fan_done = fan | typed(
        {
            "status": "SUCCEEDED",
            "status_rank": 2,
            "started_at": "s",
            "ended_at": "e",
            "duration_ms": 0,
            "output": '{"z":[1,"é"],"a":null}',
        }
    )
    assert client.calls == [
        put(running),
        put(fan),
        put(FAILED_ATTEMPT_ITEM | typed({"message": long[:2000]}), FINAL),
        put(fan_done, FINAL),
    ]


def test_task_summary_items_and_cut_off_attempts() -> None:
    client = FakeDynamo(query=[{"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}])
    outcomes = {
        "extract": {"status": "FAILED", "error": "States.TaskFailed"},
        "fan": {"status": "FAILED"},
        "skipped": {"status": "SKIPPED"},
    }
    assert RunLedger("T", client).finalize_tasks("etl", "r1", outcomes, T_END) == FINAL_RECORDS
    cut_off = RUNNING_ITEM_ATTEMPT | typed(
        {
            "status": "FAILED",
            "status_rank": 2,
            "ended_at": T_END,
            "duration_ms": 53900,
            "error": "States.Timeout",
            "message": "the state machine ended this attempt (timeout or abort)",
        }
    )
    assert client.calls == [
        (
            "query",
            {
                "TableName": "T",
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": typed({":p": "WF#etl#ATTEMPT#r1", ":s": "ATTEMPT#"}),
            },
        ),
        put(cut_off, FINAL),
        ("batch_write_item", {"RequestItems": {"T": [{"PutRequest": {"Item": item}} for item in SUMMARY_ITEMS]}}),
    ]


def test_a_parts_finalize_reads_only_its_own_tasks_attempts() -> None:
    client = FakeDynamo(query=[{"Items": []}] * 3)
    outcomes = {name: {"status": "SKIPPED"} for name in ("b", "a", "c")}
    RunLedger("T", client).finalize_tasks("etl", "r1", outcomes, T_END, own=True)
    queried = sorted(call[1]["ExpressionAttributeValues"][":s"]["S"] for call in client.calls if call[0] == "query")
    assert queried == ["ATTEMPT#a#", "ATTEMPT#b#", "ATTEMPT#c#"]


def test_summaries_are_written_25_at_a_time_until_none_is_unprocessed() -> None:
    leftover: dict[str, Any] = {"T": [{"PutRequest": {"Item": {}}}]}
    client = FakeDynamo(query=[{"Items": []}], batch_write_item=[{"UnprocessedItems": leftover}, {}, {}])
    RunLedger("T", client).finalize_tasks("etl", "r1", {f"t{i:02d}": {"status": "SKIPPED"} for i in range(30)}, T_END)
    batches = [kwargs["RequestItems"] for op, kwargs in client.calls if op == "batch_write_item"]
    assert [len(b["T"]) for b in batches] == [25, 1, 5]
    assert batches[1] == leftover


def test_items_read_back_as_records() -> None:
    client = FakeDynamo(
        get_item=[{"Item": RUN_ITEM | {"started_at": {"S": T1}, "execution_arn": {"S": "arn:x"}}}],
        query=[{"Items": SUMMARY_ITEMS[:1]}, {"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}],
    )
    run = RunLedger("T", client).get_run("etl", "r1")
    assert run is not None
    assert (run.run_id, run.workflow, run.status, run.created_at) == ("r1", "etl", "QUEUED", T0)
    assert (run.params, run.trigger) == ({"a": [1, "x"], "b": 2}, {"id": "s", "kind": "schedule"})
    assert (run.started_at, run.ended_at, run.logical_date) == (T1, None, "2026-01-02")
    assert (run.definition_hash, run.execution_arn, run.error) == ("abc", "arn:x", None)
    assert run.attempts == [
        Attempt("extract", 1, "FAILED", T1, T2, 1250, "ValueError", "bad"),
        Attempt("fan", 1, "RUNNING", T1, index=7),
    ]
    assert all(type(a.attempt) is int and type(a.index or 0) is int for a in run.attempts)
    assert type(run.attempts[0].duration_ms) is int
    assert run.tasks == {
        "extract": TaskRecord("extract", "FAILED", 1, T1, T2, "ValueError: bad"),
        "fan": TaskRecord("fan", "RUNNING", 1, T1, None, None, 1),
    }
    assert [op for op, _ in client.calls] == ["get_item", "query", "query"]
    assert client.calls[1][1]["ExpressionAttributeValues"][":s"] == {"S": "TASK#"}


def test_one_task_s_attempts() -> None:
    client = FakeDynamo(query=[{"Items": [FAILED_ATTEMPT_ITEM]}])
    assert RunLedger("T", client).task_attempts("etl", "r1", "extract") == [
        Attempt("extract", 1, "FAILED", T1, T2, 1250, "ValueError", "bad")
    ]
    query = client.calls[0][1]
    assert query["ExpressionAttributeValues"] == typed({":p": "WF#etl#ATTEMPT#r1", ":s": "ATTEMPT#extract#"})


def test_a_finished_run_reads_its_summaries_only() -> None:
    client = FakeDynamo(get_item=[{"Item": RUN_ITEM}], query=[{"Items": SUMMARY_ITEMS}])
    run = RunLedger("T", client).get_run("etl", "r1", attempts=False)
    assert run is not None
    assert run.attempts == []
    assert run.tasks == FINAL_RECORDS
    assert type(run.tasks["fan"].items) is int
    assert len(client.calls) == 2


@pytest.mark.parametrize(
    ("read", "index", "key", "value", "limit"),
    [
        (lambda ledger: ledger.list_runs("etl"), "by_workflow", "gsi1pk", "WF#etl", 20),
        (lambda ledger: ledger.runs_by_status("RUNNING", limit=5), "by_status", "gsi2pk", "STATUS#RUNNING", 5),
    ],
)
def test_run_queries_by_workflow_and_status(
    read: Callable[[RunLedger], list[RunRecord]], index: str, key: str, value: str, limit: int
) -> None:
    client = FakeDynamo(query=[{"Items": [RUN_ITEM]}])
    assert [r.run_id for r in read(RunLedger("T", client))] == ["r1"]
    query = {
        "TableName": "T",
        "IndexName": index,
        "KeyConditionExpression": f"{key} = :p",
        "ExpressionAttributeValues": typed({":p": value}),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    assert client.calls == [("query", query)]


def test_index_runs_pages_as_consumed_from_a_time_with_filters() -> None:
    r2 = {**RUN_ITEM, "run_id": {"S": "r2"}}
    client = FakeDynamo(query=[{"Items": [RUN_ITEM], "LastEvaluatedKey": {"k": {"S": "1"}}}, {"Items": [r2]}])
    ledger = RunLedger("T", client)
    runs = ledger.index_runs(
        BY_WORKFLOW, "WF#etl", since="2026-01-01T00:00:00.000Z", where={"status": "QUEUED"}, page=1
    )
    assert next(runs).run_id == "r1"
    assert len(client.calls) == 1  # the next page is read when it is needed
    assert [r.run_id for r in runs] == ["r2"]
    first = {
        "TableName": "T",
        "IndexName": "by_workflow",
        "KeyConditionExpression": "gsi1pk = :p AND gsi1sk >= :since",
        "FilterExpression": "#w0 = :w0",
        "ExpressionAttributeNames": {"#w0": "status"},
        "ExpressionAttributeValues": typed({":p": "WF#etl", ":since": "2026-01-01T00:00:00.000Z", ":w0": "QUEUED"}),
        "ScanIndexForward": False,
        "Limit": 1,
    }
    assert client.calls == [("query", first), ("query", {**first, "ExclusiveStartKey": {"k": {"S": "1"}}})]


def test_join_items() -> None:
    load, other = typed({"pk": "WF#etl#RUN#r1", "sk": "JOIN#load"}), typed({"pk": "WF#etl#RUN#r1", "sk": "JOIN#other"})
    join = load | typed({"kind": "join", "token": "tok", "needs": '["a", "b"]', "done_a": '{"status": "SUCCEEDED"}'})
    done_b = typed({"done_b": '{"status": "FAILED", "x": [1]}'})
    client = FakeDynamo(
        update_item=[
            {"Attributes": join},
            {"Attributes": join | done_b},
            {"Attributes": other | done_b | typed({"kind": "join"})},
        ]
    )
    ledger = RunLedger("T", client)
    assert ledger.join_wait("etl", "r1", "load", "tok", ["a", "b"]) is None
    results = {"a": {"status": "SUCCEEDED"}, "b": {"status": "FAILED", "x": [1]}}
    assert ledger.join_signal("etl", "r1", "b", {"status": "FAILED", "x": [1]}, ["load", "other"]) == [("tok", results)]
    signal = {
        "ExpressionAttributeNames": {"#d": "done_b"},
        "ExpressionAttributeValues": typed({":d": '{"status": "FAILED", "x": [1]}', ":k": "join"}),
        "ReturnValues": "ALL_NEW",
    }
    assert client.calls == [
        update(
            load,
            "SET #t = :t, needs = :n, kind = :k",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues=typed({":t": "tok", ":n": '["a", "b"]', ":k": "join"}),
            ReturnValues="ALL_NEW",
        ),
        update(load, "SET #d = :d, kind = :k", **signal),
        update(other, "SET #d = :d, kind = :k", **signal),
    ]


def test_a_wait_after_every_signal_releases_at_once() -> None:
    done = typed({"token": "tok", "needs": '["a"]', "done_a": "3", "done_z": "null"})
    client = FakeDynamo(update_item=[{"Attributes": done}])
    assert RunLedger("T", client).join_wait("etl", "r1", "load", "tok", ["a"]) == {"a": 3}


def test_close_run_cuts_off_running_attempts() -> None:
    client = FakeDynamo(query=[{"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}])
    assert (
        RunLedger("T", client).close_run("etl", "r1", "TIMED_OUT", at=T_END, error="States.Timeout: too slow") is True
    )
    ops = [op for op, _ in client.calls]
    assert ops == ["update_item", "query", "put_item"]
    cut = client.calls[2][1]["Item"]
    assert cut["sk"] == {"S": "ATTEMPT#fan#001#000007"}
    assert cut["error"] == {"S": "States.Timeout"}
    assert cut["message"] == {"S": "the run ended (TIMED_OUT) while this attempt was running"}
    assert cut["duration_ms"] == {"N": "53900"}


def test_an_attempt_with_an_unreadable_start_lasts_zero_ms() -> None:
    bare = {k: v for k, v in RUNNING_ITEM_ATTEMPT.items() if k != "started_at"}
    client = FakeDynamo(query=[{"Items": [bare]}])
    RunLedger("T", client).close_run("etl", "r1", "ABORTED", at=T_END, error="aborted")
    cut = client.calls[2][1]["Item"]
    assert (cut["started_at"], cut["duration_ms"]) == ({"S": ""}, {"N": "0"})


def _legacy(item: Item) -> Item:
    """An item as the ledger wrote it before per-workflow partitions: pk = RUN#<run_id> for all."""
    return item | typed({"pk": "RUN#r1"})


def test_a_run_of_the_old_layout_reads_from_its_old_partition() -> None:
    client = FakeDynamo(
        get_item=[{}, {"Item": _legacy(RUN_ITEM)}],
        query=[{"Items": [_legacy(SUMMARY_ITEMS[0])]}, {"Items": [_legacy(FAILED_ATTEMPT_ITEM)]}],
    )
    run = RunLedger("T", client).get_run("etl", "r1")
    assert run is not None and run.run_id == "r1" and run.workflow == "etl"
    assert run.tasks["extract"].status == "FAILED" and run.attempts[0].error == "ValueError"
    assert [kwargs["Key"]["pk"]["S"] for op, kwargs in client.calls if op == "get_item"] == ["WF#etl#RUN#r1", "RUN#r1"]
    assert [kwargs["ExpressionAttributeValues"][":p"]["S"] for op, kwargs in client.calls if op == "query"] == [
        "RUN#r1",
        "RUN#r1",
    ]


def test_an_old_layout_run_of_another_workflow_is_not_this_workflow_s() -> None:
    client = FakeDynamo(get_item=[{}, {"Item": _legacy(RUN_ITEM)}])
    assert RunLedger("T", client).get_run("other", "r1") is None


def test_find_a_run_by_its_id_alone() -> None:
    client = FakeDynamo(query=[{"Items": [RUN_ITEM]}])
    assert [r.workflow for r in RunLedger("T", client).find_runs("r1")] == ["etl"]
    assert client.calls == [
        (
            "query",
            {
                "TableName": "T",
                "IndexName": "by_run",
                "KeyConditionExpression": "run_id = :p",
                "ExpressionAttributeValues": typed({":p": "r1"}),
            },
        )
    ]


def test_a_run_id_two_workflows_use_must_be_named_with_its_workflow() -> None:
    other = RUN_ITEM | typed({"pk": "WF#load#RUN#r1", "workflow": "load"})
    client = FakeDynamo(query=[{"Items": [RUN_ITEM, other]}])
    with pytest.raises(LedgerError, match="run id 'r1' is used by workflows etl, load: name the workflow"):
        RunLedger("T", client).get_run_by_id("r1")
