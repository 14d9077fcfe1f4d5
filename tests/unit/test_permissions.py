"""Per-task access declarations: rendering, bad input, wildcard warnings, env checks and ctx.secret."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration import (
    SecretError,
    TaskContext,
    Workflow,
    WorkflowDefinitionError,
    s3_read,
    s3_write,
    secret,
    sqs_send,
    statement,
)
from orchestration.permissions import Statement, declared_secrets
from orchestration.validation import problems, warnings
from tests.samples import ROOT

P = "${AWS::Partition}"
SM = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"


# -- rendering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["my-bucket/raw/", "my-bucket/raw/*", "s3://my-bucket/raw/"])
def test_s3_read_a_prefix_gets_objects_and_a_listing_limited_to_it(target: str) -> None:
    perm = s3_read(target)
    assert perm.statements == (
        Statement(("s3:GetObject",), (f"arn:{P}:s3:::my-bucket/raw/*",)),
        Statement(("s3:ListBucket",), (f"arn:{P}:s3:::my-bucket",), {"StringLike": {"s3:prefix": ["raw/*"]}}),
    )
    assert perm.warnings == ()
    assert str(perm) == f"s3_read({target!r})"


def test_s3_read_keeps_a_full_arn_as_written() -> None:
    perm = s3_read("arn:aws-cn:s3:::my-bucket/raw/")
    assert [s.resources for s in perm.statements] == [
        ("arn:aws-cn:s3:::my-bucket/raw/*",),
        ("arn:aws-cn:s3:::my-bucket",),
    ]


def test_s3_read_one_object_and_a_whole_bucket() -> None:
    one = s3_read("my-bucket/ref/codes.csv")
    assert one.statements[0].resources == (f"arn:{P}:s3:::my-bucket/ref/codes.csv",)
    assert one.statements[1].conditions == {"StringLike": {"s3:prefix": ["ref/codes.csv"]}}
    assert one.warnings == ()
    whole = s3_read("my-bucket")
    assert whole.statements == (
        Statement(("s3:GetObject",), (f"arn:{P}:s3:::my-bucket/*",)),
        Statement(("s3:ListBucket",), (f"arn:{P}:s3:::my-bucket",)),  # no prefix to limit it to
    )
    assert whole.warnings == (
        "s3_read('my-bucket') covers every object in bucket 'my-bucket': narrow it to a key prefix, "
        "e.g. 'my-bucket/raw/'",
    )


def test_s3_write_puts_and_aborts_uploads_under_the_prefix() -> None:
    assert s3_write("my-bucket/out/").statements == (
        Statement(("s3:PutObject", "s3:AbortMultipartUpload"), (f"arn:{P}:s3:::my-bucket/out/*",)),
    )


def test_secret_by_name_matches_the_random_suffix_and_kms_only_with_a_key() -> None:
    plain = secret("warehouse/password")
    assert plain.statements == (Statement(("secretsmanager:GetSecretValue",), (f"{SM}warehouse/password-??????",)),)
    assert plain.secret == "warehouse/password" and plain.warnings == ()
    with_key = secret("warehouse/password", kms_key=KEY)
    assert with_key.statements[1] == Statement(
        ("kms:Decrypt",), (f"arn:{P}:kms:${{AWS::Region}}:${{AWS::AccountId}}:key/{KEY}",)
    )
    key_arn = f"arn:aws:kms:eu-west-1:111122223333:key/{KEY}"
    assert secret("x", kms_key=key_arn).statements[1].resources == (key_arn,)


def test_secret_by_full_arn_is_used_as_is() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared/token-AbCdEf"
    perm = secret(arn)
    assert perm.statements == (Statement(("secretsmanager:GetSecretValue",), (arn,)),)
    assert perm.secret == arn


def test_sqs_send_by_name_or_arn() -> None:
    arn = f"arn:{P}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:my-queue.fifo"
    assert sqs_send("my-queue.fifo").statements == (Statement(("sqs:SendMessage",), (arn,)),)
    given = "arn:aws:sqs:eu-west-1:111122223333:other"
    assert sqs_send(given).statements[0].resources == (given,)
    encrypted = sqs_send("q1", kms_key=KEY).statements[1]
    assert encrypted.actions == ("kms:GenerateDataKey", "kms:Decrypt")


def test_statement_is_raw() -> None:
    perm = statement(
        actions=["dynamodb:GetItem", "dynamodb:Query"],
        resources=["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/x"],
        conditions={"StringEquals": {"aws:ResourceTag/team": "data"}},
    )
    assert perm.statements == (
        Statement(
            ("dynamodb:GetItem", "dynamodb:Query"),
            ("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/x",),
            {"StringEquals": {"aws:ResourceTag/team": "data"}},
        ),
    )
    assert perm.warnings == () and perm.secret is None


# -- bad input ----------------------------------------------------------------------------------


def _bad_calls() -> list[tuple[str, Any, list[str]]]:
    return [
        ("empty target", lambda: s3_read(""), ["s3_read('')", "non-empty string", "my-bucket/raw/"]),
        ("empty bucket", lambda: s3_read("/raw/"), ["'' is not a bucket name", "s3_read('my-bucket/raw/')"]),
        ("spaces", lambda: s3_write("my bucket/out/"), ["'my bucket' is not a bucket name", "no spaces"]),
        ("padded", lambda: s3_read(" my-bucket"), ["remove the spaces"]),
        ("not a string", lambda: s3_read(42), ["s3_read(42)", "non-empty string"]),
        ("secret spaces", lambda: secret("warehouse password"), ["'warehouse password' is not a secret name"]),
        ("secret pattern", lambda: secret("arn:aws:secretsmanager:r:1:secret:w/*"), ["not the ARN of one secret"]),
        ("kms alias", lambda: secret("w", kms_key="alias/mine"), ["kms_key='alias/mine'", "an alias cannot"]),
        ("queue spaces", lambda: sqs_send("my queue"), ["'my queue' is not a queue name"]),
        ("queue url", lambda: sqs_send("https://sqs.eu-west-1.amazonaws.com/1/q"), ["a queue URL?"]),
        (
            "no service prefix",
            lambda: statement(actions=["GetItem"], resources=["*"]),
            ["action 'GetItem' is not SERVICE:Action", "'s3:GetObject'"],
        ),
        (
            "actions not a list",
            lambda: statement(actions="s3:GetObject", resources=["*"]),
            ["actions must be a non-empty list of strings"],
        ),
        ("no resources", lambda: statement(actions=["s3:GetObject"], resources=[]), ["resources must be a non-empty"]),
        (
            "resource not an ARN",
            lambda: statement(actions=["s3:GetObject"], resources=["my-bucket"]),
            ["resource 'my-bucket' is not an ARN"],
        ),
        (
            "bad conditions",
            lambda: statement(actions=["s3:GetObject"], resources=["*"], conditions={"StringEquals": "x"}),
            ["conditions={'StringEquals': 'x'} must map an operator"],
        ),
    ]


@pytest.mark.parametrize(("case", "call", "fragments"), _bad_calls(), ids=[c[0] for c in _bad_calls()])
def test_bad_declarations_name_the_value_and_the_fix(case: str, call: Any, fragments: list[str]) -> None:
    with pytest.raises(WorkflowDefinitionError) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("s3:GetObject", "permissions= takes a list, got 's3:GetObject'"),
        (s3_read("my-bucket/raw/"), "permissions= takes a list"),
        (["s3:GetObject"], "'s3:GetObject' in permissions= is not a permission"),
    ],
)
def test_permissions_option_must_be_a_list_of_declarations(value: Any, fragment: str) -> None:
    wf = Workflow("bad_perms")
    with pytest.raises(WorkflowDefinitionError, match="task 'a'") as info:
        wf.task(name="a", permissions=value)(lambda: None)
    assert fragment in str(info.value)


def test_env_option_must_be_a_mapping() -> None:
    wf = Workflow("bad_env")
    with pytest.raises(WorkflowDefinitionError, match=r"task 'a': env= takes a dict of strings, got \['MODE'\]"):
        wf.task(name="a", env=["MODE"])(lambda: None)


# -- validation: env problems and wildcard warnings --------------------------------------------


def _one_task(**options: Any) -> Workflow:
    wf = Workflow("w")
    wf.task(name="t", **options)(lambda: None)
    return wf


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"my-key": "x"}, "env key 'my-key' is not a variable name Lambda accepts"),
        ({"X": "x"}, "env key 'X' is not a variable name"),
        ({"AWS_REGION": "x"}, "env key 'AWS_REGION' is reserved"),
        ({"LAMBDA_TASK_ROOT": "x"}, "env key 'LAMBDA_TASK_ROOT' is reserved"),
        ({"ORCH_WORKFLOW": "x"}, "env key 'ORCH_WORKFLOW' is reserved"),
        ({"POWERTOOLS_LOG_LEVEL": "x"}, "env key 'POWERTOOLS_LOG_LEVEL' is reserved"),
        ({"TZ": "x"}, "env key 'TZ' is reserved"),
        ({"LIMIT": 5}, "env 'LIMIT' must be a string, got int 5: write '5'"),
        ({"BIG": "x" * 2000, "HUGE": "y" * 2000}, "env is 4020 bytes (as JSON), over the 3072 bytes"),
    ],
)
def test_env_problems_name_the_key(env: dict[str, Any], fragment: str) -> None:
    (problem,) = problems(_one_task(env=env))
    assert problem.startswith("task 't': ")
    assert fragment in problem


def test_env_size_names_the_largest_key() -> None:
    (problem,) = problems(_one_task(env={"SMALL": "x" * 1500, "LARGEST": "y" * 2000}))
    assert "the largest is 'LARGEST'" in problem


def test_good_env_and_permissions_are_valid_and_warn_only_about_wildcards() -> None:
    wf = _one_task(
        env={"MODE": "prod", "mode_2": ""},
        permissions=[
            s3_read("my-bucket/raw/"),
            s3_write("my-bucket/out/*"),
            secret("w/p"),
            sqs_send("q"),
            s3_read("my-bucket"),
            statement(actions=["s3:Get*", "s3:PutObject"], resources=["*", "arn:aws:s3:::b/raw/*"]),
            statement(actions=["sqs:SendMessage"], resources=["arn:aws:sqs:*:111122223333:q"]),
            statement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/*/2026/*"]),
        ],
    )
    assert problems(wf) == []
    wild = "statement(actions=['s3:Get*', 's3:PutObject'], resources=['*', 'arn:aws:s3:::b/raw/*'])"
    assert warnings(wf) == [
        "task 't': s3_read('my-bucket') covers every object in bucket 'my-bucket': narrow it to a key prefix, "
        "e.g. 'my-bucket/raw/'",
        f"task 't': {wild} uses the wildcard action 's3:Get*': name the actions the task calls",
        f"task 't': {wild} uses the wildcard resource '*': name the resources (ARNs) the task touches",
        "task 't': statement(actions=['sqs:SendMessage'], resources=['arn:aws:sqs:*:111122223333:q']) uses the "
        "wildcard resource 'arn:aws:sqs:*:111122223333:q': name the resources the task touches",
        "task 't': statement(actions=['s3:GetObject'], resources=['arn:aws:s3:::b/*/2026/*']) uses a wildcard "
        "inside the key '*/2026/*': name a key prefix instead",
    ]


def test_the_test_workflow_warns_about_its_wildcards() -> None:
    from orchestration import load_workflow

    found = warnings(load_workflow(ROOT / "tests" / "workflows" / "access.py"))
    assert [w.split(":")[0] for w in found] == ["task 'load'", "task 'audit'", "task 'audit'", "task 'audit'"]


# -- ctx.secret and ctx.env -------------------------------------------------------------------


def _ctx(**fields: Any) -> TaskContext:
    return TaskContext("r1", "w", "t", None, 1, None, None, **fields)


def test_ctx_secret_refuses_an_undeclared_secret_listing_the_declared_ones() -> None:
    perms = [secret("a/one"), s3_read("my-bucket/x/"), secret("b/two")]
    ctx = _ctx(secrets=declared_secrets(perms), env={"MODE": "prod"})
    with pytest.raises(SecretError) as info:
        ctx.secret("c/three")
    assert str(info.value) == (
        "task 't' did not declare secret 'c/three' (it declares: 'a/one', 'b/two'); add secret('c/three') "
        "to its permissions=[...] so its function may read it"
    )
    with pytest.raises(SecretError, match=r"\(it declares: none\)"):
        _ctx().secret("a/one")
    assert ctx.env == {"MODE": "prod"}
