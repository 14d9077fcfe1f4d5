"""The ledger's key layout: the one place its keys, key prefixes and indexes are spelled.

Each workflow's items sit under its own partition-key prefix `WF#<workflow>#`, and a run's items
are split in two partitions, so IAM can tell them apart with `dynamodb:LeadingKeys`:

| item         | pk                              | sk                                      |
|--------------|---------------------------------|-----------------------------------------|
| run          | WF#<workflow>#RUN#<run_id>      | RUN                                     |
| task summary | WF#<workflow>#RUN#<run_id>      | TASK#<task>                             |
| join         | WF#<workflow>#RUN#<run_id>      | JOIN#[r<repair>#]<task>                 |
| task attempt | WF#<workflow>#ATTEMPT#<run_id>  | ATTEMPT#<task>#<attempt:03>[#<idx:06>]  |
| run slots    | WF#<workflow>#SLOTS             | SLOTS                                   |
| queued run   | WF#<workflow>#QUEUE             | <arrival>#<run_id>                      |
| chain        | WF#<workflow>#CHAIN             | CHAIN                                   |
| open batch   | WF#<workflow>#BATCH#<trigger>   | OPEN                                    |
| closed batch | WF#<workflow>#BATCH#<trigger>   | BATCH#<batch_id>                        |
| batched file | WF#<workflow>#BATCH#<trigger>   | EVENT#<event id>                        |
| pool         | POOL#<pool>                     | POOL                                    |
| pool waiter  | POOL#<pool>#WAIT                | <queued at>#<holder>                    |

A task's function may write only `WF#<its workflow>#ATTEMPT#*` (its attempts); the run partition
(status, summaries, joins, alert bookkeeping) is written by the platform functions alone; the slots
and queue of a workflow with `max_concurrent_runs` (see `slots`) by its trigger and the recorder; the
file batches of its batched triggers (see `batches`) by its trigger alone. Workflow
names are `[A-Za-z][A-Za-z0-9_-]*` and run ids `[A-Za-z0-9_-]+`: neither holds `#` or an IAM
wildcard, so one workflow's prefix never matches another's keys. Each repair of a run (see
`operations.repair`) has its own join items; its attempts continue the run's numbering.

The run item also carries gsi1pk = WF#<workflow>, gsi1sk = <created>#<run_id> and
gsi2pk = STATUS#<status>, gsi2sk = <created>#<run_id>, and its `run_id` keys a third index:

- runs of a workflow newest first: query `by_workflow` (gsi1) with ScanIndexForward=False;
- runs by status: query `by_status` (gsi2);
- a run's workflow from its id alone: query `by_run` (run items only hold a `run_id` attribute);
- a run with its tasks and attempts: query its run partition and its attempt partition.

Ledgers written before this layout (pk = RUN#<run_id> for every item of a run) stay readable: the
store falls back to that partition when a run has no item in the new one (see `LEGACY_RUN_PK`).
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


TASK_SK = KeyPrefix("TASK#")
ATTEMPT_SK = KeyPrefix("ATTEMPT#")
JOIN_SK = KeyPrefix("JOIN#")
NOTICE_SK = KeyPrefix("NOTICE#")
WORKFLOW_PK = KeyPrefix("WF#")
STATUS_PK = KeyPrefix("STATUS#")
POOL_PK = KeyPrefix("POOL#")  # pools are per stack: written by the pool function and the recorder only
POOL_SK = "POOL"
LEGACY_RUN_PK = KeyPrefix("RUN#")  # the layout before per-workflow partitions: read, never written


def workflow_key_prefix(workflow: str) -> str:
    """The start of every partition key of a workflow's items."""
    return WORKFLOW_PK(f"{workflow}#")


def run_pk(workflow: str, run_id: str) -> str:
    """The partition of a run's item, task summaries and joins."""
    return f"{workflow_key_prefix(workflow)}RUN#{run_id}"


def attempt_pk(workflow: str, run_id: str) -> str:
    """The partition of a run's task attempts: the only items task functions write."""
    return f"{workflow_key_prefix(workflow)}ATTEMPT#{run_id}"


def attempt_pk_pattern(workflow: str) -> str:
    """IAM `dynamodb:LeadingKeys` pattern matching every attempt partition of `workflow`."""
    return attempt_pk(workflow, "*")


def run_pk_pattern(workflow: str) -> str:
    """IAM `dynamodb:LeadingKeys` pattern matching every run partition of `workflow`."""
    return run_pk(workflow, "*")


def slots_pk(workflow: str) -> str:
    """The partition of a workflow's run slots item (the run ids holding one of its slots)."""
    return f"{workflow_key_prefix(workflow)}SLOTS"


def queue_pk(workflow: str) -> str:
    """The partition of a workflow's queued runs, sorted by arrival."""
    return f"{workflow_key_prefix(workflow)}QUEUE"


def chain_pk(workflow: str) -> str:
    """The partition of a continuous workflow's chain item (`ledger.chain`)."""
    return f"{workflow_key_prefix(workflow)}CHAIN"


def batch_pk(workflow: str, trigger: str) -> str:
    """The partition of a batched trigger's open batch, closed batches and batched events."""
    return f"{workflow_key_prefix(workflow)}BATCH#{trigger}"


def batch_pk_pattern(workflow: str) -> str:
    """IAM `dynamodb:LeadingKeys` pattern matching the batch partitions of every trigger of `workflow`."""
    return batch_pk(workflow, "*")


@dataclass(frozen=True)
class Index:
    """A global secondary index and its key attributes (`sk` None: a partition key only)."""

    name: str
    pk: str
    sk: str | None


BY_WORKFLOW = Index("by_workflow", "gsi1pk", "gsi1sk")
BY_STATUS = Index("by_status", "gsi2pk", "gsi2sk")
BY_RUN = Index("by_run", "run_id", None)
INDEXES = (BY_WORKFLOW, BY_STATUS, BY_RUN)
GSI_BY_WORKFLOW = BY_WORKFLOW.name
GSI_BY_STATUS = BY_STATUS.name


class Kind(StrEnum):
    """The `kind` attribute: which item of a run a row is."""

    RUN = "run"
    TASK = "task"
    ATTEMPT = "attempt"
    JOIN = "join"
    NOTICE = "notice"
    POOL = "pool"
    POOL_WAITER = "pool_waiter"
    BATCH = "batch"


def join_sk(task: str, repair: int) -> str:
    """A join's sort key: each pass of a run (its first, then each repair) has its own join items."""
    return JOIN_SK(task if repair == 0 else f"r{repair}#{task}")


def pool_key(pool: str) -> dict[str, str]:
    """A pool's item: its holders (a string set) and its slots."""
    return {PK: POOL_PK(pool), SK: POOL_SK}


def pool_wait_pk(pool: str) -> str:
    """The partition of a pool's waiters, oldest first (sort key `<queued at>#<holder>`)."""
    return POOL_PK(f"{pool}#WAIT")


def pool_pk_pattern() -> str:
    """IAM `dynamodb:LeadingKeys` pattern matching every pool item and waiter."""
    return POOL_PK("*")


def run_key(workflow: str, run_id: str) -> dict[str, str]:
    return {PK: run_pk(workflow, run_id), SK: RUN_SK}


def run_item_key(workflow: str, run_id: str, sk: str) -> dict[str, str]:
    """The key of an item of the run partition (a task summary, a join)."""
    return {PK: run_pk(workflow, run_id), SK: sk}


def attempt_key(workflow: str, run_id: str, task: str, attempt: int, index: int | None) -> dict[str, str]:
    return {PK: attempt_pk(workflow, run_id), SK: attempt_sk(task, attempt, index)}


def attempt_sk(task: str, attempt: int, index: int | None) -> str:
    base = ATTEMPT_SK(f"{task}#{attempt:03d}")
    return base if index is None else f"{base}#{index:06d}"


def created_sk(created_at: str, run_id: str) -> str:
    """Sort key of a run in the workflow and status indexes: by creation time, then run id."""
    return f"{created_at}#{run_id}"
