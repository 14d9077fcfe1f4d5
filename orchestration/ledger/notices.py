"""Notices: one item per run, repair pass and notification kind (see `keys`), claimed with a
conditional put so a run is notified at most once per kind even when its status events come twice;
the item then records how each destination fared."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from orchestration.ledger.codec import decode, encode
from orchestration.ledger.keys import NOTICE_SK, PK, Kind, run_item_key, run_pk
from orchestration.ledger.store import RunLedger


def notice_sk(repair: int, kind: str) -> str:
    return NOTICE_SK(f"{repair}#{kind}")


def claim_notice(ledger: RunLedger, workflow: str, run_id: str, repair: int, kind: str, at: str) -> bool:
    """True for exactly one caller per run, pass and kind."""
    item = {**run_item_key(workflow, run_id, notice_sk(repair, kind)), "kind": Kind.NOTICE, "notice": kind}
    try:
        ledger.client.put_item(
            TableName=ledger.table,
            Item=encode({**item, "repair": repair, "claimed_at": at}),
            ConditionExpression=f"attribute_not_exists({PK})",
        )
    except ledger.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def record_notice(
    ledger: RunLedger, workflow: str, run_id: str, repair: int, kind: str, results: Sequence[Mapping[str, Any]]
) -> None:
    """How each destination fared: [{"destination", "ok", "attempts", "error"?}]."""
    ledger.client.update_item(
        TableName=ledger.table,
        Key=encode(run_item_key(workflow, run_id, notice_sk(repair, kind))),
        UpdateExpression="SET results = :r",
        ExpressionAttributeValues=encode({":r": json.dumps(list(results), sort_keys=True)}),
    )


def notice_from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    values = decode(item)
    return {
        "kind": values.get("notice"),
        "repair": values.get("repair", 0),
        "claimed_at": values.get("claimed_at"),
        "results": json.loads(values["results"]) if "results" in values else None,
    }


def notices_of(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The notices among a run's items (DynamoDB JSON), by pass then claim time."""
    found = [notice_from_item(i) for i in items if i.get("kind", {}).get("S") == Kind.NOTICE]
    return sorted(found, key=lambda n: (n["repair"], n["claimed_at"] or "", n["kind"] or ""))


def run_notices(ledger: RunLedger, workflow: str, run_id: str) -> list[dict[str, Any]]:
    """The notices of a run (every pass), as `notice_from_item` gives them."""
    return notices_of(ledger.query_items(run_pk(workflow, run_id), NOTICE_SK))
