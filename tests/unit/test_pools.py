"""Pools: declarations and their validation, the compiled states of a pooled task, and the pool
ledger's DynamoDB calls, pinned exactly (the slot cap under races rests on their conditions)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orchestration import Pool, Workflow, WorkflowDefinitionError, compile_workflow
from orchestration.compiler import placeholders
from orchestration.ledger.pools import Pools, Waiter
from orchestration.pools import POOL_FUNCTION, holder_id, holds, run_holder_prefix, stack_pools
from orchestration.validation import problems
from tests.unit.test_ledger_items import ConditionFailed
from tests.unit.test_ledger_items import FakeDynamo as LedgerDynamo

TABLE = "ledger"
HAS_ROOM = "(attribute_not_exists(holders) OR size(holders) < :s)"


class FakeDynamo(LedgerDynamo):
    OPERATIONS = ("put_item", "update_item", "get_item", "query", "delete_item")


POOL_KEY = {"pk": {"S": "POOL#warehouse"}, "sk": {"S": "POOL"}}
WAIT_PK = {"S": "POOL#warehouse#WAIT"}
HOLDER = "etl#r1#load#0"


def _add_call(condition: str) -> tuple[str, dict[str, Any]]:
    return (
        "update_item",
        {
            "TableName": TABLE,
            "Key": POOL_KEY,
            "UpdateExpression": "ADD holders :h SET slots = :s, kind = :k",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {
                ":h": {"SS": [HOLDER]},
                ":hv": {"S": HOLDER},
                ":s": {"N": "2"},
                ":k": {"S": "pool"},
            },
        },
    )


def test_acquire_adds_the_holder_only_while_a_slot_is_free_or_it_holds_one() -> None:
    db = FakeDynamo(update_item=[{}, ConditionFailed()])
    pools = Pools(TABLE, db)
    assert pools.acquire("warehouse", 2, HOLDER) is True
    assert pools.acquire("warehouse", 2, HOLDER) is False  # full
    assert db.calls == [_add_call(f"{HAS_ROOM} OR contains(holders, :hv)")] * 2


def test_admit_never_adds_a_holder_twice() -> None:
    db = FakeDynamo()
    assert Pools(TABLE, db).admit("warehouse", 2, HOLDER) is True
    assert db.calls == [_add_call(f"{HAS_ROOM} AND NOT contains(holders, :hv)")]


def test_a_waiter_is_queued_by_time_then_holder() -> None:
    db = FakeDynamo()
    waiter = Pools(TABLE, db).enqueue("warehouse", HOLDER, "tok")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#etl#r1#load#0", waiter.sk)
    assert db.calls == [
        (
            "put_item",
            {
                "TableName": TABLE,
                "Item": {
                    "pk": WAIT_PK,
                    "sk": {"S": waiter.sk},
                    "holder": {"S": HOLDER},
                    "token": {"S": "tok"},
                    "kind": {"S": "pool_waiter"},
                },
            },
        )
    ]


def test_the_oldest_waiter_is_claimed_by_deleting_it_and_a_lost_race_looks_again() -> None:
    first = {"pk": WAIT_PK, "sk": {"S": "t1#a"}, "holder": {"S": "a"}, "token": {"S": "ta"}}
    second = {"pk": WAIT_PK, "sk": {"S": "t2#b"}, "holder": {"S": "b"}, "token": {"S": "tb"}}
    db = FakeDynamo(query=[{"Items": [first]}, {"Items": [second]}], delete_item=[{}, {"Attributes": second}])
    assert Pools(TABLE, db).claim_oldest("warehouse") == Waiter("t2#b", "b", "tb")
    query = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": WAIT_PK},
        "ConsistentRead": True,
        "Limit": 1,
    }

    def delete(sk: str) -> dict[str, Any]:
        return {"TableName": TABLE, "Key": {"pk": WAIT_PK, "sk": {"S": sk}}, "ReturnValues": "ALL_OLD"}

    assert db.calls == [
        ("query", query),
        ("delete_item", delete("t1#a")),
        ("query", query),
        ("delete_item", delete("t2#b")),
    ]


def test_release_frees_the_holders_under_a_prefix_only() -> None:
    held = ["etl#r1#load#0#0", "etl#r1#load#0#1", "etl#r1#other#0", "etl#r10#load#0"]
    db = FakeDynamo(get_item=[{"Item": {**POOL_KEY, "holders": {"SS": held}, "slots": {"N": "4"}}}])
    freed = Pools(TABLE, db).release("warehouse", "etl#r1#load#0")
    assert freed == {"etl#r1#load#0#0", "etl#r1#load#0#1"}
    assert db.calls == [
        ("get_item", {"TableName": TABLE, "Key": POOL_KEY, "ConsistentRead": True}),
        (
            "update_item",
            {
                "TableName": TABLE,
                "Key": POOL_KEY,
                "UpdateExpression": "DELETE holders :h",
                "ExpressionAttributeValues": {":h": {"SS": ["etl#r1#load#0#0", "etl#r1#load#0#1"]}},
            },
        ),
    ]


def test_holders_name_the_workflow_run_task_pass_and_item() -> None:
    assert holder_id("etl", "r1", "load", 0) == "etl#r1#load#0"
    assert holder_id("etl", "r1", "load", 2, 7) == "etl#r1#load#2#7"
    run = run_holder_prefix("etl", "r1")
    assert holds("etl#r1#load#2#7", run) and not holds("etl#r10#load#0", run) and not holds("etl2#r1#a#0", run)


# -- declarations --------------------------------------------------------------------------------------


def pooled(name: str, *pools: Pool | str) -> Workflow:
    wf = Workflow(name)
    for i, pool in enumerate(pools):
        wf.task(name=f"t{i}", pool=pool)(lambda: None)
    return wf


def test_pool_declarations_are_checked() -> None:
    found = problems(pooled("bad_pools", Pool("a b", 1), Pool("zero", 0), "unknown", Pool("x", 1), Pool("x", 2)))
    assert "task 't0': pool name 'a b' is invalid; use 1-64 letters, digits, '_' or '-'" in found
    assert "task 't1': pool 'zero' has slots=0; give it an int >= 1" in found
    assert any("task 't2': pool 'unknown' is named but never declared" in p for p in found)
    assert (
        "pool 'x' is declared with different slot counts: slots=1 in task 't3'; slots=2 in task 't4'; "
        "declare one Pool and share it"
    ) in found
    assert problems(pooled("good_pools", Pool("w-1", 2), "w-1")) == []
    express = Workflow("express_pool", type="EXPRESS")
    express.task(pool=Pool("w", 1))(lambda: None)
    assert any("EXPRESS workflow cannot wait for a pool slot" in p for p in problems(express))


def test_workflows_deployed_together_agree_on_slots() -> None:
    assert stack_pools([pooled("a", Pool("w", 2)), pooled("b", "w", Pool("w", 2)), pooled("c")]) == {
        "a": ["w"],
        "b": ["w"],
    }
    with pytest.raises(WorkflowDefinitionError, match="slots=2 in workflow 'a'; slots=3 in workflow 'b'"):
        stack_pools([pooled("a", Pool("w", 2)), pooled("b", Pool("w", 3))])


def test_only_pooled_tasks_get_pool_states() -> None:
    wf = Workflow("mixed")

    @wf.task(pool=Pool("w", 1))
    def a() -> int:
        return 1

    @wf.task
    def b(a: int) -> int:
        return a

    states = compile_workflow(wf)["States"]
    assert [s for s in states if s.startswith(("a", "b"))] == [
        "a.acquire",
        "a",
        "a.failed",
        "a.release",
        "a.failed.release",
        "b",
        "b.failed",
        "b.upstream_failed",
    ]
    assert states["a.acquire"]["Next"] == "a" and states["a"]["Next"] == "a.release"
    assert states["a.failed"]["Next"] == "a.failed.release"
    assert states["a.release"]["Next"] == "b" and states["a.failed.release"]["Next"] == "b.upstream_failed"
    assert POOL_FUNCTION in placeholders(wf) and POOL_FUNCTION not in placeholders(pooled("plain"))
