"""What task code sees of its run: `TaskContext`, passed to a task that takes a `ctx` parameter."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskContext:
    run_id: str
    workflow: str
    task: str
    params: Any  # the workflow's parameter model instance: ctx.params.limit
    attempt: int  # 1 for the first attempt, 2 for the first retry, ...
    logical_date: datetime | None  # the scheduled time for scheduled runs, else None
    logger: logging.Logger | Any
    item_index: int | None = None  # for-each: index of the item being processed

    @property
    def is_retry(self) -> bool:
        return self.attempt > 1
