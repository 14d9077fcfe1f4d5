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

Call = tuple[str, dict[str, Any]]
T0 = "2026-01-02T03:04:05.678Z"
T1 = "2026-01-02T03:04:06.100Z"
T2 = "2026-01-02T03:04:07.350Z"
T_END = "2026-01-02T03:05:00.000Z"


class ConditionFailed(Exception):
    pass


class FakeDynamo:
    """A DynamoDB client stand-in: records each call; `replies[operation]` holds its next answers
    (an exception is raised instead of returned)."""

    def __init__(self, **replies: list[Any]) -> None:
        self.calls: list[Call] = []
        self.replies = replies
        self.exceptions = SimpleNamespace(ConditionalCheckFailedException=ConditionFailed)

    def _call(self, operation: str, kwargs: dict[str, Any]) -> Any:
        self.calls.append((operation, kwargs))
        queue = self.replies.get(operation)
        reply = queue.pop(0) if queue else {}
        if isinstance(reply, Exception):
            raise reply
        return reply

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        if operation not in ("put_item", "update_item", "get_item", "query", "batch_write_item"):
            raise AttributeError(operation)
        return lambda **kwargs: self._call(operation, kwargs)


RUN_ITEM = {
    "pk": {"S": "RUN#r1"},
    "sk": {"S": "RUN"},
    "kind": {"S": "run"},
    "run_id": {"S": "r1"},
    "workflow": {"S": "etl"},
    "status": {"S": "QUEUED"},
    "status_rank": {"N": "0"},
    "created_at": {"S": T0},
    "params": {"S": '{"a": [1, "x"], "b": 2}'},
    "trigger": {"S": '{"id": "s", "kind": "schedule"}'},
    "gsi1pk": {"S": "WF#etl"},
    "gsi1sk": {"S": f"{T0}#r1"},
    "gsi2pk": {"S": "STATUS#QUEUED"},
    "gsi2sk": {"S": f"{T0}#r1"},
    "logical_date": {"S": "2026-01-02"},
    "definition_hash": {"S": "abc"},
}
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
RUN_KEY = {"pk": {"S": "RUN#r1"}, "sk": {"S": "RUN"}}
FAILED_ATTEMPT_ITEM = {
    "pk": {"S": "RUN#r1"},
    "sk": {"S": "ATTEMPT#extract#001"},
    "kind": {"S": "attempt"},
    "task": {"S": "extract"},
    "attempt": {"N": "1"},
    "status": {"S": "FAILED"},
    "status_rank": {"N": "2"},
    "started_at": {"S": T1},
    "ended_at": {"S": T2},
    "duration_ms": {"N": "1250"},
    "error": {"S": "ValueError"},
    "message": {"S": "bad"},
}
RUNNING_ITEM_ATTEMPT = {
    "pk": {"S": "RUN#r1"},
    "sk": {"S": "ATTEMPT#fan#001#000007"},
    "kind": {"S": "attempt"},
    "task": {"S": "fan"},
    "attempt": {"N": "1"},
    "status": {"S": "RUNNING"},
    "status_rank": {"N": "1"},
    "started_at": {"S": T1},
    "item_index": {"N": "7"},
}
SUMMARY_ITEMS = [
    {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "TASK#extract"},
        "kind": {"S": "task"},
        "task": {"S": "extract"},
        "status": {"S": "FAILED"},
        "status_rank": {"N": "2"},
        "attempts": {"N": "1"},
        "started_at": {"S": T1},
        "ended_at": {"S": T2},
        "error": {"S": "ValueError: bad"},
    },
    {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "TASK#fan"},
        "kind": {"S": "task"},
        "task": {"S": "fan"},
        "status": {"S": "FAILED"},
        "status_rank": {"N": "2"},
        "attempts": {"N": "1"},
        "started_at": {"S": T1},
        "ended_at": {"S": T_END},
        "items": {"N": "1"},
    },
    {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "TASK#skipped"},
        "kind": {"S": "task"},
        "task": {"S": "skipped"},
        "status": {"S": "SKIPPED"},
        "status_rank": {"N": "2"},
        "attempts": {"N": "0"},
    },
]
FINAL_RECORDS = {
    "extract": TaskRecord("extract", "FAILED", 1, T1, T2, "ValueError: bad", None),
    "fan": TaskRecord("fan", "FAILED", 1, T1, T_END, None, 1),
    "skipped": TaskRecord("skipped", "SKIPPED", 0, None, None, None, None),
}


def test_a_run_item() -> None:
    client = FakeDynamo()
    assert RunLedger("T", client).create_run(RUN) is True
    assert client.calls == [
        ("put_item", {"TableName": "T", "Item": RUN_ITEM, "ConditionExpression": "attribute_not_exists(pk)"})
    ]


def test_a_run_id_taken_writes_nothing() -> None:
    client = FakeDynamo(put_item=[ConditionFailed()])
    assert RunLedger("T", client).create_run(RUN) is False


def test_a_run_status_update() -> None:
    client = FakeDynamo()
    ledger = RunLedger("T", client)
    assert ledger.set_run_status("r1", "RUNNING", at=T1, execution_arn="arn:x") is True
    assert ledger.set_run_status("r1", "FAILED", at=T2, error="tasks failed: a") is True
    condition = "attribute_exists(pk) AND status_rank < :r"
    assert client.calls == [
        (
            "update_item",
            {
                "TableName": "T",
                "Key": RUN_KEY,
                "UpdateExpression": "SET #s = :s, status_rank = :r, gsi2pk = :g, started_at = :t, execution_arn = :x",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":s": {"S": "RUNNING"},
                    ":r": {"N": "1"},
                    ":g": {"S": "STATUS#RUNNING"},
                    ":t": {"S": T1},
                    ":x": {"S": "arn:x"},
                },
            },
        ),
        (
            "update_item",
            {
                "TableName": "T",
                "Key": RUN_KEY,
                "UpdateExpression": "SET #s = :s, status_rank = :r, gsi2pk = :g, ended_at = :t, #e = :e",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                "ExpressionAttributeValues": {
                    ":s": {"S": "FAILED"},
                    ":r": {"N": "2"},
                    ":g": {"S": "STATUS#FAILED"},
                    ":t": {"S": T2},
                    ":e": {"S": "tasks failed: a"},
                },
            },
        ),
    ]


def test_a_stale_status_keeps_the_execution_arn_once() -> None:
    client = FakeDynamo(update_item=[ConditionFailed()], get_item=[{"Item": RUN_ITEM}])
    assert RunLedger("T", client).set_run_status("r1", "RUNNING", execution_arn="arn:x") is False
    assert client.calls[1:] == [
        ("get_item", {"TableName": "T", "Key": RUN_KEY}),
        (
            "update_item",
            {
                "TableName": "T",
                "Key": RUN_KEY,
                "UpdateExpression": "SET #a = :v",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#a)",
                "ExpressionAttributeNames": {"#a": "execution_arn"},
                "ExpressionAttributeValues": {":v": {"S": "arn:x"}},
            },
        ),
    ]


def test_a_status_for_a_missing_run_is_an_error() -> None:
    client = FakeDynamo(update_item=[ConditionFailed()], get_item=[{}])
    with pytest.raises(LedgerError, match="run 'r1' is not in the ledger table 'T'"):
        RunLedger("T", client).set_run_status("r1", "RUNNING")


def test_the_alert_claim() -> None:
    client = FakeDynamo(update_item=[{}, ConditionFailed(), {}])
    ledger = RunLedger("T", client)
    assert ledger.claim_alert("r1") is True
    assert ledger.claim_alert("r1") is False
    ledger.release_alert("r1")
    claim = client.calls[0][1]
    assert claim["ConditionExpression"] == "attribute_exists(pk) AND attribute_not_exists(#a)"
    assert claim["ExpressionAttributeNames"] == {"#a": "alerted_at"}
    assert list(claim["ExpressionAttributeValues"][":v"]) == ["S"]
    assert client.calls[2] == (
        "update_item",
        {"TableName": "T", "Key": RUN_KEY, "UpdateExpression": "REMOVE alerted_at"},
    )


def test_attempt_items() -> None:
    client = FakeDynamo()
    ledger = RunLedger("T", client)
    assert ledger.start_attempt("r1", "extract", 1, T1) is True
    assert ledger.start_attempt("r1", "fan", 2, T1, index=7) is True
    long = "bad " * 600
    ledger.end_attempt(
        "r1", "extract", 1, "FAILED", started_at=T1, ended_at=T2, duration_ms=1250, error="ValueError", message=long
    )
    ledger.end_attempt("r1", "fan", 2, "SUCCEEDED", started_at="s", ended_at="e", duration_ms=0, index=7)
    new = "attribute_not_exists(pk)"
    final = "attribute_not_exists(pk) OR status_rank < :r"
    running = {k: v for k, v in FAILED_ATTEMPT_ITEM.items() if k not in ("ended_at", "duration_ms", "error", "message")}
    running |= {"status": {"S": "RUNNING"}, "status_rank": {"N": "1"}}
    fan = {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "ATTEMPT#fan#002#000007"},
        "kind": {"S": "attempt"},
        "task": {"S": "fan"},
        "attempt": {"N": "2"},
        "status": {"S": "RUNNING"},
        "status_rank": {"N": "1"},
        "started_at": {"S": T1},
        "item_index": {"N": "7"},
    }
    fan_done = fan | {
        "status": {"S": "SUCCEEDED"},
        "status_rank": {"N": "2"},
        "started_at": {"S": "s"},
        "ended_at": {"S": "e"},
        "duration_ms": {"N": "0"},
    }
    assert client.calls == [
        ("put_item", {"TableName": "T", "Item": running, "ConditionExpression": new}),
        ("put_item", {"TableName": "T", "Item": fan, "ConditionExpression": new}),
        (
            "put_item",
            {
                "TableName": "T",
                "Item": FAILED_ATTEMPT_ITEM | {"message": {"S": long[:2000]}},
                "ConditionExpression": final,
                "ExpressionAttributeValues": {":r": {"N": "2"}},
            },
        ),
        (
            "put_item",
            {
                "TableName": "T",
                "Item": fan_done,
                "ConditionExpression": final,
                "ExpressionAttributeValues": {":r": {"N": "2"}},
            },
        ),
    ]


def test_task_summary_items_and_cut_off_attempts() -> None:
    client = FakeDynamo(query=[{"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}])
    outcomes = {
        "extract": {"status": "FAILED", "error": "States.TaskFailed"},
        "fan": {"status": "FAILED"},
        "skipped": {"status": "SKIPPED"},
    }
    assert RunLedger("T", client).finalize_tasks("r1", outcomes, T_END) == FINAL_RECORDS
    cut_off = RUNNING_ITEM_ATTEMPT | {
        "status": {"S": "FAILED"},
        "status_rank": {"N": "2"},
        "ended_at": {"S": T_END},
        "duration_ms": {"N": "53900"},
        "error": {"S": "States.Timeout"},
        "message": {"S": "the state machine ended this attempt (timeout or abort)"},
    }
    assert client.calls == [
        (
            "query",
            {
                "TableName": "T",
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "ExpressionAttributeValues": {":p": {"S": "RUN#r1"}, ":s": {"S": "ATTEMPT#"}},
            },
        ),
        (
            "put_item",
            {
                "TableName": "T",
                "Item": cut_off,
                "ConditionExpression": "attribute_not_exists(pk) OR status_rank < :r",
                "ExpressionAttributeValues": {":r": {"N": "2"}},
            },
        ),
        ("batch_write_item", {"RequestItems": {"T": [{"PutRequest": {"Item": item}} for item in SUMMARY_ITEMS]}}),
    ]


def test_summaries_are_written_25_at_a_time_until_none_is_unprocessed() -> None:
    leftover: dict[str, Any] = {"T": [{"PutRequest": {"Item": {}}}]}
    client = FakeDynamo(query=[{"Items": []}], batch_write_item=[{"UnprocessedItems": leftover}, {}, {}])
    RunLedger("T", client).finalize_tasks("r1", {f"t{i:02d}": {"status": "SKIPPED"} for i in range(30)}, T_END)
    batches = [kwargs["RequestItems"] for op, kwargs in client.calls if op == "batch_write_item"]
    assert [len(b["T"]) for b in batches] == [25, 1, 5]
    assert batches[1] == leftover


def test_items_read_back_as_records() -> None:
    client = FakeDynamo(
        get_item=[{"Item": RUN_ITEM | {"started_at": {"S": T1}, "execution_arn": {"S": "arn:x"}}}],
        query=[{"Items": SUMMARY_ITEMS[:1]}, {"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}],
    )
    run = RunLedger("T", client).get_run("r1")
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


def test_a_finished_run_reads_its_summaries_only() -> None:
    client = FakeDynamo(get_item=[{"Item": RUN_ITEM}], query=[{"Items": SUMMARY_ITEMS}])
    run = RunLedger("T", client).get_run("r1", attempts=False)
    assert run is not None
    assert run.attempts == []
    assert run.tasks == FINAL_RECORDS
    assert type(run.tasks["fan"].items) is int
    assert len(client.calls) == 2


def test_run_queries_by_workflow_and_status() -> None:
    client = FakeDynamo(query=[{"Items": [RUN_ITEM]}, {"Items": []}])
    ledger = RunLedger("T", client)
    assert [r.run_id for r in ledger.list_runs("etl")] == ["r1"]
    assert ledger.runs_by_status("RUNNING", limit=5) == []
    assert client.calls == [
        (
            "query",
            {
                "TableName": "T",
                "IndexName": "by_workflow",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "WF#etl"}},
                "ScanIndexForward": False,
                "Limit": 20,
            },
        ),
        (
            "query",
            {
                "TableName": "T",
                "IndexName": "by_status",
                "KeyConditionExpression": "gsi2pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "STATUS#RUNNING"}},
                "ScanIndexForward": False,
                "Limit": 5,
            },
        ),
    ]


def test_join_items() -> None:
    join = {
        "pk": {"S": "RUN#r1"},
        "sk": {"S": "JOIN#load"},
        "kind": {"S": "join"},
        "token": {"S": "tok"},
        "needs": {"S": '["a", "b"]'},
        "done_a": {"S": '{"status": "SUCCEEDED"}'},
    }
    done_b = {"done_b": {"S": '{"status": "FAILED", "x": [1]}'}}
    other = {"pk": {"S": "RUN#r1"}, "sk": {"S": "JOIN#other"}, "kind": {"S": "join"}} | done_b
    client = FakeDynamo(update_item=[{"Attributes": join}, {"Attributes": join | done_b}, {"Attributes": other}])
    ledger = RunLedger("T", client)
    assert ledger.join_wait("r1", "load", "tok", ["a", "b"]) is None
    results = {"a": {"status": "SUCCEEDED"}, "b": {"status": "FAILED", "x": [1]}}
    assert ledger.join_signal("r1", "b", {"status": "FAILED", "x": [1]}, ["load", "other"]) == [("tok", results)]
    signal = {
        "TableName": "T",
        "UpdateExpression": "SET #d = :d, kind = :k",
        "ExpressionAttributeNames": {"#d": "done_b"},
        "ExpressionAttributeValues": {":d": {"S": '{"status": "FAILED", "x": [1]}'}, ":k": {"S": "join"}},
        "ReturnValues": "ALL_NEW",
    }
    assert client.calls == [
        (
            "update_item",
            {
                "TableName": "T",
                "Key": {"pk": {"S": "RUN#r1"}, "sk": {"S": "JOIN#load"}},
                "UpdateExpression": "SET #t = :t, needs = :n, kind = :k",
                "ExpressionAttributeNames": {"#t": "token"},
                "ExpressionAttributeValues": {":t": {"S": "tok"}, ":n": {"S": '["a", "b"]'}, ":k": {"S": "join"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        ("update_item", signal | {"Key": {"pk": {"S": "RUN#r1"}, "sk": {"S": "JOIN#load"}}}),
        ("update_item", signal | {"Key": {"pk": {"S": "RUN#r1"}, "sk": {"S": "JOIN#other"}}}),
    ]


def test_a_wait_after_every_signal_releases_at_once() -> None:
    done = {
        "token": {"S": "tok"},
        "needs": {"S": '["a"]'},
        "done_a": {"S": "3"},
        "done_z": {"S": "null"},
    }
    client = FakeDynamo(update_item=[{"Attributes": done}])
    assert RunLedger("T", client).join_wait("r1", "load", "tok", ["a"]) == {"a": 3}


def test_close_run_cuts_off_running_attempts() -> None:
    client = FakeDynamo(query=[{"Items": [FAILED_ATTEMPT_ITEM, RUNNING_ITEM_ATTEMPT]}])
    assert RunLedger("T", client).close_run("r1", "TIMED_OUT", at=T_END, error="States.Timeout: too slow") is True
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
    RunLedger("T", client).close_run("r1", "ABORTED", at=T_END, error="aborted")
    cut = client.calls[2][1]["Item"]
    assert (cut["started_at"], cut["duration_ms"]) == ({"S": ""}, {"N": "0"})
