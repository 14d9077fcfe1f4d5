"""Lineage in the synthesized template: with `lineageUrl` the recorder gets the endpoint, namespace
and the API key's secret by name (never a secret value), and may read that one secret; without it
the recorder has no lineage variable (no events)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.settings import InfraError, Settings
from orchestration.runtime.registry import Env
from tests.infra.conftest import Synth, resources

pytestmark = pytest.mark.infra

WORKFLOWS = """
from orchestration import Workflow

tiny = Workflow("tiny")


@tiny.task(reads=["s3://raw-bucket/in/"], writes=["warehouse.tiny"])
def a() -> int:
    return 1
"""


def _recorder(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, r) for k, r in resources(raw, "AWS::Lambda::Function").items() if "Recorder" in k]
    return found


def _recorder_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    role = _recorder(raw)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        s
        for p in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_recorder_sends_lineage_to_the_configured_endpoint_with_its_key_by_name(tmp_path: Path) -> None:
    from infra.stack import build_app

    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    (root / "workflows" / "tiny.py").write_text(WORKFLOWS)
    settings = Settings.from_context(
        {
            "stackName": "lineage",
            "lineageUrl": "https://marquez.example.com",
            "lineageApiKeySecret": "lineage/api-key",
            "lineageNamespace": "prod-pipelines",
        }.get
    )
    app, _ = build_app(settings, root=root, outdir=str(tmp_path / "out"))
    app.synth()  # cdk-nag: any unacknowledged finding raises
    text = (tmp_path / "out" / "lineage.template.json").read_text()
    raw = json.loads(text)
    logical_id, recorder = _recorder(raw)
    env = recorder["Properties"]["Environment"]["Variables"]
    assert env[Env.LINEAGE_URL] == "https://marquez.example.com"
    assert env[Env.LINEAGE_NAMESPACE] == "prod-pipelines"
    assert env[Env.LINEAGE_API_KEY_SECRET] == "lineage/api-key"  # the name: the value is read at run time
    reads = [s for s in _recorder_statements(raw) if s["Action"] == "secretsmanager:GetSecretValue"]
    assert len(reads) == 1
    resource = json.dumps(reads[0]["Resource"])
    assert ":secret:lineage/api-key-??????" in resource
    # only the recorder sends lineage: no other function has the variables
    others = [r for k, r in resources(raw, "AWS::Lambda::Function").items() if k != logical_id]
    assert others and all(Env.LINEAGE_URL not in json.dumps(r) for r in others)


def test_without_a_url_the_recorder_sends_no_lineage(synth: Synth) -> None:
    _, recorder = _recorder(synth.raw)
    names = set(recorder["Properties"]["Environment"]["Variables"])
    assert not names & {Env.LINEAGE_URL, Env.LINEAGE_API_KEY_SECRET, Env.LINEAGE_NAMESPACE}


@pytest.mark.parametrize(
    ("ctx", "fragment"),
    [
        ({"lineageUrl": "marquez:5000"}, "lineageUrl='marquez:5000' is not an http(s) URL"),
        ({"lineageApiKeySecret": "key"}, "lineageApiKeySecret is set without lineageUrl"),
        (
            {"lineageUrl": "https://m.example.com", "lineageApiKeySecret": "my key!"},
            "lineageApiKeySecret='my key!' is not a secret name",
        ),
        ({"lineageNamespace": "two words"}, "lineageNamespace='two words'"),
    ],
)
def test_bad_lineage_settings_are_refused(ctx: dict[str, str], fragment: str) -> None:
    with pytest.raises(InfraError, match="bad stack settings") as info:
        Settings.from_context(ctx.get)
    assert fragment in str(info.value)
