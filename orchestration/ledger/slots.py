"""Run slots and the run queue of a workflow with `max_concurrent_runs` (items: see `keys`).

- The slots item (pk `WF#<wf>#SLOTS`) holds `holders`, the string set of the run ids holding a slot.
  `acquire` adds a run id if the set has room (or already holds it: idempotent); `release` removes
  it (idempotent). A set is never empty in DynamoDB: the last release removes the attribute.
- A queued run (pk `WF#<wf>#QUEUE`, sk `<arrival>#<run_id>`) holds what starting it later needs:
  the state machine ARN, the execution input and the limit it was queued under (its run id as
  `queued_run`: a `run_id` attribute would put it in the `by_run` index of run items). `claim` takes a
  slot for it AND deletes it in one transaction, so a run leaves the queue exactly once and only
  with a slot; the queue is read oldest first, so runs start in arrival order. `withdraw` deletes
  a queued run only while it is still queued (a cancel): a run leaves the queue by a claim or by a
  withdrawal, never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from orchestration.ledger.codec import decode, encode, pages
from orchestration.ledger.keys import PK, SK, queue_pk, slots_pk

SLOTS_SK = "SLOTS"
HAS_ROOM = "attribute_not_exists(holders) OR size(holders) < :n OR contains(holders, :rid)"
Claim = Literal["claimed", "full", "gone"]


@dataclass(frozen=True)
class QueuedRun:
    """A run waiting for a slot."""

    workflow: str
    run_id: str
    arrival: str  # ISO time the run was created: the queue's order
    state_machine_arn: str
    execution_input: str  # the JSON input of its execution
    max_runs: int  # the workflow's max_concurrent_runs when it was queued

    @property
    def sk(self) -> str:
        return f"{self.arrival}#{self.run_id}"


def slots_key(workflow: str) -> dict[str, str]:
    return {PK: slots_pk(workflow), SK: SLOTS_SK}


def queue_key(workflow: str, sk: str) -> dict[str, str]:
    return {PK: queue_pk(workflow), SK: sk}


class Slots:
    """The slots and queue items of the ledger table; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client
        self._errors = client.exceptions

    def _acquire_request(self, workflow: str, run_id: str, limit: int) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Key": encode(slots_key(workflow)),
            "UpdateExpression": "ADD holders :r",
            "ConditionExpression": HAS_ROOM,
            "ExpressionAttributeValues": {":r": {"SS": [run_id]}, ":rid": {"S": run_id}, ":n": {"N": str(limit)}},
        }

    def acquire(self, workflow: str, run_id: str, limit: int) -> bool:
        """Take a slot for `run_id` when fewer than `limit` are held (True too when it holds one)."""
        try:
            self.client.update_item(**self._acquire_request(workflow, run_id, limit))
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def release(self, workflow: str, run_id: str) -> bool:
        """Give back the slot of `run_id` (nothing when it holds none); False when the workflow has no
        slots item at all (it never had a limit): then nothing is written."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=encode(slots_key(workflow)),
                UpdateExpression="DELETE holders :r",
                ConditionExpression=f"attribute_exists({PK})",
                ExpressionAttributeValues={":r": {"SS": [run_id]}},
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def holders(self, workflow: str) -> set[str]:
        """The run ids holding a slot of `workflow`."""
        got = self.client.get_item(TableName=self.table, Key=encode(slots_key(workflow)), ConsistentRead=True)
        return set(got.get("Item", {}).get("holders", {}).get("SS", []))

    def enqueue(self, run: QueuedRun) -> bool:
        """Queue a run; False (nothing written) when it is queued already."""
        item = encode(
            {
                **queue_key(run.workflow, run.sk),  # no `run_id` attribute: that one keys the by_run index
                "queued_run": run.run_id,
                "arrival": run.arrival,
                "state_machine_arn": run.state_machine_arn,
                "execution_input": run.execution_input,
                "max_runs": run.max_runs,
            }
        )
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression=f"attribute_not_exists({PK})")
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def queued(self, workflow: str, *, limit: int = 10) -> list[QueuedRun]:
        """The oldest `limit` queued runs of `workflow`, oldest first."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression=f"{PK} = :p",
            ExpressionAttributeValues=encode({":p": queue_pk(workflow)}),
            ConsistentRead=True,
            Limit=limit,
        )
        return [_queued(workflow, decode(item)) for item in resp["Items"]]

    def depth(self, workflow: str) -> int:
        """How many runs of `workflow` are queued (a count: no item is returned)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": f"{PK} = :p",
            "ExpressionAttributeValues": encode({":p": queue_pk(workflow)}),
            "ConsistentRead": True,
            "Select": "COUNT",
        }
        return sum(int(resp["Count"]) for resp in pages(self.client.query, **kwargs))

    def claim(self, run: QueuedRun) -> Claim:
        """Take a slot for a queued run and remove it from the queue, both or neither: "claimed";
        "full" when no slot is free; "gone" when another caller claimed it first."""
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Update": self._acquire_request(run.workflow, run.run_id, run.max_runs)},
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": encode(queue_key(run.workflow, run.sk)),
                            "ConditionExpression": f"attribute_exists({PK})",
                        }
                    },
                ]
            )
        except self._errors.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return "gone"
            return "full"
        return "claimed"

    def withdraw(self, workflow: str, run_id: str, arrival: str) -> bool:
        """Take a run out of the queue (it is cancelled): True when it was still queued and now is
        not; False when it is not queued (claimed by a drain, or never queued): nothing is written."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=encode(queue_key(workflow, f"{arrival}#{run_id}")),
                ConditionExpression=f"attribute_exists({PK})",
            )
        except self._errors.ConditionalCheckFailedException:
            return False
        return True

    def requeue(self, run: QueuedRun) -> None:
        """Undo a claim whose execution could not be started: back in the queue at its place, slot freed."""
        self.enqueue(run)
        self.release(run.workflow, run.run_id)


def _queued(workflow: str, item: dict[str, Any]) -> QueuedRun:
    return QueuedRun(
        workflow=workflow,
        run_id=str(item["queued_run"]),
        arrival=str(item["arrival"]),
        state_machine_arn=str(item["state_machine_arn"]),
        execution_input=str(item["execution_input"]),
        max_runs=int(item["max_runs"]),
    )
