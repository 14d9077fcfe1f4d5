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
