"""`orch`: exit status 0 success, 1 failed run, 2 user error with a clear message and no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import invoke
from tests.samples import ROOT, example

ETL = str(example("etl"))
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture()
def two_workflows(tmp_path: Path) -> Path:
    path = tmp_path / "two.py"
    path.write_text(
        "from orchestration import Workflow\n"
        "one = Workflow('one')\n"
        "@one.task\n"
        "def a(): return 1\n"
        "two = Workflow('two')\n"
        "@two.task\n"
        "def b(): raise RuntimeError('nope')\n"
    )
    return path


def test_validate_ok() -> None:
    code, out, _ = invoke("validate", ETL)
    assert code == 0
    assert "daily_etl: 5 tasks, valid" in out


def test_validate_reports_all_problems_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from orchestration import Workflow, Retry\n"
        "wf = Workflow('bad')\n"
        "@wf.task(retry=Retry(interval_seconds=0))\n"
        "def a(missing): ...\n"
        "@wf.task(after=['ghost'])\n"
        "def b(a): ...\n"
    )
    code, _, err = invoke("validate", str(bad))
    assert code == 2
    assert "3 problems" in err
    assert "interval_seconds=0" in err and "'missing' names no task" in err and "unknown task 'ghost'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no/such/file.py"], "workflow file 'no/such/file.py' does not exist"),
        (["run", ETL, "--param", "rows=lots"], "parameter 'rows'"),
        (["run", ETL, "--param", "rows"], "--param 'rows' is not KEY=VALUE"),
        (["run", ETL, "--param", "nope=1"], "unknown parameter 'nope'"),
        (["run", ETL, "--workflow", "missing"], "no workflow named 'missing'"),
        (["run", ETL, "--logical-date", "yesterday"], "--logical-date 'yesterday' is not an ISO 8601 date-time"),
        (["graph", ETL, "--workflow", "missing"], "no workflow named 'missing'"),
    ],
)
def test_user_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_ambiguous_workflow_needs_a_choice(two_workflows: Path) -> None:
    code, _, err = invoke("run", str(two_workflows))
    assert code == 2
    assert "defines several workflows (one, two): choose one with --workflow NAME" in err


def test_import_error_in_user_file_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import does_not_exist_anywhere\n")
    code, _, err = invoke("validate", str(broken))
    assert code == 2
    assert "importing" in err and "failed at line 1: ModuleNotFoundError" in err


def test_run_json_success() -> None:
    code, out, _ = invoke("run", ETL, "--param", "rows=20", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"run_id", "workflow", "status", "started_at", "ended_at", "params", "tasks"}
    assert result["status"] == "SUCCEEDED"
    assert result["params"]["rows"] == 20
    assert ISO_MS.match(result["started_at"]) and ISO_MS.match(result["ended_at"])
    assert list(result["tasks"]) == ["extract", "transform", "load", "quality_check", "publish"]
    for task in result["tasks"].values():
        assert set(task) == {"status", "attempts", "started_at", "ended_at", "error", "output"}
        assert task["status"] == "SUCCEEDED" and task["attempts"] == 1
        assert ISO_MS.match(task["started_at"]) and ISO_MS.match(task["ended_at"])
    assert result["tasks"]["load"]["output"] == {"table": "sales_20261121", "rows": 19}
    assert result["tasks"]["publish"]["output"] == "published sales_20261121 (19 rows, total 970)"


def test_run_failed_exits_1(two_workflows: Path) -> None:
    code, out, _ = invoke("run", str(two_workflows), "--workflow", "two", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["status"] == "FAILED"
    assert result["tasks"]["b"]["status"] == "FAILED"
    assert result["tasks"]["b"]["error"] == "RuntimeError: nope"


def test_run_quiet_prints_a_summary() -> None:
    code, out, _ = invoke("run", ETL, "-q", "--param", "rows=5")
    assert code == 1  # the quality check rejects 4 rows
    assert "FAILED" in out and "quality_check" in out


def test_compile_writes_asl(tmp_path: Path) -> None:
    code, out, _ = invoke("compile", ETL, "-o", str(tmp_path))
    assert code == 0
    written = tmp_path / "daily_etl.asl.json"
    assert written.is_file()
    assert json.loads(written.read_text())["StartAt"] == "New run or repair"
    assert "sha256:" in out


def test_compile_all_workflows_in_a_file(two_workflows: Path, tmp_path: Path) -> None:
    code, _, _ = invoke("compile", str(two_workflows), "-o", str(tmp_path / "out"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["one.asl.json", "two.asl.json"]


@pytest.mark.parametrize(
    ("fmt", "needle"), [("text", "compiled plan:"), ("mermaid", "flowchart TD"), ("dot", "digraph")]
)
def test_graph_formats(fmt: str, needle: str) -> None:
    code, out, _ = invoke("graph", ETL, "--format", fmt)
    assert code == 0
    assert needle in out
    assert "quality_check" in out


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "orchestration", "validate", ETL], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "orchestration", "run", "missing.py"], capture_output=True, text=True, cwd=ROOT
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "does not exist" in bad.stderr


def test_syntax_error_points_at_the_users_line(tmp_path: Path) -> None:
    broken = tmp_path / "syntax.py"
    broken.write_text("from orchestration import Workflow\nwf = Workflow('x')\ndef broken(:\n    pass\n")
    code, _, err = invoke("validate", str(broken))
    assert code == 2
    assert "failed at line 3: SyntaxError" in err
