"""Per-task access: what a task's function may touch on AWS (pure: no AWS SDK, no CDK).

A task lists permissions in `@wf.task(permissions=[...])`; each constructor below checks its input and
renders least-privilege IAM policy statements as plain data. An ARN built from a short name holds
CloudFormation pseudo-parameters (`${AWS::Partition}`, `${AWS::Region}`, `${AWS::AccountId}`) that infra
fills with `Fn::Sub`; a full ARN given by the user is kept as written.

What counts as a *wildcard* (a validation warning, never an error): an action holding `*` or `?`; the
resource `*`; object access to a whole bucket (`s3_read("bucket")`, `"bucket/*"`); a `*` or `?`
anywhere in an ARN other than one trailing `*` after an S3 key prefix (`"bucket/raw/*"` is a prefix,
not a wildcard).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestration.errors import WorkflowDefinitionError

PARTITION = "${AWS::Partition}"
REGION = "${AWS::Region}"
ACCOUNT = "${AWS::AccountId}"

S3_READ_ACTIONS = ("s3:GetObject",)
S3_LIST_ACTIONS = ("s3:ListBucket",)
S3_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
SECRET_ACTIONS = ("secretsmanager:GetSecretValue",)
SECRET_KMS_ACTIONS = ("kms:Decrypt",)
SQS_SEND_ACTIONS = ("sqs:SendMessage",)
SQS_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")  # sending to a queue encrypted with that key

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
QUEUE_NAME_RE = re.compile(r"^(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?$")
KMS_KEY_ID_RE = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+$")
ARN_RE = re.compile(r"^arn:[^:\s]+:[a-z0-9-]+:[^:\s]*:[^:\s]*:\S+$")
WILDCARD_CHARS = ("*", "?")
PSEUDO_RE = re.compile(r"\$\{AWS::[A-Za-z]+\}")  # ${AWS::Region} etc., filled by Fn::Sub at deploy


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement (Effect Allow); resources may hold `${AWS::...}` pseudo-parameters."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class Permission:
    """A declaration in a task's `permissions=`: its statements and what validation warns about."""

    declaration: str  # as the user wrote it, e.g. s3_read('my-bucket/raw/')
    statements: tuple[Statement, ...]
    warnings: tuple[str, ...] = ()  # wildcards the user wrote, each with the way to narrow it
    secret: str | None = None  # the secret `ctx.secret()` may fetch (name or ARN)

    def __str__(self) -> str:
        return self.declaration


# -- constructors --------------------------------------------------------------------------------


def s3_read(target: str) -> Permission:
    """Read objects: `"bucket"`, `"bucket/prefix/"` (or `"bucket/prefix/*"`), `"bucket/key"`, an
    `s3://` URL or an S3 ARN. s3:GetObject on the objects, s3:ListBucket limited to the prefix."""
    decl = f"s3_read({target!r})"
    partition, bucket, pattern = _s3_target("s3_read", target)
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    listing = None if pattern == "*" else {"StringLike": {"s3:prefix": [pattern]}}
    return Permission(
        decl,
        (
            Statement(S3_READ_ACTIONS, (f"{bucket_arn}/{pattern}",)),
            Statement(S3_LIST_ACTIONS, (bucket_arn,), listing),
        ),
        _s3_warnings(decl, bucket, pattern),
    )


def s3_write(target: str) -> Permission:
    """Write objects under a bucket or key prefix (same forms as `s3_read`): s3:PutObject and
    s3:AbortMultipartUpload (large uploads are multipart)."""
    decl = f"s3_write({target!r})"
    partition, bucket, pattern = _s3_target("s3_write", target)
    return Permission(
        decl,
        (Statement(S3_WRITE_ACTIONS, (f"arn:{partition}:s3:::{bucket}/{pattern}",)),),
        _s3_warnings(decl, bucket, pattern),
    )


def secret(name: str, *, kms_key: str | None = None) -> Permission:
    """Read one Secrets Manager secret (by name, or its full ARN) with `ctx.secret(name)`.

    `kms_key` (key id or key ARN) adds kms:Decrypt on that key, needed when the secret is encrypted
    with a customer managed key instead of AWS's `aws/secretsmanager` key.
    """
    decl = f"secret({name!r}" + (f", kms_key={kms_key!r})" if kms_key is not None else ")")
    text = _text("secret", name, "the secret's name, e.g. secret('warehouse/password')")
    if text.startswith("arn:"):
        if not re.match(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:\S+$", _shape(text)) or _has_wildcard(text):
            raise WorkflowDefinitionError(
                f"{decl}: {text!r} is not the ARN of one secret; pass the secret's name or its full ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)"
            )
        arn = text
    elif SECRET_NAME_RE.match(text):
        arn = f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{text}-??????"  # the random suffix
    else:
        raise WorkflowDefinitionError(
            f"{decl}: {text!r} is not a secret name; use 1-512 letters, digits or /_+=.@- (no spaces, no wildcards)"
        )
    statements = [Statement(SECRET_ACTIONS, (arn,))]
    if kms_key is not None:
        statements.append(Statement(SECRET_KMS_ACTIONS, (_kms_key_arn(decl, kms_key),)))
    return Permission(decl, tuple(statements), secret=text)


def sqs_send(queue: str, *, kms_key: str | None = None) -> Permission:
    """Send messages to one queue (name or ARN); `kms_key` for a queue encrypted with a customer
    managed key (adds kms:GenerateDataKey and kms:Decrypt on it)."""
    decl = f"sqs_send({queue!r}" + (f", kms_key={kms_key!r})" if kms_key is not None else ")")
    text = _text("sqs_send", queue, "the queue's name, e.g. sqs_send('my-queue')")
    warnings: tuple[str, ...] = ()
    if text.startswith("arn:"):
        if not re.match(r"^arn:[^:]+:sqs:[^:]*:[^:]*:\S+$", _shape(text)):
            raise WorkflowDefinitionError(
                f"{decl}: {text!r} is not an SQS queue ARN; pass the queue's name or arn:aws:sqs:REGION:ACCOUNT:NAME"
            )
        arn = text
        warnings = _arn_warnings(decl, text)
    elif QUEUE_NAME_RE.match(text):
        arn = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{text}"
    else:
        hint = " (a queue URL? pass the name at its end)" if text.startswith("https://") else ""
        raise WorkflowDefinitionError(
            f"{decl}: {text!r} is not a queue name{hint}; use 1-80 letters, digits, '-' or '_' "
            "(with '.fifo' for a FIFO queue), or the queue's ARN"
        )
    statements = [Statement(SQS_SEND_ACTIONS, (arn,))]
    if kms_key is not None:
        statements.append(Statement(SQS_KMS_ACTIONS, (_kms_key_arn(decl, kms_key),)))
    return Permission(decl, tuple(statements), warnings)


def statement(
    *,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Permission:
    """Any other access, as a raw IAM statement (Effect Allow). Resources are ARNs (they may use
    `${AWS::Partition}`, `${AWS::Region}`, `${AWS::AccountId}`) or `*`."""
    decl = f"statement(actions={_as_list(actions)!r}, resources={_as_list(resources)!r})"
    action_list = _strings(decl, "actions", actions, "e.g. actions=['dynamodb:GetItem']")
    resource_list = _strings(decl, "resources", resources, "e.g. resources=['arn:aws:dynamodb:*:*:table/x']")
    for action in action_list:
        if action != "*" and not ACTION_RE.match(action):
            raise WorkflowDefinitionError(
                f"{decl}: action {action!r} is not SERVICE:Action; prefix it with its service, e.g. 's3:GetObject'"
            )
    for resource in resource_list:
        if resource != "*" and not ARN_RE.match(_shape(resource)):
            raise WorkflowDefinitionError(
                f"{decl}: resource {resource!r} is not an ARN; write arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE "
                "(${AWS::Region} and ${AWS::AccountId} are filled at deploy) or '*'"
            )
    if conditions is not None and not (
        isinstance(conditions, Mapping) and all(isinstance(v, Mapping) for v in conditions.values())
    ):
        raise WorkflowDefinitionError(
            f"{decl}: conditions={conditions!r} must map an operator to {{key: value}}, "
            "e.g. {'StringEquals': {'aws:ResourceTag/team': 'data'}}"
        )
    warnings = [
        f"{decl} uses the wildcard action {a!r}: name the actions the task calls"
        for a in action_list
        if _has_wildcard(a)
    ]
    for resource in resource_list:
        warnings.extend(_arn_warnings(decl, resource))
    condition_map = {k: dict(v) for k, v in conditions.items()} if conditions else None
    return Permission(decl, (Statement(tuple(action_list), tuple(resource_list), condition_map),), tuple(warnings))


# -- for the model and the runtime -----------------------------------------------------------------


def permission_list(value: Any, task: str) -> tuple[Permission, ...]:
    """A task's `permissions=` option, checked: a list (or tuple) of declarations."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise WorkflowDefinitionError(
            f"task {task!r}: permissions= takes a list, got {value!r}; write e.g. "
            "permissions=[s3_read('my-bucket/raw/'), secret('warehouse/password')]"
        )
    items = tuple(value)
    for item in items:
        if not isinstance(item, Permission):
            raise WorkflowDefinitionError(
                f"task {task!r}: {item!r} in permissions= is not a permission; use s3_read(...), s3_write(...), "
                "secret(...), sqs_send(...) or statement(actions=[...], resources=[...]) from orchestration"
            )
    return items


def declared_secrets(permissions: Iterable[Permission]) -> tuple[str, ...]:
    """The secrets a task may read with `ctx.secret`, in declaration order."""
    return tuple(p.secret for p in permissions if p.secret is not None)


# -- helpers ------------------------------------------------------------------------------------


def _text(kind: str, value: Any, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkflowDefinitionError(f"{kind}({value!r}): expected a non-empty string: {example}")
    if value != value.strip():
        raise WorkflowDefinitionError(f"{kind}({value!r}): remove the spaces around the value")
    return value


def _s3_target(kind: str, target: Any) -> tuple[str, str, str]:
    """(partition, bucket, key pattern): a key ending in '/' or no key at all covers everything below."""
    text = _text(kind, target, f"a bucket and optional key prefix, e.g. {kind}('my-bucket/raw/')")
    partition = PARTITION
    if text.startswith("arn:"):
        match = re.match(r"^arn:(\$\{AWS::Partition\}|[^:]+):s3:::(.+)$", text)
        if match is None:
            raise WorkflowDefinitionError(
                f"{kind}({text!r}): not an S3 ARN; write arn:aws:s3:::BUCKET/KEY_PREFIX or just 'BUCKET/KEY_PREFIX'"
            )
        partition, text = match.groups()
    elif text.startswith("s3://"):
        text = text.removeprefix("s3://")
    bucket, _, key = text.partition("/")
    if not BUCKET_RE.match(bucket) or ".." in bucket:
        raise WorkflowDefinitionError(
            f"{kind}({target!r}): {bucket!r} is not a bucket name; use 3-63 lowercase letters, digits, '.' or '-' "
            f"(no spaces, no wildcards), then an optional key prefix: {kind}('my-bucket/raw/')"
        )
    if any(ch in key for ch in "\r\n\t"):
        raise WorkflowDefinitionError(f"{kind}({target!r}): the key prefix holds a control character; remove it")
    return partition, bucket, key + "*" if key == "" or key.endswith("/") else key


def _s3_warnings(decl: str, bucket: str, pattern: str) -> tuple[str, ...]:
    core = pattern.removesuffix("*")
    if not core:
        return (f"{decl} covers every object in bucket {bucket!r}: narrow it to a key prefix, e.g. '{bucket}/raw/'",)
    if _has_wildcard(core):
        return (f"{decl} uses a wildcard inside the key {pattern!r}: name a key prefix instead",)
    return ()


def _arn_warnings(decl: str, resource: str) -> tuple[str, ...]:
    if resource == "*":
        return (f"{decl} uses the wildcard resource '*': name the resources (ARNs) the task touches",)
    s3 = re.match(r"^arn:[^:]+:s3:::([^/]+)(?:/(.*))?$", _shape(resource))
    if s3 is not None and not _has_wildcard(s3.group(1)) and s3.group(2) is not None:
        return _s3_warnings(decl, s3.group(1), s3.group(2) or "*")
    if _has_wildcard(resource):
        return (f"{decl} uses the wildcard resource {resource!r}: name the resources the task touches",)
    return ()


def _shape(arn: str) -> str:
    """The ARN with each pseudo-parameter replaced by a plain word, for checking its shape."""
    return PSEUDO_RE.sub("AWS", arn)


def _has_wildcard(text: str) -> bool:
    return any(ch in text for ch in WILDCARD_CHARS)


def _kms_key_arn(decl: str, key: Any) -> str:
    if isinstance(key, str) and KMS_KEY_ID_RE.match(key):
        return f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{key}"
    if isinstance(key, str) and re.match(r"^arn:[^:]+:kms:[^:]+:[^:]+:key/[A-Za-z0-9-]+$", _shape(key)):
        return key
    raise WorkflowDefinitionError(
        f"{decl}: kms_key={key!r} is not a KMS key id or key ARN; pass the key's id "
        "(1234abcd-12ab-34cd-56ef-1234567890ab) or arn:aws:kms:REGION:ACCOUNT:key/ID (an alias cannot grant Decrypt)"
    )


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _strings(decl: str, option: str, value: Any, example: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise WorkflowDefinitionError(f"{decl}: {option} must be a non-empty list of strings, {example}")
    for item in value:
        if not isinstance(item, str) or not item or item != item.strip():
            raise WorkflowDefinitionError(
                f"{decl}: {option} holds {item!r}, which is not a non-empty string without surrounding spaces"
            )
    return list(value)
