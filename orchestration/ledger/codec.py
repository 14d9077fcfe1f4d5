"""Plain values to DynamoDB attribute values and back, as boto3's own (de)serializer does.

The ledger stores only strings (S; JSON documents are JSON strings) and integers (N): those two
are converted here directly (a task attempt's write and a run's read convert thousands); any
other value goes through boto3's serializer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


MAX_DIRECT_INT = 10**38  # DynamoDB numbers keep 38 digits: a larger int goes to boto3's serializer (which refuses it)


def encode(values: Mapping[str, str | int | None]) -> Item:
    """Attribute values of `values`; a None value is left out (the attribute is absent)."""
    return {name: _attribute(value) for name, value in values.items() if value is not None}


def decode(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Plain values of an item; numbers come back as int (DynamoDB gives Decimal)."""
    return {name: _plain(value) for name, value in item.items()}


def _attribute(value: Any) -> AttributeValue:
    if type(value) is str:
        return {"S": value}
    if type(value) is int and -MAX_DIRECT_INT < value < MAX_DIRECT_INT:
        return {"N": str(value)}
    serialized: AttributeValue = _SERIALIZER.serialize(value)
    return serialized


def _plain(attribute: AttributeValue) -> Any:
    if "S" in attribute:
        return attribute["S"]
    number = attribute.get("N")
    if isinstance(number, str) and number.lstrip("-").isdigit():
        return int(number)
    value = _DESERIALIZER.deserialize(attribute)
    return int(value) if isinstance(value, Decimal) else value


def pages(call: Callable[..., Mapping[str, Any]], **request: Any) -> Iterator[Mapping[str, Any]]:
    """Every page of a DynamoDB Query or Scan (`call`: the client's `query` or `scan`), following
    `LastEvaluatedKey`."""
    while True:
        page = call(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
