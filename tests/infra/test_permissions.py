"""Per-task access on AWS: each task's role gets exactly its declared statements, its function its env;
cdk-nag passes with IAM5 acknowledged on exactly the declared wildcard resources and actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.nag import REASONS
from tests.infra.conftest import ROOT, resources

pytestmark = pytest.mark.infra

STACK = "permtest"
WORKFLOW_FILE = "tests/workflows/access.py"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


DECLARED: dict[str, list[dict[str, Any]]] = {
    "extract": [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": sub("arn:${AWS::Partition}:s3:::my-bucket/raw/*")},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["raw/*"]}},
            "Effect": "Allow",
            "Resource": sub("arn:${AWS::Partition}:s3:::my-bucket"),
        },
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": sub(
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:warehouse/password-??????"
            ),
        },
    ],
    "load": [
        {
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Effect": "Allow",
            "Resource": sub("arn:${AWS::Partition}:s3:::my-bucket/out/*"),
        },
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:my-queue"),
        },
        {
            "Action": "secretsmanager:GetSecretValue",
            "Effect": "Allow",
            "Resource": sub(
                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:warehouse/api-key-??????"
            ),
        },
        {
            "Action": "kms:Decrypt",
            "Effect": "Allow",
            "Resource": sub(f"arn:${{AWS::Partition}}:kms:${{AWS::Region}}:${{AWS::AccountId}}:key/{KEY}"),
        },
        {"Action": "dynamodb:GetItem", "Effect": "Allow", "Resource": "arn:aws:dynamodb:*:*:table/x"},
    ],
    "audit": [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": sub("arn:${AWS::Partition}:s3:::archive-bucket/*")},
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": sub("arn:${AWS::Partition}:s3:::archive-bucket")},
        {"Action": "s3:*", "Effect": "Allow", "Resource": "*"},
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": sub("arn:${AWS::Partition}:s3:::teams/${!aws:PrincipalTag/team}/*"),  # escaped for Fn::Sub
        },
    ],
    "report": [],
}

# IAM5 acknowledgments beyond the artifact prefix every task role has: exactly the declared wildcards.
ACKNOWLEDGED = {
    "extract": {"Resource::arn:<AWS::Partition>:s3:::my-bucket/raw/*"},
    "load": {"Resource::arn:<AWS::Partition>:s3:::my-bucket/out/*", "Resource::arn:aws:dynamodb:*:*:table/x"},
    "audit": {
        "Resource::arn:<AWS::Partition>:s3:::archive-bucket/*",
        "Action::s3:*",
        "Resource::*",
        "Resource::arn:<AWS::Partition>:s3:::teams/<!aws:PrincipalTag/team>/*",
    },
    "report": set(),
}


@dataclass
class Synthesized:
    raw: dict[str, Any]
    metadata: dict[str, Any]
    stderr: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    import contextlib
    import io

    from infra.settings import Settings
    from infra.stack import build_app

    out: Path = tmp_path_factory.mktemp("cdk.out")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        app, _ = build_app(Settings(stack_name=STACK, workflows=WORKFLOW_FILE), outdir=str(out), root=ROOT)
        app.synth()  # runs cdk-nag: an unacknowledged finding raises here
    yield Synthesized(
        json.loads((out / f"{STACK}.template.json").read_text()),
        json.loads((out / f"{STACK}.metadata.json").read_text()),
        err.getvalue(),
    )


def _task_function(raw: dict[str, Any], task: str) -> dict[str, Any]:
    (fn,) = [
        r
        for r in resources(raw, "AWS::Lambda::Function").values()
        if r["Properties"]["Description"].partition(":")[0] == f"access.{task}"
    ]
    return fn


def _role_statements(raw: dict[str, Any], task: str) -> list[dict[str, Any]]:
    role = _task_function(raw, task)["Properties"]["Role"]["Fn::GetAtt"][0]
    out: list[dict[str, Any]] = []
    for policy in resources(raw, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            out.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_each_task_role_gets_exactly_its_declared_statements(stack: Synthesized) -> None:
    baseline = _role_statements(stack.raw, "report")  # log group, ledger, artifacts, X-Ray: what every task has
    assert len(baseline) == 4
    for task, declared in DECLARED.items():
        statements = _role_statements(stack.raw, task)
        assert [s for s in statements if s in declared] == declared, task  # all of them, in declaration order
        assert len(statements) == len(baseline) + len(declared), task  # and nothing else
        others = [s for other, stmts in DECLARED.items() if other != task for s in stmts if s not in declared]
        assert not [s for s in statements if s in others], f"{task} got another task's statement"


def test_each_task_function_gets_its_env(stack: Synthesized) -> None:
    env = {t: _task_function(stack.raw, t)["Properties"]["Environment"]["Variables"] for t in DECLARED}
    assert env["extract"]["MODE"] == "prod" and "TARGET" not in env["extract"]
    assert env["load"]["TARGET"] == "warehouse" and "MODE" not in env["load"]
    assert not {"MODE", "TARGET"} & set(env["report"])
    assert env["load"]["ORCH_WORKFLOW"] == "access"  # the platform's own variables stay


def test_nag_acknowledges_exactly_the_declared_wildcards_naming_task_and_declaration(stack: Synthesized) -> None:
    for task, expected in ACKNOWLEDGED.items():
        entries = stack.metadata.get(f"/{STACK}/Wf_access/Task_{task}Role", [])
        acks: dict[str, str] = {}
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                acks.update(entry["data"])
        declared = {
            k.removeprefix("Annotation::AwsSolutions-IAM5[").removesuffix("]"): v
            for k, v in acks.items()
            if "runs/access/*" not in k and v != REASONS["IAM5-xray"]  # every function's tracing grant
        }
        assert set(declared) == expected, task
        for reason in declared.values():
            assert reason.startswith(f"Declared by workflow 'access', task '{task}', for its own function only: ")
        if task == "audit":
            assert declared["Action::s3:*"].endswith(
                "statement(actions=['s3:*'], resources=['*']). A wildcard its author wrote on purpose "
                "(orch validate and synth warn about it)."
            )
        if task == "extract":
            assert declared["Resource::arn:<AWS::Partition>:s3:::my-bucket/raw/*"].endswith(
                "s3_read('my-bucket/raw/'). Objects under a declared key prefix can only be named with a trailing *."
            )


def test_synth_prints_the_wildcard_warnings(stack: Synthesized) -> None:
    lines = [line for line in stack.stderr.splitlines() if line.startswith("warning: access (access.py): ")]
    assert len(lines) == 4
    assert "task 'audit': statement(actions=['s3:*'], resources=['*']) uses the wildcard action 's3:*'" in lines[2]
