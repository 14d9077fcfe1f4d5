"""Plain values to DynamoDB attribute values and back, with boto3's own (de)serializer.

The ledger stores only strings (S; JSON documents are JSON strings) and integers (N).
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


def encode(values: Mapping[str, str | int | None]) -> Item:
    """Attribute values of `values`; a None value is left out (the attribute is absent)."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items() if value is not None}


def decode(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Plain values of an item; numbers come back as int (DynamoDB gives Decimal)."""
    return {name: _plain(_DESERIALIZER.deserialize(value)) for name, value in item.items()}


def _plain(value: Any) -> Any:
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
