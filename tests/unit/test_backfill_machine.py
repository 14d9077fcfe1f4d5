"""The stack's backfill execution input: its limits (payload, history events) and its name."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from orchestration.compiler import PAYLOAD_LIMIT_BYTES
from orchestration.compiler.backfill import MAX_RUNS, execution_name
from orchestration.errors import OperationError
from orchestration.loader import load_workflow
from orchestration.operations.stack_backfill import backfill_input
from orchestration.triggers.backfill import backfill_plan
from tests.samples import example

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:orchtest-file_arrival"


def _plan(count: int) -> list:  # type: ignore[type-arg]
    wf = load_workflow(str(example("file_arrival")), None)
    plan = backfill_plan(wf, start=datetime(2000, 1, 1), end=datetime(2030, 1, 1))
    return plan[:count]


def test_the_largest_backfill_fits_the_payload_limit() -> None:
    wf = load_workflow(str(example("file_arrival")), None)
    runs = _plan(MAX_RUNS)
    payload = backfill_input(wf, runs, state_machine_arn=ARN, max_concurrent=4, by="arn:aws:sts::1:assumed-role/x/y")
    size = len(payload.model_dump_json().encode())
    assert size < PAYLOAD_LIMIT_BYTES * 0.6, size  # about 130 KB for 1,500 runs
    assert payload.trigger == {
        "type": "backfill",
        "schedule": "weekday_morning",
        "backfill_id": runs[0].trigger["backfill_id"],
        "by": "arn:aws:sts::1:assumed-role/x/y",
    }
    assert [r.logical_date for r in payload.runs[:1]] == [runs[0].logical_date]


def test_a_backfill_beyond_the_limits_is_refused() -> None:
    wf = load_workflow(str(example("file_arrival")), None)
    runs = _plan(MAX_RUNS + 1)
    with pytest.raises(OperationError, match=r"1501 runs, above the 1500 .* ending at --end 20"):
        backfill_input(wf, runs, state_machine_arn=ARN, max_concurrent=4, by="me")
    with pytest.raises(OperationError, match="pass at most 40"):
        backfill_input(wf, runs[:3], state_machine_arn=ARN, max_concurrent=41, by="me")
    with pytest.raises(OperationError, match="is a repair"):
        backfill_input(wf, [replace(runs[0], rerun=True)], state_machine_arn=ARN, max_concurrent=4, by="me")


def test_the_execution_name_is_the_backfill_and_its_runs() -> None:
    name = execution_name("b-20261101T230000Z-20261113T230000Z-6a3bdf6a15fb8daf", ["s-2", "s-1"])
    assert name == execution_name("b-20261101T230000Z-20261113T230000Z-6a3bdf6a15fb8daf", ["s-1", "s-2"])
    assert name != execution_name("b-20261101T230000Z-20261113T230000Z-6a3bdf6a15fb8daf", ["s-1"])
    assert len(name) <= 80 and name.startswith("b-20261101T230000Z-20261113T230000Z-6a3bdf6a15fb8daf-")
