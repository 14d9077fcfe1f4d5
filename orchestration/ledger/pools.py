"""Pool items: who holds a pool's slots, and who waits for one (docs/architecture.md, Pools).

- the pool: pk `POOL#<pool>`, sk `POOL`: `holders` (a string set; absent when empty) and `slots`;
- a waiter: pk `POOL#<pool>#WAIT`, sk `<queued at>#<holder>`: `holder` and the waiting `token`.

A slot is taken with one conditional update (fewer holders than slots, or already a holder), so
racing acquires never exceed the slots. A waiter is claimed by deleting it (`ALL_OLD`: exactly one
caller gets it), then admitted with the same condition, or put back in its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration.ledger.codec import decode, encode
from orchestration.ledger.keys import PK, SK, Kind, pool_key, pool_wait_pk
from orchestration.pools import holds

_HAS_ROOM = "(attribute_not_exists(holders) OR size(holders) < :s)"


@dataclass(frozen=True)
class Waiter:
    sk: str
    holder: str
    token: str


@dataclass(frozen=True)
class PoolState:
    holders: frozenset[str]
    slots: int

    @property
    def free(self) -> int:
        return max(self.slots - len(self.holders), 0)


class Pools:
    """Pool items of the ledger table; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client
        self._errors = client.exceptions

    def acquire(self, pool: str, slots: int, holder: str) -> bool:
        """Take a slot for `holder` if one is free (or it holds one already); False: the pool is full."""
        return self._add(pool, holder, slots, f"{_HAS_ROOM} OR contains(holders, :hv)")

    def admit(self, pool: str, slots: int, holder: str) -> bool:
        """Give a claimed waiter a slot; False when the pool is full or it already holds one."""
        return self._add(pool, holder, slots, f"{_HAS_ROOM} AND NOT contains(holders, :hv)")

    def _add(self, pool: str, holder: str, slots: int, condition: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=encode(pool_key(pool)),
                UpdateExpression="ADD holders :h SET slots = :s, kind = :k",
                ConditionExpression=condition,
                ExpressionAttributeValues={
                    ":h": {"SS": [holder]},
                    ":hv": {"S": holder},
                    **encode({":s": slots, ":k": Kind.POOL}),
                },
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def state(self, pool: str) -> PoolState | None:
        """The pool's holders and slots (None: no task ever acquired it)."""
        resp = self.client.get_item(TableName=self.table, Key=encode(pool_key(pool)), ConsistentRead=True)
        if "Item" not in resp:
            return None
        item = decode(resp["Item"])
        return PoolState(frozenset(item.get("holders", ())), int(item["slots"]))

    def remove(self, pool: str, holders: frozenset[str]) -> None:
        """Free the slots of `holders` (each one atomically; absent ones are ignored)."""
        if holders:
            self.client.update_item(
                TableName=self.table,
                Key=encode(pool_key(pool)),
                UpdateExpression="DELETE holders :h",
                ExpressionAttributeValues={":h": {"SS": sorted(holders)}},
            )

    def release(self, pool: str, prefix: str) -> frozenset[str]:
        """Free every slot held by `prefix` or below it (a task's items, a run's tasks)."""
        state = self.state(pool)
        held = frozenset(h for h in state.holders if holds(h, prefix)) if state else frozenset()
        self.remove(pool, held)
        return held

    def enqueue(self, pool: str, holder: str, token: str) -> Waiter:
        """Queue a waiting token behind the pool's earlier waiters."""
        queued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        waiter = Waiter(f"{queued}#{holder}", holder, token)
        self._put(pool, waiter)
        return waiter

    def _put(self, pool: str, waiter: Waiter) -> None:
        item = {PK: pool_wait_pk(pool), SK: waiter.sk, "holder": waiter.holder, "token": waiter.token}
        self.client.put_item(TableName=self.table, Item=encode({**item, "kind": Kind.POOL_WAITER}))

    def requeue(self, pool: str, waiter: Waiter) -> None:
        """Put a claimed waiter back in its place (it could not be admitted)."""
        self._put(pool, waiter)

    def claim_oldest(self, pool: str) -> Waiter | None:
        """Remove and return the oldest waiter (None: nobody waits). Exactly one caller gets each."""
        while True:
            resp = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues=encode({":p": pool_wait_pk(pool)}),
                ConsistentRead=True,
                Limit=1,
            )
            if not resp.get("Items"):
                return None
            sk = decode(resp["Items"][0])[SK]
            gone = self.client.delete_item(
                TableName=self.table, Key=encode({PK: pool_wait_pk(pool), SK: sk}), ReturnValues="ALL_OLD"
            )
            if "Attributes" in gone:  # else another caller claimed it first: look again
                item = decode(gone["Attributes"])
                return Waiter(sk, item["holder"], item["token"])

    def waiters(self, pool: str) -> list[Waiter]:
        """Every waiter of the pool, oldest first."""
        out: list[Waiter] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues=encode({":p": pool_wait_pk(pool)}),
            ConsistentRead=True,
        ):
            out.extend(Waiter(i[SK], i["holder"], i["token"]) for i in map(decode, page.get("Items", [])))
        return out

    def drop_waiters(self, pool: str, prefix: str) -> int:
        """Remove the waiters of `prefix` or below it (a for-each that ended early); how many."""
        dropped = [w for w in self.waiters(pool) if holds(w.holder, prefix)]
        for w in dropped:
            self.client.delete_item(TableName=self.table, Key=encode({PK: pool_wait_pk(pool), SK: w.sk}))
        return len(dropped)
