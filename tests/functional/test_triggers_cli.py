"""`orch trigger` and `orch schedule` (each CLI call runs its own local cloud)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orchestration.cli import main
from tests.samples import example, s3_object_created

FILE = str(example("file_arrival"))
S3_EVENT = s3_object_created(time=None)  # EventBridge's envelope time is filled in by `orch trigger`


def _event_file(tmp_path: Path, event: dict[str, Any]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_cli_trigger_runs_the_matching_workflow(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["trigger", FILE, "--event", _event_file(tmp_path, S3_EVENT), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["matched"] == ["file_arrival/csv_arrived"]
    (run,) = report["runs"]
    assert run["status"] == "started" and run["run"]["status"] == "SUCCEEDED"
    assert run["run"]["params"]["key"] == "incoming/x.csv"


def test_cli_trigger_says_when_nothing_matches(tmp_path: Path) -> None:
    event = {"source": "com.example.reports", "detail-type": "ReportRequested", "detail": {"priority": 1}}
    result = CliRunner().invoke(main, ["trigger", FILE, "--event", _event_file(tmp_path, event)])
    assert result.exit_code == 3
    assert "no workflow matched" in result.output


def test_cli_trigger_dry_run_and_user_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    dry = runner.invoke(main, ["trigger", FILE, "--event", _event_file(tmp_path, S3_EVENT), "--dry-run"])
    assert dry.exit_code == 0 and "would start file_arrival (trigger csv_arrived)" in dry.output
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    for args in (["--event", str(bad)], ["--event", str(tmp_path / "missing.json")]):
        result = runner.invoke(main, ["trigger", FILE, *args])
        assert result.exit_code == 2 and "Traceback" not in result.output and "error:" in result.output
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    result = runner.invoke(main, ["trigger", FILE, "--event", str(listed)])
    assert result.exit_code == 2 and "JSON object" in result.output


def test_cli_schedule_previews_fire_times_in_the_time_zone() -> None:
    result = CliRunner().invoke(main, ["schedule", FILE, "-n", "3", "--after", "2026-11-21T00:00:00Z"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "file_arrival / weekday_morning: cron(0 6 ? * MON-FRI *) Europe/Paris, flexible 15 min"
    assert [line.split()[0] for line in lines[1:]] == [
        "2026-11-23T06:00:00+01:00",
        "2026-11-24T06:00:00+01:00",
        "2026-11-25T06:00:00+01:00",
    ]


def test_cli_schedule_user_errors() -> None:
    runner = CliRunner()
    none = runner.invoke(main, ["schedule", str(example("etl"))])
    assert none.exit_code == 2 and "declares no schedule" in none.output
    naive = runner.invoke(main, ["schedule", FILE, "--after", "2026-11-21T00:00:00"])
    assert naive.exit_code == 2 and "no time zone" in naive.output
