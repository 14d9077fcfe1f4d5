"""The pinned CDK CLI (package.json) synthesizes the app offline: no credentials, no region."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT

pytestmark = pytest.mark.infra

CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.skipif(not CDK.exists() or shutil.which("node") is None, reason="run `make node_modules` (npm ci) first")
def test_cdk_synth_with_the_pinned_cli(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("CDK_DEFAULT_REGION", "CDK_DEFAULT_ACCOUNT")
    }
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # cdk.json runs python3
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "HOME": str(tmp_path),  # no ~/.aws
        }
    )
    out = tmp_path / "cdk.out"
    proc = subprocess.run(
        [str(CDK), "synth", "--quiet", "--output", str(out), "-c", "stackName=clitest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    template = json.loads((out / "clitest.template.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "AWS::Scheduler::Schedule", "AWS::DynamoDB::Table"} <= kinds
    version = subprocess.run([str(CDK), "--version"], env=env, capture_output=True, text=True, check=True).stdout
    assert version.startswith("2.")
