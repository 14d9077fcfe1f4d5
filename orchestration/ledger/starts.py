"""A run record created without its start: completed from the start's execution input."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestration.ledger.store import RunLedger


def adopt_start(
    ledger: RunLedger,
    workflow: str,
    run_id: str,
    *,
    trigger: Mapping[str, Any],
    definition_hash: str | None,
    started_at: str,
) -> bool:
    """Give a run record that Finalize created (before the recorder heard of its execution) the
    trigger, definition hash and start its execution's input and event hold; False (nothing
    written) when the record already has a trigger, or does not exist."""
    values: dict[str, str | int | None] = {":t": json.dumps(dict(trigger), sort_keys=True), ":a": started_at}
    values[":none"] = "{}"
    sets = "SET #t = :t, started_at = :a"
    if definition_hash:
        sets += ", definition_hash = :h"
        values[":h"] = definition_hash
    condition = "(attribute_not_exists(#t) OR #t = :none)"
    return ledger._update_run(workflow, run_id, sets, condition, {"#t": "trigger"}, values)
