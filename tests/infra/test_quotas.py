"""CloudFormation and IAM quotas are checked on the synthesized template before deploy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.quotas import MAX_RESOURCES, MAX_ROLE_POLICY_CHARS, check_template
from tests.infra.conftest import Synth

pytestmark = pytest.mark.infra


def _role_with_policy(statements: int) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/some/key/prefix/x"}
    return {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": [statement] * statements}},
        },
    }


def test_the_examples_stack_is_within_every_quota(synth: Synth) -> None:
    assert check_template(synth.raw) == []


def test_too_many_resources_is_named_with_the_fix() -> None:
    template = {"Resources": {f"R{i}": {"Type": "AWS::SNS::Topic"} for i in range(MAX_RESOURCES + 1)}}
    (problem,) = check_template(template)
    assert f"{MAX_RESOURCES + 1} resources" in problem and "fewer workflows per stack" in problem


def test_a_role_whose_policies_exceed_iam_s_limit_is_named() -> None:
    assert check_template({"Resources": _role_with_policy(10)}) == []
    (problem,) = check_template({"Resources": _role_with_policy(200)})
    assert "role Role's inline policies" in problem and f"{MAX_ROLE_POLICY_CHARS:,}" in problem


def test_a_role_with_more_managed_policies_than_iam_allows_is_named() -> None:
    resources: dict[str, Any] = {"Role": {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": ["a", "b"]}}}
    for i in range(9):
        resources[f"M{i}"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": [{"Ref": "Role"}]}}
    (problem,) = check_template({"Resources": resources})
    assert "role Role would have 11 managed policies" in problem


def test_a_template_over_1_mb_is_named() -> None:
    big = {"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"Doc": "x" * 1_100_000}}}}
    (problem,) = check_template(big)
    assert "bytes, over CloudFormation's 1,000,000" in problem


def test_synth_refuses_a_project_over_a_quota_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from infra.app import synth

    folder = tmp_path / "project"
    (folder / "workflows").mkdir(parents=True)
    keys = ", ".join(f"'data/part-{i:04d}/file.csv'" for i in range(400))
    (folder / "workflows" / "wide.py").write_text(
        "from orchestration import Workflow\n"
        "from orchestration.permissions import s3_read\n"
        "wf = Workflow('wide')\n"
        f"@wf.task(permissions=[s3_read('my-bucket/' + key) for key in [{keys}]])\n"
        "def read_all():\n"
        "    return 1\n"
    )
    assert synth(folder) == 2
    err = capsys.readouterr().err
    assert "the stack would not deploy" in err and "managed policies attached" in err and "Traceback" not in err
