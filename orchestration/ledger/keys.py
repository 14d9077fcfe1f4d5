"""The ledger's key layout: the one place its keys, key prefixes and indexes are spelled.

| item         | pk           | sk                                      |
|--------------|--------------|-----------------------------------------|
| run          | RUN#<run_id> | RUN                                     |
| task summary | RUN#<run_id> | TASK#<task>                             |
| task attempt | RUN#<run_id> | ATTEMPT#<task>#<attempt:03>[#<idx:06>]  |
| join         | RUN#<run_id> | JOIN#<task>                             |

The run item also carries gsi1pk = WF#<workflow>, gsi1sk = <created>#<run_id> and
gsi2pk = STATUS#<status>, gsi2sk = <created>#<run_id>:

- runs of a workflow newest first: query `by_workflow` (gsi1) with ScanIndexForward=False;
- a run with all its tasks and attempts: query pk = RUN#<run_id>;
- runs by status: query `by_status` (gsi2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PK = "pk"
SK = "sk"
RUN_SK = "RUN"


@dataclass(frozen=True)
class KeyPrefix:
    """A key's fixed start: `TASK_SK("load")` is "TASK#load"; `.text` serves begins_with queries."""

    text: str

    def __call__(self, rest: str) -> str:
        return f"{self.text}{rest}"


RUN_PK = KeyPrefix("RUN#")
TASK_SK = KeyPrefix("TASK#")
ATTEMPT_SK = KeyPrefix("ATTEMPT#")
JOIN_SK = KeyPrefix("JOIN#")
WORKFLOW_PK = KeyPrefix("WF#")
STATUS_PK = KeyPrefix("STATUS#")


@dataclass(frozen=True)
class Index:
    """A global secondary index and its key attributes."""

    name: str
    pk: str
    sk: str


BY_WORKFLOW = Index("by_workflow", "gsi1pk", "gsi1sk")
BY_STATUS = Index("by_status", "gsi2pk", "gsi2sk")
INDEXES = (BY_WORKFLOW, BY_STATUS)
GSI_BY_WORKFLOW = BY_WORKFLOW.name
GSI_BY_STATUS = BY_STATUS.name


class Kind(StrEnum):
    """The `kind` attribute: which item of a run a row is."""

    RUN = "run"
    TASK = "task"
    ATTEMPT = "attempt"
    JOIN = "join"


def run_key(run_id: str) -> dict[str, str]:
    return item_key(run_id, RUN_SK)


def item_key(run_id: str, sk: str) -> dict[str, str]:
    return {PK: RUN_PK(run_id), SK: sk}


def attempt_sk(task: str, attempt: int, index: int | None) -> str:
    base = ATTEMPT_SK(f"{task}#{attempt:03d}")
    return base if index is None else f"{base}#{index:06d}"


def created_sk(created_at: str, run_id: str) -> str:
    """Sort key of a run in both indexes: by creation time, then run id."""
    return f"{created_at}#{run_id}"
