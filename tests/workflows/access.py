"""A workflow declaring every kind of permission, with env and a secret (tests of per-task access)."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from orchestration import Workflow, s3_read, s3_write, secret, sqs_send, statement

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

wf = Workflow("access")


@wf.task(permissions=[s3_read("my-bucket/raw/"), secret("warehouse/password")], env={"MODE": "prod"})
def extract(ctx: Any) -> dict[str, Any]:
    """Reads its secret (returns only a digest of it) and its env."""
    password = ctx.secret("warehouse/password")
    return {"digest": hashlib.sha256(password.encode()).hexdigest(), "mode": os.environ["MODE"], "env": dict(ctx.env)}


@wf.task(
    permissions=[
        s3_write("my-bucket/out/"),
        sqs_send("my-queue"),
        secret("warehouse/api-key", kms_key=KEY_ID),
        statement(actions=["dynamodb:GetItem"], resources=["arn:aws:dynamodb:*:*:table/x"]),
    ],
    env={"TARGET": "warehouse"},
)
def load(extract: dict[str, Any]) -> str:
    """Reads an env var it declared."""
    return f"{os.environ['TARGET']}:{extract['mode']}"


@wf.task(
    after=["load"],
    permissions=[
        s3_read("archive-bucket"),
        statement(actions=["s3:*"], resources=["*"]),
        statement(actions=["s3:GetObject"], resources=["arn:${AWS::Partition}:s3:::teams/${aws:PrincipalTag/team}/*"]),
    ],
)
def audit() -> None:
    """Declares wildcards (a whole bucket, s3:* on everything) and an IAM policy variable."""


@wf.task(after=["load"])
def report() -> str:
    """Declares nothing."""
    return "ok"
