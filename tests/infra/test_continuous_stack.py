"""A continuous workflow on AWS: its watchdog schedule, and exactly the permissions the chain needs
(the trigger function reads its own watchdog's state and moves its own chain item; the recorder
sets timers; timers may invoke that trigger function); cdk-nag stays clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.triggers import watchdog_name
from orchestration.ledger.keys import chain_pk, slots_pk
from orchestration.runtime.registry import Env
from tests.infra.conftest import resources
from tests.infra.policy import ACCOUNT, REGION, Template

pytestmark = pytest.mark.infra

STACK = "chained"
WORKFLOWS = """
from orchestration import Workflow, continuous

loop = Workflow("loop", triggers=[continuous(min_interval="10 minutes")])
other = Workflow("other")


@loop.task
def a() -> int:
    return 1


@other.task
def b() -> int:
    return 2
"""
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from infra.settings import Settings
    from infra.stack import build_app

    root = tmp_path_factory.mktemp("chained")
    (root / "workflows").mkdir()
    (root / "workflows" / "flows.py").write_text(WORKFLOWS)
    out = tmp_path_factory.mktemp("chained.out")
    app, _ = build_app(Settings(stack_name=STACK), root=root, outdir=str(out))
    app.synth()  # cdk-nag: any unacknowledged finding raises
    loaded: dict[str, Any] = json.loads((out / f"{STACK}.template.json").read_text())
    return loaded


def _function(raw: dict[str, Any], handler: str, workflow: str | None = None) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, r)
        for k, r in resources(raw, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == handler
        and (workflow is None or r["Properties"]["Environment"]["Variables"].get(Env.WORKFLOW) == workflow)
    ]
    return found


def _role(fn: dict[str, Any]) -> str:
    role: str = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    return role


def test_the_watchdog_schedule_fires_the_trigger_function_every_10_minutes(raw: dict[str, Any]) -> None:
    (schedule,) = resources(raw, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["Name"] == watchdog_name(STACK, "loop") == "chained-loop-watchdog"
    assert props["ScheduleExpression"] == "rate(10 minutes)" and props["State"] == "ENABLED"
    target = props["Target"]
    assert json.loads(target["Input"])["trigger"] == "continuous"
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300}
    trigger_id, trigger = _function(raw, "functions.trigger.handler", "loop")
    assert target["Arn"]["Fn::GetAtt"][0] == trigger_id
    assert trigger["Properties"]["Environment"]["Variables"][Env.WATCHDOG_SCHEDULE] == "chained-loop-watchdog"


def test_the_trigger_function_reads_its_watchdog_and_moves_its_chain_only(raw: dict[str, Any]) -> None:
    t = Template(raw)
    role = _role(_function(raw, "functions.trigger.handler", "loop")[1])
    own = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/chained-loop-watchdog"
    assert t.allowed(role, "scheduler:GetSchedule", own)
    assert not t.allowed(role, "scheduler:GetSchedule", own.replace("loop", "other"))
    assert not t.allowed(role, "scheduler:UpdateSchedule", own)
    table = next(iter(resources(raw, "AWS::DynamoDB::Table")))
    chain = {"dynamodb:LeadingKeys": [chain_pk("loop")]}
    assert t.allowed(role, "dynamodb:PutItem", TABLE_ARN + table, chain)
    assert not t.allowed(role, "dynamodb:PutItem", TABLE_ARN + table, {"dynamodb:LeadingKeys": [chain_pk("other")]})
    assert not t.allowed(role, "dynamodb:PutItem", TABLE_ARN + table, {"dynamodb:LeadingKeys": [slots_pk("loop")]})


def test_the_recorder_sets_timers_that_may_invoke_only_the_continuous_trigger(raw: dict[str, Any]) -> None:
    t = Template(raw)
    _, recorder = _function(raw, "functions.recorder.handler")
    env = recorder["Properties"]["Environment"]["Variables"]
    assert Env.TIMER_GROUP in env and Env.TIMER_ROLE_ARN in env
    (group,) = [r["Properties"]["Name"] for r in resources(raw, "AWS::Scheduler::ScheduleGroup").values()]
    timer = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/orch-t-abc"
    role = _role(recorder)
    assert t.allowed(role, "scheduler:CreateSchedule", timer)
    assert not t.allowed(role, "scheduler:CreateSchedule", timer.replace(group, "default"))
    (timer_role,) = [k for k in resources(raw, "AWS::IAM::Role") if k.startswith("PlatformTimersInvokeRole")]
    loop_trigger = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_function(raw, 'functions.trigger.handler', 'loop')[0]}"
    )
    assert t.allowed(timer_role, "lambda:InvokeFunction", loop_trigger)
    recorder_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_function(raw, 'functions.recorder.handler')[0]}"
    assert not t.allowed(timer_role, "lambda:InvokeFunction", recorder_arn)


def test_a_stack_without_continuous_workflows_has_no_timers(tmp_path: Path) -> None:
    from infra.settings import Settings
    from infra.stack import build_app

    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    (root / "workflows" / "flows.py").write_text(
        WORKFLOWS.replace('triggers=[continuous(min_interval="10 minutes")]', "")
    )
    app, _ = build_app(Settings(stack_name="plain", nag=False), root=root, outdir=str(tmp_path / "out"))
    app.synth()
    plain = json.loads((tmp_path / "out" / "plain.template.json").read_text())
    assert resources(plain, "AWS::Scheduler::ScheduleGroup") == {}
    assert resources(plain, "AWS::Scheduler::Schedule") == {}
