"""`orch backfill` on the local store: one run per schedule interval, never more than N at once
(measured from the ledger's own timestamps), idempotent when re-issued."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import invoke

DAILY = """
import time
from orchestration import Param, Workflow
from orchestration.triggers import Schedule

wf = Workflow(
    "daily",
    params={"region": Param(str, default="eu"), "fail_on": Param(str, default="")},
    schedule=Schedule(cron="0 2 * * ? *", timezone="Europe/Paris", name="nightly"),
)

@wf.task
def extract(ctx):
    time.sleep(0.15)
    if ctx.logical_date and ctx.logical_date.strftime("%Y-%m-%d") == ctx.params.fail_on:
        raise RuntimeError("no data that day")
    return ctx.params.region

@wf.task
def load(extract):
    return extract.upper()
"""


@pytest.fixture()
def daily(tmp_path: Path) -> str:
    path = tmp_path / "daily.py"
    path.write_text(DAILY)
    return str(path)


def _max_overlap(runs: list[dict[str, Any]]) -> int:
    """The most runs going at one moment, from their recorded start and end."""
    events = []
    for run in runs:
        events.append((datetime.fromisoformat(run["started_at"]), 1))
        events.append((datetime.fromisoformat(run["ended_at"]), -1))
    going = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start at the same instant
        going += step
        peak = max(peak, going)
    return peak


def test_thirty_days_four_at_a_time_then_nothing_again(daily: str) -> None:
    code, out, err = invoke(
        "backfill", daily, "--start", "2026-10-01", "--end", "2026-10-31", "--max-concurrent", "4", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["intervals"] == 30 and len(report["runs"]) == 30 and report["already_done"] == 0
    assert {r["status"] for r in report["runs"]} == {"SUCCEEDED"}
    code, out, _ = invoke("runs", "list", "--workflow", "daily", "--limit", "100", "--json")
    runs = json.loads(out)
    assert len(runs) == 30
    # logical dates are the scheduler's: 02:00 in Paris, across the end of summer time on Oct 25
    dates = sorted(r["logical_date"] for r in runs)
    assert dates[0] == "2026-10-01T00:00:00.000Z" and dates[-1] == "2026-10-30T01:00:00.000Z"
    assert {r["trigger"]["type"] for r in runs} == {"backfill"}
    assert all(r["trigger"]["schedule"] == "nightly" and "@" in r["trigger"]["by"] for r in runs)
    assert 2 <= _max_overlap(runs) <= 4
    code, out, _ = invoke("backfill", daily, "--start", "2026-10-01", "--end", "2026-10-31", "--json")
    again = json.loads(out)
    assert code == 0 and again["to_start"] == [] and again["already_done"] == 30
    code, out, _ = invoke("runs", "list", "--workflow", "daily", "--limit", "100", "--json")
    assert len(json.loads(out)) == 30


def test_a_dry_run_starts_nothing_and_a_widened_window_starts_only_the_new_days(daily: str) -> None:
    assert invoke("backfill", daily, "--start", "2026-10-01", "--end", "2026-10-03")[0] == 0
    code, out, _ = invoke("backfill", daily, "--start", "2026-10-01", "--end", "2026-10-05", "--dry-run", "--json")
    plan = json.loads(out)
    assert code == 0 and [r["logical_date"][:10] for r in plan["to_start"]] == ["2026-10-03", "2026-10-04"]
    assert len(json.loads(invoke("runs", "list", "--json")[1])) == 2


def test_a_failing_interval_exits_1_and_params_reach_the_runs(daily: str) -> None:
    code, out, _ = invoke(
        "backfill", daily, "--start", "2026-10-01", "--end", "2026-10-04", "-p", "fail_on=2026-10-02", "--json"
    )
    report = json.loads(out)
    assert code == 1
    assert [(r["logical_date"][:10], r["status"]) for r in report["runs"]] == [
        ("2026-10-01", "SUCCEEDED"),  # 02:00 in Paris (summer time) is 00:00 UTC
        ("2026-10-02", "FAILED"),
        ("2026-10-03", "SUCCEEDED"),
    ]


def test_bad_backfills_exit_2_naming_the_value(daily: str, tmp_path: Path) -> None:
    code, _, err = invoke("backfill", daily, "--start", "2026-10-05", "--end", "2026-10-01")
    assert code == 2 and "window is reversed" in err and "2026-10-01" in err
    code, _, err = invoke("backfill", daily, "--start", "last tuesday", "--end", "2026-10-01")
    assert code == 2 and "'last tuesday'" in err
    code, _, err = invoke("backfill", daily, "--start", "2026-10-01", "--end", "2026-10-02", "-p", "nope=1")
    assert code == 2 and "nope" in err
    code, _, err = invoke("backfill", daily, "--start", "2026-10-01", "--end", "2026-10-02", "--max-concurrent", "0")
    assert code == 2 and "--max-concurrent" in err
    plain = tmp_path / "plain.py"
    plain.write_text("from orchestration import Workflow\nwf = Workflow('plain')\nwf.task(name='a')(lambda: 1)\n")
    code, _, err = invoke("backfill", str(plain), "--start", "2026-10-01", "--end", "2026-10-02")
    assert code == 2 and "has no schedule" in err


def test_a_backfill_of_a_rate_schedule_plans_the_epoch_grid(tmp_path: Path, daily: str) -> None:
    path = tmp_path / "every6h.py"
    path.write_text(DAILY.replace('cron="0 2 * * ? *", timezone="Europe/Paris"', 'rate="6 hours"'))
    code, out, err = invoke(
        "backfill", str(path), "--start", "2026-11-01", "--end", "2026-11-02", "--dry-run", "--json"
    )
    assert code == 0, err
    assert [r["logical_date"][11:16] for r in json.loads(out)["to_start"]] == ["00:00", "06:00", "12:00", "18:00"]
