"""The ledger table's schema as create_table arguments (the CDK table is built from it too)."""

from __future__ import annotations

from typing import Any

from orchestration.ledger.keys import INDEXES, PK, SK


def table_spec(name: str) -> dict[str, Any]:
    """create_table arguments for the ledger table `name`."""
    key_attributes = [PK, SK, *(a for index in INDEXES for a in (index.pk, index.sk))]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in key_attributes],
        "KeySchema": [{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.pk, "KeyType": "HASH"},
                    {"AttributeName": index.sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in INDEXES
        ],
    }
