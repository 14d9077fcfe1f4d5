"""File batches of a batched trigger (items: see `keys`; what they are for: `triggers.batching`).

Partition `WF#<wf>#BATCH#<trigger>`:

- `OPEN`: the batch files are added to: `batch_id`, `keys` (a string set: a key added twice is one
  file), `nbytes` (the key list's size as JSON), `first_at`, `last_at`, and `seq`, counting the writes
  (a close names the `seq` it saw, so a file added meanwhile makes the close fail, not vanish);
- `EVENT#<event id>`: the batch an event's file went to, written in the same transaction as the file,
  so a delivery repeated at any later time is recognised and never adds a file twice;
- `BATCH#<batch id>`: a closed batch, written in the same transaction that deletes `OPEN`: its keys,
  count, first and last arrival and why it closed. Its run's id is the batch id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from orchestration.ledger.codec import decode, encode
from orchestration.ledger.keys import PK, SK, Kind, batch_pk

OPEN_SK = "OPEN"
EVENT_SK = "EVENT#"
BATCH_SK = "BATCH#"
NEW = f"attribute_not_exists({PK})"
Added = Literal["added", "duplicate", "retry"]


@dataclass(frozen=True)
class OpenBatch:
    batch_id: str
    keys: frozenset[str]
    nbytes: int
    first_at: str
    last_at: str
    seq: int


@dataclass(frozen=True)
class ClosedBatch:
    batch_id: str
    keys: tuple[str, ...]  # sorted
    first_at: str
    last_at: str
    reason: str  # quiet | full | max_wait
    closed_at: str


class Batches:
    """The batch items of the ledger table; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client
        self._errors = client.exceptions

    def _key(self, workflow: str, trigger: str, sk: str) -> dict[str, Any]:
        return encode({PK: batch_pk(workflow, trigger), SK: sk})

    def _get(self, workflow: str, trigger: str, sk: str) -> dict[str, Any] | None:
        got = self.client.get_item(TableName=self.table, Key=self._key(workflow, trigger, sk), ConsistentRead=True)
        return decode(got["Item"]) if "Item" in got else None

    def open_batch(self, workflow: str, trigger: str) -> OpenBatch | None:
        """The batch files are being added to (None: no file arrived since the last one closed)."""
        item = self._get(workflow, trigger, OPEN_SK)
        if item is None:
            return None
        return OpenBatch(
            item["batch_id"], frozenset(item["keys"]), item["nbytes"], item["first_at"], item["last_at"], item["seq"]
        )

    def closed_batch(self, workflow: str, trigger: str, batch_id: str) -> ClosedBatch | None:
        item = self._get(workflow, trigger, BATCH_SK + batch_id)
        if item is None:
            return None
        keys = tuple(sorted(item.get("keys", ())))
        return ClosedBatch(batch_id, keys, item["first_at"], item["last_at"], item["reason"], item["closed_at"])

    def batch_of_event(self, workflow: str, trigger: str, event_id: str) -> str | None:
        """The batch an event's file went to (None: the event was never added)."""
        item = self._get(workflow, trigger, EVENT_SK + event_id)
        return None if item is None else str(item["batch_id"])

    def _marker(self, workflow: str, trigger: str, event_id: str, batch_id: str) -> dict[str, Any]:
        item = {**self._key(workflow, trigger, EVENT_SK + event_id), **encode({"batch_id": batch_id})}
        return {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": NEW}}

    def _transact(self, items: list[dict[str, Any]]) -> list[str | None]:
        """Write all or nothing; the cancellation reason of each write ([] when written)."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except self._errors.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            return [r.get("Code") for r in reasons] or ["Unknown"]
        return []

    def create(
        self, workflow: str, trigger: str, batch_id: str, event_id: str, key: str, nbytes: int, at: str
    ) -> Added:
        """Open a batch with one file: "added"; "duplicate" when the event was added before; "retry"
        when another delivery opened a batch first."""
        opened = encode(
            {
                "batch_id": batch_id,
                "nbytes": nbytes,
                "first_at": at,
                "last_at": at,
                "seq": 1,
                "kind": Kind.BATCH,
            }
        )
        item = {**self._key(workflow, trigger, OPEN_SK), **opened, "keys": {"SS": [key]}}
        put = {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": NEW}}
        return _outcome(self._transact([self._marker(workflow, trigger, event_id, batch_id), put]))

    def add(
        self,
        workflow: str,
        trigger: str,
        batch: OpenBatch,
        event_id: str,
        key: str,
        nbytes: int,
        *,
        max_files: int,
        budget: int,
        at: str,
    ) -> Added:
        """Add a file to the open batch `batch` if it has room (a key it holds counts once): "added";
        "duplicate" when the event was added before; "retry" when the batch closed or filled meanwhile."""
        known = key in batch.keys
        update = "SET last_at = :at ADD seq :one" + ("" if known else ", #keys :k, nbytes :n")
        # A new key needs room (and must still be new: its bytes are counted once).
        room = (
            "contains(#keys, :key)" if known else "size(#keys) < :max AND nbytes <= :room AND NOT contains(#keys, :key)"
        )
        values: dict[str, Any] = {":b": {"S": batch.batch_id}, ":at": {"S": at}, ":one": {"N": "1"}, ":key": {"S": key}}
        if not known:
            values |= {":k": {"SS": [key]}, ":n": {"N": str(nbytes)}, ":max": {"N": str(max_files)}}
            values[":room"] = {"N": str(budget - nbytes)}
        write = {
            "Update": {
                "TableName": self.table,
                "Key": self._key(workflow, trigger, OPEN_SK),
                "UpdateExpression": update,
                "ConditionExpression": f"batch_id = :b AND {room}",
                "ExpressionAttributeNames": {"#keys": "keys"},
                "ExpressionAttributeValues": values,
            }
        }
        return _outcome(self._transact([self._marker(workflow, trigger, event_id, batch.batch_id), write]))

    def close(self, workflow: str, trigger: str, batch: OpenBatch, reason: str, at: str) -> bool:
        """Close `batch` as it was read (no file added since): False when it changed or closed meanwhile."""
        closed = encode(
            {
                "batch_id": batch.batch_id,
                "files": len(batch.keys),
                "first_at": batch.first_at,
                "last_at": batch.last_at,
                "reason": reason,
                "closed_at": at,
                "kind": Kind.BATCH,
            }
        )
        item = {**self._key(workflow, trigger, BATCH_SK + batch.batch_id), **closed, "keys": {"SS": sorted(batch.keys)}}
        delete = {
            "Delete": {
                "TableName": self.table,
                "Key": self._key(workflow, trigger, OPEN_SK),
                "ConditionExpression": "batch_id = :b AND seq = :s",
                "ExpressionAttributeValues": {":b": {"S": batch.batch_id}, ":s": {"N": str(batch.seq)}},
            }
        }
        put = {"Put": {"TableName": self.table, "Item": item, "ConditionExpression": NEW}}
        return not self._transact([delete, put])


def _outcome(reasons: list[str | None]) -> Added:
    if not reasons:
        return "added"
    if reasons[0] == "ConditionalCheckFailed":
        return "duplicate"
    return "retry"
