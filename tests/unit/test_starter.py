"""start_run tells a started run from a duplicate delivery by who created the run record, not by
who recorded RUNNING: a run can end before its starter writes RUNNING."""

from __future__ import annotations

from typing import Any

from orchestration import Workflow
from orchestration.ledger import RunRecord
from orchestration.runtime.starter import start_run
from orchestration.times import now_iso


class Ledger:
    def __init__(self, *, exists: bool, moves: bool, created: str = "2026-01-01T00:00:00.000Z") -> None:
        self.exists, self.moves, self.created_at = exists, moves, created
        self.created: list[RunRecord] = []

    def create_run(self, run: RunRecord) -> bool:
        self.created.append(run)
        return not self.exists

    def get_run_item(self, workflow: str, run_id: str) -> RunRecord | None:
        return RunRecord(run_id, workflow, "QUEUED", self.created_at) if self.exists else None

    def set_run_status(self, workflow: str, run_id: str, status: str, **_: Any) -> bool:
        return self.moves


class StepFunctions:
    class exceptions:
        class ExecutionAlreadyExists(Exception):
            pass

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        return {"executionArn": f"arn:{kwargs['name']}"}


WF = Workflow("w")
WF.task(name="t")(lambda: 1)


def _start(ledger: Ledger) -> str:
    started = start_run(
        workflow=WF,
        ledger=ledger,  # type: ignore[arg-type]
        stepfunctions=StepFunctions(),
        state_machine_arn="arn:sm",
        definition_hash="h",
        run_id="r1",
        params={},
    )
    return started.status


def test_the_creator_started_the_run_even_when_the_run_ended_before_it_recorded_running() -> None:
    assert _start(Ledger(exists=False, moves=False)) == "started"
    assert _start(Ledger(exists=False, moves=True)) == "started"


def test_a_later_delivery_resumes_a_half_done_start_or_is_a_duplicate() -> None:
    assert _start(Ledger(exists=True, moves=True)) == "resumed"  # an old record, no execution: taken over
    assert _start(Ledger(exists=True, moves=False)) == "duplicate"  # another taker recorded RUNNING first


def test_a_concurrent_delivery_leaves_the_start_to_the_record_s_creator() -> None:
    assert _start(Ledger(exists=True, moves=True, created=now_iso())) == "duplicate"
