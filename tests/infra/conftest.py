"""Synthesize the demo stack once per test process (each xdist worker) and share it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

ROOT = Path(__file__).resolve().parents[2]
STACK = "orchtest"


@dataclass
class Synth:
    stack: Any  # OrchestratorStack
    template: Any  # aws_cdk.assertions.Template
    raw: dict[str, Any]
    assembly: Path
    seconds: float

    def logical_id(self, construct: Any) -> str:
        """The logical id of a construct's CloudFormation resource in the synthesized stack."""
        return str(self.stack.get_logical_id(construct.node.default_child))


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    import time

    from aws_cdk import assertions

    from infra.settings import Settings
    from infra.stack import build_app

    out = tmp_path_factory.mktemp("cdk.out")
    t0 = time.perf_counter()
    app, stack = build_app(Settings(stack_name=STACK, workflows="examples"), outdir=str(out), root=ROOT)
    app.synth()  # runs the cdk-nag AwsSolutions checks: any unacknowledged finding raises here
    seconds = time.perf_counter() - t0
    template = assertions.Template.from_stack(stack)
    raw = json.loads((out / f"{STACK}.template.json").read_text())
    yield Synth(stack, template, raw, out, seconds)


def resources(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in raw["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="session", autouse=True)
def orch_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Staged assets and installed dependencies go to one cache per test session (shared by the
    xdist workers: installs are keyed and renamed into place atomically), not to ~/.cache."""
    from orchestration.dependencies import CACHE_ENV

    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "orch-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(cache))
        yield cache


REPORT_WORKFLOW = """
import humanize  # listed in requirements.txt, not installed in the virtualenv
from orchestration import Workflow

wf = Workflow("report")


@wf.task
def size() -> str:
    return humanize.naturalsize(3_000_000)


@wf.task
def packed(size: str) -> str:
    import ujson  # compiled wheels; imported where it is used

    return ujson.dumps({"size": size})
"""
TABLE_WORKFLOW = """
import tabulate  # listed in table.requirements.txt only
from orchestration import Workflow

wf = Workflow("table")


@wf.task
def render() -> str:
    return tabulate.tabulate([[1, 2]])
"""
USER_REQUIREMENTS = "humanize==4.12.3  # pure Python\nujson==5.10.0  # compiled\n"


def write_user_project(folder: Path) -> Path:
    """A user's project: cdk.json, requirements.txt and two workflows, one with its own requirements."""
    (folder / "workflows").mkdir(parents=True)
    (folder / "cdk.json").write_text('{"app": "python -m orchestration.deploy"}\n')
    (folder / "requirements.txt").write_text(USER_REQUIREMENTS)
    (folder / "workflows" / "report.py").write_text(REPORT_WORKFLOW)
    (folder / "workflows" / "table.py").write_text(TABLE_WORKFLOW)
    (folder / "workflows" / "table.requirements.txt").write_text("tabulate==0.9.0\n")
    return folder


@dataclass
class UserSynth:
    project: Path
    stack: Any  # OrchestratorStack
    raw: dict[str, Any]
    assembly: Path
    cache: Path  # where its dependencies are installed
    seconds: float  # synth time (the cache may be warm: another test process may have filled it)

    def function(self, logical_prefix: str) -> dict[str, Any]:
        """The Lambda function whose logical id starts with the prefix."""
        (fn,) = [r for k, r in resources(self.raw, "AWS::Lambda::Function").items() if k.startswith(logical_prefix)]
        return fn

    def asset_of(self, logical_prefix: str) -> Path:
        """The code asset folder (in the assembly) of that function."""
        key: str = self.function(logical_prefix)["Properties"]["Code"]["S3Key"]
        return self.assembly / f"asset.{key.removesuffix('.zip')}"


@pytest.fixture(scope="session")
def user_synth(tmp_path_factory: pytest.TempPathFactory, orch_cache: Path) -> UserSynth:
    """The user's project synthesized once per test process (the dependency cache is the session's)."""
    import importlib.util
    import time

    from infra.settings import Settings
    from infra.stack import build_app

    assert importlib.util.find_spec("humanize") is None, "the test needs humanize absent from the virtualenv"
    project = write_user_project(tmp_path_factory.mktemp("userproj"))
    out = tmp_path_factory.mktemp("user.cdk.out")
    t0 = time.perf_counter()
    app, stack = build_app(Settings(stack_name="userproj", workflows="workflows"), outdir=str(out), root=project)
    app.synth()
    seconds = time.perf_counter() - t0
    raw = json.loads((out / "userproj.template.json").read_text())
    return UserSynth(project, stack, raw, out, orch_cache, seconds)
