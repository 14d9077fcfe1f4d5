"""The run slots and queue items (orchestration/ledger/slots.py): keys, attributes and conditions
pinned exactly, since correctness under races rests on them."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.ledger.slots import HAS_ROOM, QueuedRun, Slots
from orchestration.runtime.concurrency import execution_arn
from tests.unit.test_ledger_items import Cancelled, ConditionFailed
from tests.unit.test_ledger_items import FakeDynamo as LedgerDynamo

Call = tuple[str, dict[str, Any]]
TABLE = "ledger"
SLOTS_KEY = {"pk": {"S": "WF#etl#SLOTS"}, "sk": {"S": "SLOTS"}}
RUN = QueuedRun("etl", "r-2", "2026-01-02T03:04:05.678Z", "arn:aws:states:us-east-1:1:stateMachine:etl", "{}", 2)
QUEUE_KEY = {"pk": {"S": "WF#etl#QUEUE"}, "sk": {"S": "2026-01-02T03:04:05.678Z#r-2"}}


class FakeDynamo(LedgerDynamo):
    OPERATIONS = None  # TransactWriteItems too


def acquire_request(run_id: str, limit: int) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "Key": SLOTS_KEY,
        "UpdateExpression": "ADD holders :r",
        "ConditionExpression": "attribute_not_exists(holders) OR size(holders) < :n OR contains(holders, :rid)",
        "ExpressionAttributeValues": {":r": {"SS": [run_id]}, ":rid": {"S": run_id}, ":n": {"N": str(limit)}},
    }


def test_acquire_adds_the_run_id_when_there_is_room_or_it_already_holds_one() -> None:
    db = FakeDynamo(update_item=[{}, ConditionFailed()])
    slots = Slots(TABLE, db)
    assert slots.acquire("etl", "r-1", 3) is True
    assert slots.acquire("etl", "r-9", 3) is False  # full
    assert db.calls == [("update_item", acquire_request("r-1", 3)), ("update_item", acquire_request("r-9", 3))]
    assert HAS_ROOM.endswith("contains(holders, :rid)")  # a retried acquire by the holder succeeds


def test_release_deletes_the_run_id_and_never_creates_a_slots_item() -> None:
    db = FakeDynamo(update_item=[{}, ConditionFailed()])
    slots = Slots(TABLE, db)
    assert slots.release("etl", "r-1") is True
    assert slots.release("etl", "r-1") is False  # no slots item: a workflow without a limit
    assert db.calls[0] == (
        "update_item",
        {
            "TableName": TABLE,
            "Key": SLOTS_KEY,
            "UpdateExpression": "DELETE holders :r",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":r": {"SS": ["r-1"]}},
        },
    )


def test_enqueue_puts_a_new_item_sorted_by_arrival_and_reads_back_oldest_first() -> None:
    item = {
        **QUEUE_KEY,
        "queued_run": {"S": "r-2"},
        "arrival": {"S": RUN.arrival},
        "state_machine_arn": {"S": RUN.state_machine_arn},
        "execution_input": {"S": "{}"},
        "max_runs": {"N": "2"},
    }
    db = FakeDynamo(put_item=[{}, ConditionFailed()], query=[{"Items": [item]}])
    slots = Slots(TABLE, db)
    assert slots.enqueue(RUN) is True
    assert slots.enqueue(RUN) is False  # queued already
    assert db.calls[0] == (
        "put_item",
        {"TableName": TABLE, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"},
    )
    assert slots.queued("etl") == [RUN]
    assert db.calls[-1] == (
        "query",
        {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "WF#etl#QUEUE"}},
            "ConsistentRead": True,
            "Limit": 10,
        },
    )


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ({}, "claimed"),
        (Cancelled("ConditionalCheckFailed", "None"), "full"),
        (Cancelled("None", "ConditionalCheckFailed"), "gone"),
    ],
)
def test_claim_takes_the_slot_and_the_queue_item_in_one_transaction(reply: Any, outcome: str) -> None:
    db = FakeDynamo(transact_write_items=[reply])
    assert Slots(TABLE, db).claim(RUN) == outcome
    assert db.calls == [
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Update": acquire_request("r-2", 2)},
                    {"Delete": {"TableName": TABLE, "Key": QUEUE_KEY, "ConditionExpression": "attribute_exists(pk)"}},
                ]
            },
        )
    ]


def test_a_queued_runs_execution_arn_follows_its_state_machine() -> None:
    assert execution_arn(RUN.state_machine_arn, "r-2") == "arn:aws:states:us-east-1:1:execution:etl:r-2"


def test_withdraw_deletes_the_queue_item_only_while_it_is_queued() -> None:
    db = FakeDynamo(delete_item=[{}, ConditionFailed()])
    slots = Slots(TABLE, db)
    assert slots.withdraw("etl", "r-2", RUN.arrival) is True
    assert slots.withdraw("etl", "r-2", RUN.arrival) is False  # claimed (or withdrawn) already
    assert db.calls[0] == (
        "delete_item",
        {"TableName": TABLE, "Key": QUEUE_KEY, "ConditionExpression": "attribute_exists(pk)"},
    )
