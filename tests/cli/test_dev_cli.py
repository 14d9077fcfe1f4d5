"""`orch dev PATH --files DIR --for DURATION`: a file dropped into the watched folder starts the run its
event matches, kept in the local store (`orch runs list`); user mistakes exit 2 with a message."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.errors import WorkflowLoadError
from orchestration.loader import load_path
from tests.samples import example

INGEST = """
from orchestration import Workflow
from orchestration.triggers import on_s3_object_created

wf = Workflow(
    "ingest",
    params={"key": str},
    triggers=[on_s3_object_created("landing", suffix=".csv", params={"key": "$.detail.object.key"})],
)

@wf.task
def read(ctx):
    import boto3

    return boto3.client("s3", region_name="us-east-1").get_object(Bucket="landing", Key=ctx.params.key)["ContentLength"]
"""

MANUAL = """
from orchestration import Workflow
from orchestration.triggers import Schedule

wf = Workflow("manual")

@wf.task
def only():
    return 1
"""


def _project(tmp_path: Path) -> tuple[Path, Path]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "ingest.py").write_text(INGEST)
    (flows / "helpers.py").write_text("X = 1\n")  # defines no workflow: a helper module
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "x", "context": {"workflows": "flows"}}))
    drop = tmp_path / "drop"
    (drop / "landing").mkdir(parents=True)
    (drop / "elsewhere").mkdir()
    return tmp_path, drop


def test_a_dropped_file_starts_one_run_kept_in_the_local_store(tmp_path: Path) -> None:
    project, drop = _project(tmp_path)

    def arrive() -> None:
        time.sleep(0.5)
        (drop / "landing" / "day1.csv").write_text("a,b\n1,2\n")
        (drop / "elsewhere" / "day1.csv").write_text("no rule for this bucket")

    dropper = threading.Thread(target=arrive)
    dropper.start()
    result = CliRunner().invoke(main, ["dev", str(project), "--files", str(drop), "--for", "5s"])
    dropper.join()
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ingest / event: s3://landing/*.csv created" in out
    assert "file s3://landing/day1.csv (8 B) -> ingest/event: run e-" in out
    assert "file s3://elsewhere/day1.csv (23 B): no trigger matches" in out
    assert "SUCCEEDED ingest run e-" in out and "1 run(s) ended, 0 failed" in out
    listed = json.loads(CliRunner().invoke(main, ["runs", "list", "--json"]).stdout)
    (run,) = listed
    assert (run["workflow"], run["status"], run["trigger"]["source"]) == ("ingest", "SUCCEEDED", "aws.s3")
    shown = json.loads(CliRunner().invoke(main, ["runs", "show", run["run_id"], "--json"]).stdout)
    assert shown["params"] == {"key": "day1.csv"} and shown["tasks"]["read"]["output"] == 8


def test_user_mistakes_exit_2_with_a_message(tmp_path: Path) -> None:
    project, drop = _project(tmp_path)
    (tmp_path / "manual.py").write_text(MANUAL)
    (tmp_path / "hourly.py").write_text(
        MANUAL.replace('Workflow("manual")', 'Workflow("h", schedule=Schedule(rate="1 hours"))')
    )
    (tmp_path / "empty").mkdir()
    cases = {
        "holds no workflow file": ["dev", str(tmp_path / "empty")],
        "declares no schedule and no file trigger": ["dev", str(tmp_path / "manual.py")],
        "it has file triggers only, so nothing would start: pass --files DIR": ["dev", str(project)],
        "workflow 'h' is invalid (1 problem): - schedule trigger 'schedule': rate='1 hours'": [
            "dev",
            str(tmp_path / "hourly.py"),
        ],
        "is not a folder": ["dev", str(project), "--files", str(tmp_path / "manual.py")],
        "is not a duration": ["dev", str(project), "--files", str(drop), "--for", "soon"],
        "no workflow named 'nope'": ["dev", str(project), "-w", "nope", "--files", str(drop)],
    }
    for message, args in cases.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output


def test_a_schedule_is_listed_with_its_next_fire_time() -> None:
    result = CliRunner().invoke(main, ["dev", str(example("file_arrival")), "--for", "0.2s"])
    assert result.exit_code == 0, result.output
    assert "file_arrival / weekday_morning: cron(0 6 ? * MON-FRI *) Europe/Paris, flexible 15 min; next 20" in (
        result.output
    )
    assert "file_arrival / csv_arrived: s3://my-landing-bucket/incoming/*.csv created (not watched" in result.output


def test_load_path_reads_a_project_folder(tmp_path: Path) -> None:
    project, _ = _project(tmp_path)
    assert list(load_path(project)) == ["ingest"]
    assert list(load_path(project / "flows")) == ["ingest"]
    (project / "cdk.json").write_text(json.dumps({"context": {"workflows": "gone"}}))
    with pytest.raises(WorkflowLoadError, match="names workflows='gone', which does not exist"):
        load_path(project)
