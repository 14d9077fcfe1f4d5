"""Stack settings and workflow discovery: user mistakes get a message naming the value and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.discovery import discover
from infra.settings import InfraError, Settings
from tests.infra.conftest import ROOT

N_SHAPE_EXPRESS = """
from orchestration import Workflow
wf = Workflow("quick", type="EXPRESS", timeout_seconds=600)
@wf.task
def a(): ...
@wf.task
def b(): ...
@wf.task
def c(a): ...
@wf.task
def d(a, b): ...
"""


def test_settings_from_context() -> None:
    ctx = {"stackName": "prod-orch", "workflows": "flows", "retainData": "false", "logRetentionDays": "90"}
    s = Settings.from_context(ctx.get)
    assert (s.stack_name, s.workflows, s.retain_data, s.log_retention_days) == ("prod-orch", "flows", False, 90)
    assert Settings.from_context({}.get) == Settings()


@pytest.mark.parametrize(
    ("ctx", "fragment"),
    [
        ({"stackName": "1bad"}, "stackName='1bad'"),
        ({"logRetentionDays": "45"}, "CloudWatch Logs accepts only"),
        ({"artifactRetentionDays": "soon"}, "-c artifactRetentionDays=30"),
        ({"retainData": "maybe"}, "-c retainData=true"),
        ({"alertEmail": "ops"}, "not an e-mail address"),
    ],
)
def test_bad_settings_are_reported(ctx: dict[str, str], fragment: str) -> None:
    with pytest.raises(InfraError, match="bad stack settings") as info:
        Settings.from_context(ctx.get)
    assert fragment in str(info.value)


def test_discovery_rejects_express_with_joins_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "quick.py").write_text(N_SHAPE_EXPRESS)
    with pytest.raises(InfraError) as info:
        discover(tmp_path, ".")
    text = str(info.value)
    assert "is EXPRESS but its DAG needs a join" in text and "use type='STANDARD'" in text
    assert "runs at most 300 s" in text
    with pytest.raises(InfraError, match="does not exist"):
        discover(tmp_path, "nowhere")


def test_discovery_finds_the_examples() -> None:
    folder, found = discover(ROOT, "examples")
    assert folder == ROOT / "examples"
    assert {d.workflow.name for d in found} >= {"daily_etl", "file_arrival", "n_shape"}
    assert {d.file for d in found if d.workflow.name == "daily_etl"} == {"examples/etl.py"}


def test_app_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"workflows": "no/such/folder"}), "CDK_OUTDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.deploy"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert proc.returncode == 2
    assert "error: workflows='no/such/folder'" in proc.stderr and "Traceback" not in proc.stderr


def test_past_30_workflows_the_stack_asks_for_nested_stacks_before_anything_moves(tmp_path: Path) -> None:
    """31 workflows without `nestedWorkflows`: one error at synth naming the count and the setting (an
    update that moved them would collide on their state machines' fixed names on AWS)."""
    from infra.settings import Settings
    from infra.stack import build_app

    folder = tmp_path / "workflows"
    folder.mkdir()
    for i in range(31):
        (folder / f"w{i:02d}.py").write_text(
            f"from orchestration import Workflow\nwf = Workflow('w{i:02d}')\n@wf.task\ndef a() -> int:\n    return 1\n"
        )
    with pytest.raises(InfraError) as info:
        build_app(Settings(stack_name="many", workflows="workflows"), root=tmp_path, outdir=str(tmp_path / "out"))
    text = str(info.value)
    assert "31 workflows" in text and "at most 30" in text and '"nestedWorkflows": true' in text
    assert "new stackName" in text
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.template.json"))
    assert Settings.from_context({"nestedWorkflows": "true"}.get).nested_workflows is True
    assert Settings().nested_workflows is False
    from infra.stack import _nests

    assert _nests(Settings(), 31, True) and _nests(Settings(nested_workflows=True), 2, False)
    assert not _nests(Settings(), 30, False)
