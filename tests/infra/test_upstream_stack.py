"""`on_workflow` on AWS: the downstream's rule matches the recorder's run-end events of this stack's
upstream state machine; the recorder may publish them (its own source, the default bus) only when
some workflow listens; synth refuses an unknown upstream and a cycle; cdk-nag stays clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.discovery import discover
from infra.settings import InfraError
from orchestration.protocol import RUN_ENDED_DETAIL_TYPE, RUN_EVENT_SOURCE
from orchestration.runtime.registry import Env
from tests.infra.conftest import resources

pytestmark = pytest.mark.infra

CHAIN = """
from orchestration import Param, Workflow, on_workflow

extract = Workflow("extract")


@extract.task()
def pull() -> int:
    return 1


load = Workflow(
    "load",
    params={"upstream_run": Param(str)},
    triggers=[on_workflow(extract, ["succeeded", "succeeded_with_failures"], params={"upstream_run": "run_id"})],
)


@load.task()
def push(ctx) -> str:
    return ctx.params.upstream_run
"""


def project(root: Path, source: str) -> Path:
    (root / "cdk.json").write_text("{}")
    (root / "requirements.txt").write_text("# nothing\n")
    (root / "workflows").mkdir()
    (root / "workflows" / "chain.py").write_text(source)
    return root


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory, orch_cache: Path) -> dict[str, Any]:
    from infra.settings import Settings
    from infra.stack import build_app

    root = project(tmp_path_factory.mktemp("chain"), CHAIN)
    out = tmp_path_factory.mktemp("chain.cdk.out")
    app, _ = build_app(Settings(stack_name="chain", workflows="workflows"), outdir=str(out), root=root)
    app.synth()  # cdk-nag's AwsSolutions checks: any unacknowledged finding raises here
    loaded: dict[str, Any] = json.loads((out / "chain.template.json").read_text())
    return loaded


def test_the_rule_matches_the_upstream_run_ends_of_this_stack(raw: dict[str, Any]) -> None:
    (rule,) = [
        r
        for r in resources(raw, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == [RUN_EVENT_SOURCE]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == [RUN_ENDED_DETAIL_TYPE]
    assert pattern["detail"] == {
        "workflow": ["extract"],
        "status": ["SUCCEEDED", "SUCCEEDED_WITH_FAILURES"],
        "repair": [0],
    }
    (arn,) = pattern["resources"]  # extract's state machine in this stack, not a namesake elsewhere
    assert arn["Fn::Join"][1][-1] == ":stateMachine:chain-extract"
    (target,) = rule["Properties"]["Targets"]
    assert target["InputTransformer"]["InputPathsMap"] == {"f1": "$"}  # the whole event, as for event triggers
    assert json.loads(target["InputTransformer"]["InputTemplate"].replace("<f1>", "null")) == {
        "trigger": "workflow",
        "event": None,
    }


def recorder(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, r)
        for k, r in resources(raw, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == "functions.recorder.handler"
    ]
    return found


def test_the_recorder_publishes_the_ends_of_listened_workflows_only(raw: dict[str, Any]) -> None:
    _, fn = recorder(raw)
    assert json.loads(fn["Properties"]["Environment"]["Variables"][Env.UPSTREAMS]) == ["extract"]


def test_the_recorder_may_put_only_its_own_events_on_the_default_bus(raw: dict[str, Any]) -> None:
    _, fn = recorder(raw)
    role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    puts = [
        st
        for pol in resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role} in pol["Properties"]["Roles"]
        for st in pol["Properties"]["PolicyDocument"]["Statement"]
        if "events:PutEvents" in st["Action"]
    ]
    assert len(puts) == 1
    assert puts[0]["Action"] == "events:PutEvents"
    assert puts[0]["Condition"] == {"StringEquals": {"events:source": RUN_EVENT_SOURCE}}
    assert puts[0]["Resource"]["Fn::Join"][1][-1] == ":event-bus/default"


def test_an_unknown_upstream_fails_synth_naming_the_known_workflows(tmp_path: Path) -> None:
    source = CHAIN.replace("on_workflow(extract,", "on_workflow('extrct',")
    with pytest.raises(InfraError) as info:
        discover(project(tmp_path, source), "workflows")
    assert "on_workflow('extrct') names no workflow of this project (its workflows: extract, load)" in str(info.value)


def test_a_cycle_of_on_workflow_triggers_fails_synth_naming_it(tmp_path: Path) -> None:
    source = CHAIN.replace(
        'extract = Workflow("extract")', 'extract = Workflow("extract", triggers=[on_workflow("load")])'
    )
    with pytest.raises(InfraError) as info:
        discover(project(tmp_path, source), "workflows")
    assert "on_workflow triggers form a cycle: extract -> load -> extract" in str(info.value)
