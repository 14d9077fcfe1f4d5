"""Waiting for a run of a workflow with `max_concurrent_runs` to leave the queue (locally), and the
slots of a local store shared by the processes working on it.

Each process working on a local store has its own local cloud, whose ledger holds the slots of its
own runs. `StoreSlots` is the gate (`concurrency.share_slots`) every slot acquisition goes through:
under an exclusive lock on `<store>/slots/<workflow>/.lock` it counts the slots the other live
processes published (one file each, `<host>-<pid>-<id>.json`, listing the run ids they hold), and
on leaving it publishes this process's own. A process that died leaves a file whose pid is gone:
it counts for nothing. A run waiting QUEUED for another process's slot is admitted by its own
process, which drains its queue again every `REDRAIN_SECONDS` while it waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger, RunRecord
from orchestration.operations.local_store import LocalStore, process_alive
from orchestration.runtime.concurrency import cancel_queued, drain, execution_arn, share_slots, slots_of
from orchestration.status import is_terminal

REDRAIN_SECONDS = 0.25


def wait_admitted(
    ledger: RunLedger,
    workflow: str,
    run_id: str,
    timeout_seconds: float,
    *,
    store: LocalStore | None = None,
    stepfunctions: Any = None,
) -> RunRecord:
    """The run once it has an execution or ended without one (SKIPPED, or ABORTED when cancelled
    with `orch runs cancel` while it waited in a `store`). A QUEUED run is started by whoever frees a
    slot (the recorder, as a run of its workflow ends); a run kept in a store is also admitted here,
    draining its queue now and then (a slot another process held may have freed). A run that ended
    before its starter recorded its execution comes back with that execution (named after the run,
    on the state machine named after the workflow): its end is still to be recorded (its slot freed)."""
    deadline = time.monotonic() + timeout_seconds
    next_drain = time.monotonic() + REDRAIN_SECONDS
    delay = 0.002
    while True:
        run = ledger.get_run_item(workflow, run_id)
        if run is None:
            raise OrchestrationError(f"run {run_id!r} is not in the ledger")
        if run.execution_arn is None and is_terminal(run.status) and stepfunctions is not None:
            return replace(run, execution_arn=_execution_of(stepfunctions, workflow, run_id))
        if run.execution_arn is not None or is_terminal(run.status):
            return run
        by = store.cancelled_by(workflow, run_id) if store is not None else None
        if by is not None:
            run = cancel_queued(ledger, run, by)  # withdrawn, or started (then stopped by the caller)
            if run.execution_arn is not None or is_terminal(run.status):
                return run
        if store is not None and time.monotonic() >= next_drain:
            next_drain = time.monotonic() + REDRAIN_SECONDS
            drain(ledger, stepfunctions, workflow)
            continue
        if time.monotonic() > deadline:
            raise OrchestrationError(
                f"run {run_id!r} of {workflow!r} waited in the queue for more than {timeout_seconds:g} s: "
                "the runs holding its workflow's slots have not ended"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)


def _execution_of(stepfunctions: Any, workflow: str, run_id: str) -> str | None:
    """The ARN of the run's execution when it has one: a local workflow's state machine has its name,
    a queued run's execution the run's id."""
    for page in stepfunctions.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == workflow:
                arn = execution_arn(machine["stateMachineArn"], run_id)
                try:
                    stepfunctions.describe_execution(executionArn=arn)
                except stepfunctions.exceptions.ExecutionDoesNotExist:
                    return None
                return arn
    return None


class StoreSlots:
    """The gate of the slots of a local store's processes (see the module docstring)."""

    def __init__(self, root: Path, ledger: RunLedger) -> None:
        self.root = root / "slots"
        self.ledger = ledger
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"

    @classmethod
    def share(cls, root: Path, ledger: RunLedger) -> StoreSlots:
        """The gate of the store at `root`, registered for the ledger of a local cloud working on it."""
        gate = cls(root, ledger)
        share_slots(ledger, gate)
        return gate

    @contextlib.contextmanager
    def __call__(self, workflow: str) -> Iterator[int]:
        folder = self.root / workflow
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._held_elsewhere(folder)
                self._publish(folder, sorted(slots_of(self.ledger).holders(workflow)))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _held_elsewhere(self, folder: Path) -> int:
        held = 0
        for path in folder.glob("*.json"):
            if path.name == self.name:
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                pid, host, holders = int(data["pid"]), str(data["host"]), list(data["holders"])
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                continue
            if process_alive(pid, host):
                held += len(holders)
            else:
                path.unlink(missing_ok=True)  # a process that died: its slots are free
        return held

    def _publish(self, folder: Path, holders: list[str]) -> None:
        path = folder / self.name
        if not holders:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "holders": holders}))
        os.replace(tmp, path)

    def close(self) -> None:
        """This process holds nothing any more (its local cloud closes)."""
        share_slots(self.ledger, None)
        for path in self.root.glob(f"*/{self.name}"):
            path.unlink(missing_ok=True)
