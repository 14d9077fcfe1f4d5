"""The chain item of a continuous workflow (pk `WF#<wf>#CHAIN`, sk `CHAIN`): which run is the
chain's head, and what the recorder needs to schedule the next one.

`head` is the run the chain is at: going, or due to start at `next_at`. Moving the head is a
conditional write on the head read before (`advance`), so of the recorder (the head ended) and the
watchdog (the chain broke) exactly one moves it, and so starts the next run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from orchestration.ledger.codec import decode, encode
from orchestration.ledger.keys import PK, SK, chain_pk

CHAIN_SK = "CHAIN"


@dataclass(frozen=True)
class Chain:
    workflow: str
    trigger: str  # the continuous trigger's name
    head: str  # the run id the chain is at
    seq: int  # the head's number in the chain (1, 2, ...)
    next_at: str  # ISO time the head is due to start
    failures: int = 0  # consecutive failed runs before the head
    previous: str | None = None  # the run the head follows (None: started by the watchdog)
    interval_s: int = 60  # min_interval, seconds
    backoff_cap_s: int = 3_600  # max_backoff, seconds
    target_arn: str | None = None  # the trigger function the next run's timer invokes
    updated_at: str | None = None


def chain_key(workflow: str) -> dict[str, str]:
    return {PK: chain_pk(workflow), SK: CHAIN_SK}


class Chains:
    """Chain items of the ledger table; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client

    def get(self, workflow: str) -> Chain | None:
        got = self.client.get_item(TableName=self.table, Key=encode(chain_key(workflow)), ConsistentRead=True)
        if "Item" not in got:
            return None
        values = decode(got["Item"])
        return Chain(**{k: values[k] for k in Chain.__dataclass_fields__ if k in values})

    def advance(self, chain: Chain, *, expected_head: str | None) -> bool:
        """Write `chain` if the chain's head is still `expected_head` (None: no chain yet); False
        (nothing written) when another writer moved it first."""
        item = encode({**chain_key(chain.workflow), **asdict(chain)})
        condition = (
            f"attribute_not_exists({PK})" if expected_head is None else f"attribute_exists({PK}) AND head = :expected"
        )
        request: dict[str, Any] = {"TableName": self.table, "Item": item, "ConditionExpression": condition}
        if expected_head is not None:
            request["ExpressionAttributeValues"] = encode({":expected": expected_head})
        try:
            self.client.put_item(**request)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
