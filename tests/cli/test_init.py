"""`orch init DIR`: the scaffolded project, and what init refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration import validate
from orchestration.cli import main
from orchestration.loader import load_workflow
from orchestration.scaffold import stack_name_for
from tests.samples import ROOT

FILES = {
    ".gitignore",
    "README.md",
    "cdk.json",
    "package.json",
    "package-lock.json",
    "requirements.txt",
    "tests/test_daily_report.py",
    "workflows/daily_report.py",
}


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_init_creates_a_project_whose_workflow_is_valid(tmp_path: Path) -> None:
    target = tmp_path / "Sales Reports"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert _files(target) == FILES
    cdk = json.loads((target / "cdk.json").read_text())
    assert cdk["app"] == "python3 -m orchestration.deploy"
    assert cdk["context"]["stackName"] == "Sales-Reports" and cdk["context"]["workflows"] == "workflows"
    assert cdk["context"]["nestedWorkflows"] is False  # visible: past 30 workflows synth asks for it
    wf = load_workflow(target / "workflows" / "daily_report.py")
    validate(wf)
    assert list(wf.tasks) == ["extract", "score", "summarize"]
    assert "orch_run" in (target / "tests" / "test_daily_report.py").read_text()
    assert "npx cdk deploy" in (target / "README.md").read_text()


def test_the_scaffold_pins_the_cdk_cli_this_repository_pins(tmp_path: Path) -> None:
    CliRunner().invoke(main, ["init", str(tmp_path / "p")])
    ours = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"]
    theirs = json.loads((tmp_path / "p" / "package-lock.json").read_text())
    assert theirs["packages"]["node_modules/aws-cdk"] == ours
    assert theirs["packages"][""]["devDependencies"]["aws-cdk"] == ours["version"]
    assert json.loads((tmp_path / "p" / "package.json").read_text())["devDependencies"]["aws-cdk"] == ours["version"]
    assert ours["version"].startswith("2.")


def test_init_refuses_a_non_empty_folder_and_force_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine\n")
    refused = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert refused.exit_code == 2
    assert "is not empty" in refused.output and "--force" in refused.output
    assert _files(tmp_path) == {"README.md"}

    forced = CliRunner().invoke(main, ["init", str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "README.md").read_text() == "mine\n"
    assert "kept" in forced.output and "README.md" in forced.output
    assert _files(tmp_path) == FILES


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "9lives"], "stack name '9lives'"),
        (["--name", "a" * 31], "use 1-30 letters"),
    ],
)
def test_init_refuses_a_bad_stack_name(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "p"), *args])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "p").exists()


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    result = CliRunner().invoke(main, ["init", str(tmp_path / "f")])
    assert result.exit_code == 2 and "is a file" in result.output


def test_stack_names_from_folder_names() -> None:
    assert stack_name_for(Path("/x/my_project")) == "my-project"
    assert stack_name_for(Path("/x/2026-etl")) == "orch-2026-etl"
    assert stack_name_for(Path("/x/" + "long" * 20)) == ("long" * 20)[:30]
