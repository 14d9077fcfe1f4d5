"""Joins: a task waiting for upstream tasks that nested Parallel states cannot order.

One item per waiting task (its join key, see `keys`) holds its task token, the tasks it needs
(a JSON list) and, per finished upstream task, `done_<task>` (its result as JSON). Each call is one atomic update
returning the whole new item (ALL_NEW), so exactly one of racing calls sees the join complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestration.ledger.codec import decode, encode
from orchestration.ledger.keys import Kind, join_sk, run_item_key


class Joins:
    """Join items of the ledger table; takes an injectable boto3 DynamoDB client."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table = table_name
        self.client = client

    def wait(
        self, workflow: str, run_id: str, task: str, token: str, needs: list[str], repair: int = 0
    ) -> dict[str, Any] | None:
        """Register a waiting task's token; returns the awaited results if all already arrived."""
        resp = self.client.update_item(
            TableName=self.table,
            Key=encode(run_item_key(workflow, run_id, join_sk(task, repair))),
            UpdateExpression="SET #t = :t, needs = :n, kind = :k",
            ExpressionAttributeNames={"#t": "token"},
            ExpressionAttributeValues=encode({":t": token, ":n": json.dumps(needs), ":k": Kind.JOIN}),
            ReturnValues="ALL_NEW",
        )
        return _ready(decode(resp["Attributes"]))

    def signal(
        self, workflow: str, run_id: str, task: str, result: Any, joins: list[str], repair: int = 0
    ) -> list[tuple[str, dict[str, Any]]]:
        """Record a finished upstream task; returns (token, results) for every join now complete."""
        ready = []
        for join in joins:
            resp = self.client.update_item(
                TableName=self.table,
                Key=encode(run_item_key(workflow, run_id, join_sk(join, repair))),
                UpdateExpression="SET #d = :d, kind = :k",
                ExpressionAttributeNames={"#d": _done(task)},
                ExpressionAttributeValues=encode({":d": json.dumps(result), ":k": Kind.JOIN}),
                ReturnValues="ALL_NEW",
            )
            attrs = decode(resp["Attributes"])
            results = _ready(attrs)
            if results is not None:
                ready.append((attrs["token"], results))
        return ready


def _done(task: str) -> str:
    return f"done_{task}"


def _ready(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The awaited results once the token and every awaited result are in the item."""
    if "token" not in attrs or "needs" not in attrs:
        return None
    needs = json.loads(attrs["needs"])
    if not all(_done(n) in attrs for n in needs):
        return None
    return {n: json.loads(attrs[_done(n)]) for n in needs}
