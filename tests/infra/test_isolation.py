"""Isolation by workflow, proven on the synthesized policies (tests/infra/policy.py evaluates them):
a task's role reaches only its own workflow's artifacts; a state machine invokes only its own
functions; a trigger starts only its own workflow."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from tests.infra.conftest import Synth
from tests.infra.policy import ACCOUNT, REGION, Template

pytestmark = pytest.mark.infra


def _id(synth: Synth, construct: Any) -> str:
    return str(synth.stack.get_logical_id(construct.node.default_child))


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return Template(synth.raw)


def _bucket(synth: Synth, template: Template) -> str:
    return template.name(_id(synth, synth.stack.platform.artifacts.bucket))


def _task_role(synth: Synth, workflow: str, task: str) -> str:
    fn = synth.stack.workflows[workflow].task_functions[task]
    assert fn.role is not None
    return _id(synth, fn.role)


def test_a_task_role_reaches_its_own_workflows_artifacts_only(synth: Synth, template: Template) -> None:
    bucket = _bucket(synth, template)
    role = _task_role(synth, "daily_etl", "extract")
    own = f"arn:aws:s3:::{bucket}/runs/daily_etl/r1/extract/attempt-1.json"
    other = f"arn:aws:s3:::{bucket}/runs/n_shape/r1/fetch_orders/attempt-1.json"
    assert template.allowed(role, "s3:GetObject", own) and template.allowed(role, "s3:PutObject", own)
    assert not template.allowed(role, "s3:GetObject", other)
    assert not template.allowed(role, "s3:PutObject", other)
    assert not template.allowed(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/runs/daily_etl_copy/r1/x.json")
    assert not template.allowed(role, "s3:DeleteObject", own)
    assert not template.allowed(role, "s3:GetObject", "arn:aws:s3:::another-bucket/runs/daily_etl/r1/x.json")
    # and the other way round
    n_role = _task_role(synth, "n_shape", "fetch_orders")
    assert template.allowed(n_role, "s3:GetObject", other) and not template.allowed(n_role, "s3:GetObject", own)


def test_a_state_machine_invokes_only_its_own_functions(synth: Synth, template: Template) -> None:
    etl, n_shape = synth.stack.workflows["daily_etl"], synth.stack.workflows["n_shape"]
    role = _id(synth, etl.state_machine.role)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"
    own = arn.format(_id(synth, etl.task_functions["extract"]))
    other = arn.format(_id(synth, n_shape.task_functions["fetch_orders"]))
    assert template.allowed(role, "lambda:InvokeFunction", own)
    assert not template.allowed(role, "lambda:InvokeFunction", other)


def test_a_trigger_starts_only_its_own_workflow(synth: Synth, template: Template) -> None:
    dep = synth.stack.workflows["file_arrival"]
    assert dep.triggers is not None and dep.triggers.function.role is not None
    role = _id(synth, dep.triggers.function.role)
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}"
    assert template.allowed(role, "states:StartExecution", machine.format(dep.name))
    assert not template.allowed(role, "states:StartExecution", machine.format(synth.stack.workflows["daily_etl"].name))


def test_the_evaluator_denies_what_no_statement_allows_and_fails_closed_on_unknown_conditions() -> None:
    raw = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/a/*"},
                            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a/secret"},
                            {
                                "Effect": "Allow",
                                "Action": "dynamodb:GetItem",
                                "Resource": "*",
                                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["WF#a#*"]}},
                            },
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Resource": "*",
                                "Condition": {"NumericLessThan": {"aws:x": "3"}},
                            },
                        ]
                    },
                },
            },
        }
    }
    t = Template(raw)
    assert t.allowed("Role", "s3:GetObject", "arn:aws:s3:::b/a/x")
    assert not t.allowed("Role", "s3:GetObject", "arn:aws:s3:::b/a/secret")
    assert not t.allowed("Role", "s3:PutObject", "arn:aws:s3:::b/a/x")
    assert t.allowed("Role", "dynamodb:GetItem", "t", {"dynamodb:LeadingKeys": ["WF#a#r1"]})
    assert not t.allowed("Role", "dynamodb:GetItem", "t", {"dynamodb:LeadingKeys": ["WF#b#r1"]})
    assert not t.allowed("Role", "sqs:SendMessage", "q", {"aws:x": ["1"]})
    assert cdk.Aws.ACCOUNT_ID  # the evaluator's pseudo parameters stand for these
