"""Dates at the calendar's extremes on the command line (`orch run --logical-date`, `orch schedule
--after`), and `orch run` of a task that hangs: an outcome and a ledger record, never a hang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.conftest import cli, write
from tests.samples import example

FLOW = "wf = Workflow('hostile_dates')\n@wf.task\ndef a(ctx): return str(ctx.logical_date)\n"

ODD_DATES = [
    ("year_1_east_offset", "0001-01-01T00:00:00+05:00"),
    ("year_9999_west_offset", "9999-12-31T23:59:59-05:00"),
    ("not_iso", "next tuesday"),
    ("number", "1763713800"),
    ("empty_offset", "2026-11-21T00:00:00+"),
]


@pytest.mark.parametrize(("case", "value"), ODD_DATES, ids=[c[0] for c in ODD_DATES])
def test_logical_dates_out_of_range_or_not_iso(tmp_path: Path, case: str, value: str) -> None:
    code, out, err = cli("run", write(tmp_path, FLOW), "--logical-date", value, "-q")
    assert code == 2, (out, err)
    assert "--logical-date" in err and repr(value) in err


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_logical_dates_at_the_ends_of_the_calendar_run(tmp_path: Path, value: str) -> None:
    code, out, err = cli("run", write(tmp_path, FLOW), "--logical-date", value, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "tomorrow"]
)
def test_schedule_previews_from_the_ends_of_the_calendar(value: str) -> None:
    code, out, err = cli("schedule", str(example("file_arrival")), "--after", value)
    assert code == 2, (out, err)
    assert "--after" in err and repr(value) in err


def test_orch_run_of_a_task_that_hangs_past_its_timeout_ends(tmp_path: Path) -> None:
    body = "import time\nwf = Workflow('hostile_hang')\n@wf.task(timeout_seconds=1)\ndef a(): time.sleep(5)\n"
    code, out, err = cli("run", write(tmp_path, body), "--json")
    assert code == 1, err
    record = json.loads(out)
    assert record["status"] == "FAILED"
    assert record["tasks"]["a"]["status"] == "FAILED"
    assert "Timeout" in (record["tasks"]["a"].get("error") or "")
