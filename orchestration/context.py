"""What task code sees of its run: `TaskContext`, passed to a task that takes a `ctx` parameter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestration.errors import SecretError
from orchestration.lineage import LineageReport

SECRET_MAX_AGE_SECONDS = 300  # how long a fetched secret is reused by a warm function


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
    env: Mapping[str, str] = field(default_factory=dict)  # the task's declared env (also in os.environ)
    secrets: tuple[str, ...] = ()  # the secrets the task declared: the only ones `secret()` returns
    secret_hint: Callable[[str], str] | None = None  # how to supply a missing secret (local runs: the file)
    # the datasets this attempt reads and writes: ctx.lineage.read(uri), ctx.lineage.wrote(uri)
    lineage: LineageReport = field(default_factory=LineageReport)

    @property
    def is_retry(self) -> bool:
        return self.attempt > 1

    def secret(self, name: str, *, max_age: int = SECRET_MAX_AGE_SECONDS) -> str:
        """The value of a secret the task declared with `secret(name)`, fetched from Secrets Manager
        at run time (Powertools Parameters) and cached for `max_age` seconds. Never log it."""
        if name not in self.secrets:
            declared = ", ".join(map(repr, self.secrets)) or "none"
            raise SecretError(
                f"task {self.task!r} did not declare secret {name!r} (it declares: {declared}); add "
                f"secret({name!r}) to its permissions=[...] so its function may read it"
            )
        from aws_lambda_powertools.utilities.parameters import GetParameterError, get_secret

        try:
            value = get_secret(name, max_age=max_age)
        except GetParameterError as exc:
            raise SecretError(self._failure(name, exc)) from None
        if not isinstance(value, str):
            raise SecretError(f"secret {name!r} holds binary data (SecretBinary): ctx.secret returns text secrets")
        return value

    def _failure(self, name: str, exc: Exception) -> str:
        code = getattr(exc.__context__, "response", {}).get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            where = self.secret_hint(name) if self.secret_hint else "create it, or fix the name in secret(...)"
            return f"task {self.task!r}: secret {name!r} was not found: {where}"
        if code == "AccessDeniedException":
            return (
                f"task {self.task!r} may not read secret {name!r} ({exc}): check the declaration, and pass "
                "kms_key= to secret(...) when the secret is encrypted with a customer managed key"
            )
        return f"task {self.task!r} could not read secret {name!r}: {exc}"
