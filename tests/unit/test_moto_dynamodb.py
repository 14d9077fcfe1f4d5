"""DynamoDB item calls answered in-process (orchestration.local.moto_dynamodb) behave as moto's HTTP path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.endpoint import Endpoint

from orchestration.local.cloud import LocalCloud

TABLE = "orch-ledger"


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with LocalCloud(echo_task_output=False) as cloud:
        yield cloud.dynamodb


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "TEST#moto_dynamodb"}, "sk": {"S": sk}}


def test_item_calls_do_not_go_through_the_http_emulation(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("sent over HTTP")

    monkeypatch.setattr(Endpoint, "make_request", refuse)
    client.put_item(TableName=TABLE, Item={**key("a"), "n": {"N": "7"}, "s": {"S": "x"}})
    got = client.get_item(TableName=TABLE, Key=key("a"))
    assert got["Item"] == {**key("a"), "n": {"N": "7"}, "s": {"S": "x"}}
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(AssertionError, match="HTTP"):  # table management keeps moto's HTTP path
        client.describe_table(TableName=TABLE)


def test_a_failed_condition_raises_what_botocore_raises_and_writes_nothing(client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**key("b"), "rank": {"N": "2"}})
    for rank in ("2", "1"):  # the same expression with other values: each evaluated with its own
        with pytest.raises(client.exceptions.ConditionalCheckFailedException) as failed:
            client.put_item(
                TableName=TABLE,
                Item={**key("b"), "rank": {"N": rank}},
                ConditionExpression="attribute_not_exists(pk) OR #r < :r",
                ExpressionAttributeNames={"#r": "rank"},
                ExpressionAttributeValues={":r": {"N": rank}},
            )
        assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    client.put_item(
        TableName=TABLE,
        Item={**key("b"), "rank": {"N": "3"}},
        ConditionExpression="attribute_not_exists(pk) OR #r < :r",
        ExpressionAttributeNames={"#r": "rank"},
        ExpressionAttributeValues={":r": {"N": "3"}},
    )
    assert client.get_item(TableName=TABLE, Key=key("b"))["Item"]["rank"] == {"N": "3"}


def test_binary_values_round_trip(client: Any) -> None:
    blob = bytes(range(256))
    client.put_item(TableName=TABLE, Item={**key("c"), "b": {"B": blob}, "bs": {"BS": [b"\x00", b"\xff"]}})
    item = client.get_item(TableName=TABLE, Key=key("c"))["Item"]
    assert item["b"] == {"B": blob} and sorted(item["bs"]["BS"]) == [b"\x00", b"\xff"]
    found = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": key("c")["pk"], ":s": {"S": "c"}},
    )
    assert [i["b"] for i in found["Items"]] == [{"B": blob}] and found["Count"] == 1


def test_an_item_over_the_size_limit_is_refused(client: Any) -> None:
    with pytest.raises(client.exceptions.ClientError, match="Item size has exceeded the maximum allowed size"):
        client.put_item(TableName=TABLE, Item={**key("d"), "a": {"S": "x" * 250_000}, "b": {"S": "y" * 250_000}})
    assert "Item" not in client.get_item(TableName=TABLE, Key=key("d"))
    client.put_item(TableName=TABLE, Item={**key("d"), "a": {"S": "x" * 250_000}})
    assert len(client.get_item(TableName=TABLE, Key=key("d"))["Item"]["a"]["S"]) == 250_000


def test_a_bad_request_fails_as_moto_fails_it(client: Any) -> None:
    with pytest.raises(client.exceptions.ClientError) as failed:
        client.query(TableName=TABLE, KeyConditionExpression="nope = :p", ExpressionAttributeValues={":p": {"S": "x"}})
    assert failed.value.response["Error"]["Code"] == "ValidationException"


def test_a_cancelled_transaction_carries_its_reasons(client: Any) -> None:
    client.put_item(TableName=TABLE, Item=key("e"))
    with pytest.raises(client.exceptions.TransactionCanceledException) as failed:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": key("e"), "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": TABLE, "Item": key("f")}},
            ]
        )
    reasons = failed.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None"]
    assert "Item" not in client.get_item(TableName=TABLE, Key=key("f"))
