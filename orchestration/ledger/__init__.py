"""The run ledger: one DynamoDB table holding every run, task attempt, task summary and join.

- `keys`: the key layout (partition per run, sort key per item, two indexes);
- `schema`: the table's create_table arguments;
- `codec`: plain values to DynamoDB attribute values and back;
- `records`: RunRecord, TaskRecord, Attempt and their stored items;
- `store`: RunLedger, the reads and the conditional writes;
- `joins`: the items through which a task waits for upstream tasks;
- `starts`: completing a run record created before its start was recorded;
- `batches`: the file batches of batched file-arrival triggers.
"""

from __future__ import annotations

from orchestration.ledger.keys import GSI_BY_STATUS, GSI_BY_WORKFLOW
from orchestration.ledger.records import Attempt, RunRecord, TaskRecord
from orchestration.ledger.schema import table_spec
from orchestration.ledger.store import RunLedger

__all__ = [
    "GSI_BY_STATUS",
    "GSI_BY_WORKFLOW",
    "Attempt",
    "RunLedger",
    "RunRecord",
    "TaskRecord",
    "table_spec",
]
