"""Deploy defaults: the project's workflows/ folder, triggers off on request, tags on every resource,
and the packaged app (`python3 -m orchestration.deploy`) run from a user's project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.settings import InfraError, Settings
from infra.stack import build_app
from tests.infra.conftest import ROOT, resources

pytestmark = pytest.mark.infra

# CloudFormation types of the stack that take Tags (EventBridge rules and Scheduler schedules do not
# take stack tags through CDK).
TAGGABLE = (
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::StepFunctions::StateMachine",
    "AWS::Logs::LogGroup",
)


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    tags = resource["Properties"].get("Tags", [])
    if isinstance(tags, dict):
        return tags
    return {t["Key"]: t["Value"] for t in tags}


@pytest.fixture(scope="module")
def quiet_examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("cdk.out")
    settings = Settings(
        stack_name="quiet", workflows="examples", triggers=False, tags=(("cost-center", "42"), ("team", "data"))
    )
    app, _ = build_app(settings, outdir=str(out), root=ROOT)
    app.synth()
    raw: dict[str, Any] = json.loads((out / "quiet.template.json").read_text())
    return raw


def test_triggers_false_deploys_every_schedule_and_rule_disabled(quiet_examples: dict[str, Any]) -> None:
    schedules = resources(quiet_examples, "AWS::Scheduler::Schedule")
    rules = {k: r for k, r in resources(quiet_examples, "AWS::Events::Rule").items() if k.startswith("Wf")}
    assert schedules and len(rules) == 4  # file_arrival's two, cache_refresh's one, file_batches' one
    assert {r["Properties"]["State"] for r in schedules.values()} == {"DISABLED"}
    assert {r["Properties"]["State"] for r in rules.values()} == {"DISABLED"}


def test_tags_from_settings_reach_every_taggable_resource(quiet_examples: dict[str, Any]) -> None:
    checked = 0
    for kind in TAGGABLE:
        for logical_id, resource in resources(quiet_examples, kind).items():
            tags = _tags(resource)
            assert tags.get("team") == "data" and tags.get("cost-center") == "42", (kind, logical_id, tags)
            checked += 1
    assert checked > 20


def test_bad_tags_are_refused_with_the_value_named() -> None:
    context = {"tags": "not json"}.get
    with pytest.raises(InfraError, match="is not an object of tag names to values"):
        Settings.from_context(context)
    with pytest.raises(InfraError, match="tag name 'aws:owner'"):
        Settings.from_context({"tags": {"aws:owner": "me"}}.get)
    assert Settings.from_context({"tags": '{"team": "data"}'}.get).tags == (("team", "data"),)


def test_a_project_without_a_workflows_folder_is_told_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match=r"workflows='workflows'.*does not exist"):
        build_app(Settings(stack_name="empty"), outdir=str(tmp_path / "out"), root=tmp_path)


WORKFLOW = """
from orchestration import Workflow

hello = Workflow("hello")


@hello.task
def greet(ctx):
    return {"greeting": "hello"}
"""


def test_the_packaged_app_synthesizes_a_user_project_even_with_its_own_infra_package(tmp_path: Path) -> None:
    """`python3 -m orchestration.deploy` in the project folder: the project's workflows/ are deployed
    (never the examples), and a package of the project named like ours does not shadow the app."""
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "hello.py").write_text(WORKFLOW)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "__init__.py").write_text("raise ImportError('the project infra package was imported')\n")
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"stackName": "userproj"}),
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
        "PYTHONPATH": "",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.deploy"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    template = json.loads((tmp_path / "cdk.out" / "userproj.template.json").read_text())
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    names = sorted(m["Properties"]["StateMachineName"] for m in machines.values())
    assert names == ["userproj--backfill", "userproj-hello"]  # the workflow's, and the stack's backfill runner
