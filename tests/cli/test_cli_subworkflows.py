"""`orch run` of a workflow file whose workflow runs another one."""

from __future__ import annotations

import json

from click.testing import CliRunner

from orchestration.cli import main
from tests.samples import example


def run_example(day: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["run", str(example("parent_child")), "-p", f"day={day}", "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_orch_run_picks_the_top_workflow_of_the_file_and_shows_its_run() -> None:
    code, run = run_example("2026-01-02")
    assert code == 0
    assert run["workflow"] == "nightly" and run["status"] == "SUCCEEDED"
    assert {n: t["status"] for n, t in run["tasks"].items()} == {
        "extract": "SUCCEEDED",
        "publish_day": "SUCCEEDED",
        "report": "SUCCEEDED",
    }


def test_a_failing_child_shows_as_the_task_s_error_and_the_report_still_runs() -> None:
    code, run = run_example("2026-01-00")  # no rows: the child's check fails, twice (one retry)
    assert code == 0 and run["status"] == "SUCCEEDED_WITH_FAILURES"
    publish = run["tasks"]["publish_day"]
    assert (publish["status"], publish["attempts"]) == ("FAILED", 2)
    assert publish["error"].startswith(
        f"SubWorkflow.Failed: run {run['run_id']}-publish_day-2 of workflow 'publish' ended FAILED"
    )
    assert run["tasks"]["report"]["status"] == "SUCCEEDED"
