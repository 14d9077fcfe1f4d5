"""The constructs' grant methods: any IGrantable, an iam.Grant back, exactly the resource's actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam

from infra.constructs.alerts import Alerts
from infra.constructs.artifacts import ARTIFACT_PREFIX, Artifacts
from infra.constructs.functions import FunctionCode, PlatformFunctions
from infra.constructs.ledger import LEDGER_ACTIONS, Ledger
from infra.settings import InfraError
from orchestration.artifacts import workflow_prefix
from orchestration.ledger import table_spec
from orchestration.runtime.registry import TASK, Env

pytestmark = pytest.mark.infra


def _stack() -> tuple[cdk.Stack, iam.Role]:
    stack = cdk.Stack(cdk.App(), "T")
    return stack, iam.Role(stack, "Grantee", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


def _statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    (policy,) = assertions.Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_ledger_grant_covers_the_table_and_its_named_indexes() -> None:
    stack, role = _stack()
    ledger = Ledger(stack, "Ledger", removal_policy=cdk.RemovalPolicy.DESTROY)
    grant = ledger.grant_read_write(role)
    assert isinstance(grant, iam.Grant) and grant.success
    (statement,) = _statements(stack)
    assert statement["Action"] == list(LEDGER_ACTIONS)
    indexes = [i["IndexName"] for i in table_spec("x")["GlobalSecondaryIndexes"]]
    table = stack.resolve(ledger.table.table_arn)
    assert statement["Resource"] == [table] + [{"Fn::Join": ["", [table, f"/index/{name}"]]} for name in indexes]


def test_artifacts_grant_is_limited_to_the_prefix() -> None:
    stack, role = _stack()
    artifacts = Artifacts(stack, "Artifacts", expiration_days=3, removal_policy=cdk.RemovalPolicy.DESTROY)
    assert artifacts.grant_read_write_objects(role).success
    (statement,) = _statements(stack)
    assert statement["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert f"/{ARTIFACT_PREFIX}*" in str(statement["Resource"])


def test_artifacts_grant_to_one_workflow_is_limited_to_its_prefix() -> None:
    stack, role = _stack()
    artifacts = Artifacts(stack, "Artifacts", expiration_days=3, removal_policy=cdk.RemovalPolicy.DESTROY)
    with pytest.raises(ValueError, match="must be a folder under"):
        artifacts.grant_read_write_objects(role, prefix="other/")
    artifacts.grant_read_write_objects(role, prefix=workflow_prefix("etl"))
    (statement,) = _statements(stack)
    assert f"/{ARTIFACT_PREFIX}etl/*" in str(statement["Resource"])


def test_alerts_grant_publish() -> None:
    stack, role = _stack()
    assert Alerts(stack, "Alerts").grant_publish(role).success
    publish, key = _statements(stack)  # the topic's own key: encrypting what is published
    assert publish["Action"] == "sns:Publish"
    assert set(key["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_function_factory_refuses_a_missing_environment_variable(tmp_path: Path) -> None:
    stack, _ = _stack()
    functions = PlatformFunctions(
        stack,
        "Functions",
        code=FunctionCode(tmp_path, "arn:aws:lambda:eu-west-1:123456789012:layer:x:1", log_retention_days=7),
        environment={Env.LEDGER_TABLE: "t"},
    )
    with pytest.raises(InfraError, match=Env.ARTIFACT_BUCKET):
        functions.function(stack, "Task_x", runs=TASK, description="x", environment={Env.WORKFLOW: "w"})


def test_timers_let_a_setter_manage_only_its_group_and_pass_only_the_invoke_role() -> None:
    from aws_cdk import aws_lambda as lambda_

    from infra.constructs.timers import Timers

    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    fn = lambda_.Function(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_13, handler="x.h", code=lambda_.Code.from_inline("h=1")
    )
    timers = Timers(stack, "Timers")
    timers.setter(fn)
    timers.target(fn)
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": "T-timers"})
    env = template.find_resources("AWS::Lambda::Function")
    (variables,) = [r["Properties"]["Environment"]["Variables"] for r in env.values()]
    assert set(variables) == {Env.TIMER_GROUP, Env.TIMER_ROLE_ARN}
    (role,) = [
        r for r in template.find_resources("AWS::IAM::Role").values() if "scheduler" in json.dumps(r["Properties"])
    ]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    schedule = next(s for s in statements if s["Action"] == ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"])
    assert schedule["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":scheduler:eu-west-1:123456789012:schedule/T-timers/*"]]
    }
    passing = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert passing["Resource"] == stack.resolve(timers.role.role_arn)
    invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
    assert stack.resolve(fn.function_arn) in invoke["Resource"]
