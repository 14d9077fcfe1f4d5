"""The ledger table's schema as create_table arguments (the CDK table is built from it too)."""

from __future__ import annotations

from typing import Any

from orchestration.ledger.keys import INDEXES, PK, SK, Index


def table_spec(name: str) -> dict[str, Any]:
    """create_table arguments for the ledger table `name`."""
    key_attributes = dict.fromkeys([PK, SK, *(a for index in INDEXES for a in (index.pk, index.sk) if a)])
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in key_attributes],
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {"IndexName": index.name, "KeySchema": _index_keys(index), "Projection": {"ProjectionType": "ALL"}}
            for index in INDEXES
        ],
    }


def _index_keys(index: Index) -> list[dict[str, str]]:
    keys = [{"AttributeName": index.pk, "KeyType": "HASH"}]
    if index.sk:
        keys.append({"AttributeName": index.sk, "KeyType": "RANGE"})
    return keys
