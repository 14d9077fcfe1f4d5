"""`orch dlq replay`: send the deliveries waiting in the stack's dead-letter queue back to their function.

The delivery DLQ receives two kinds of message (see docs/deploy.md, "Dead letters and replay"):

- from an EventBridge rule or a Scheduler schedule that could not invoke the function: the body is
  the input it meant to send; the function is the `TARGET_ARN` (EventBridge) or
  `X-Amz-Scheduler-Target-Arn` (Scheduler) message attribute, the reason `ERROR_CODE`;
- from Lambda, when an asynchronous invocation failed after its retries (the on-failure destination):
  the body is a record with `requestContext.functionArn`, `requestContext.condition`,
  `requestPayload` (the original event) and `responsePayload` (the error).

Each message's payload is invoked again asynchronously (InvocationType Event); the message is
deleted only once Lambda accepted the invocation (202). The trigger function starts at most one run
per delivery, so a replay never starts a run twice. Output names message ids, functions and
outcomes, never payloads. Exit status: 0 every selected message replayed (or would be, with
--dry-run); 1 some were kept (malformed, or the invocation was refused); 2 a user error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from orchestration.cli.common import EXIT_OK, EXIT_RUN_FAILED, fail

EVENTBRIDGE_TARGET, SCHEDULER_TARGET = "TARGET_ARN", "X-Amz-Scheduler-Target-Arn"
REASON_ATTRIBUTES = ("ERROR_CODE", "X-Amz-Scheduler-Error-Code", "EXHAUSTED_RETRY_CONDITION")
ACCEPTED = 202  # Lambda's answer to an asynchronous invocation it queued
VISIBILITY_SECONDS = 60  # received messages stay hidden while the command runs; kept ones are shown again


@dataclass(frozen=True)
class DeadLetter:
    """What a DLQ message asks to replay: the function (ARN or name), the payload and the recorded reason."""

    function: str
    payload: bytes
    reason: str
    shape: str  # "lambda" (on-failure destination record) or "target" (EventBridge/Scheduler DLQ)


class Malformed(ValueError):
    """The message is none of the shapes this command replays (kept in the queue)."""


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    text = value.get("StringValue")
    return str(text) if text else None


def parse_dead_letter(message: dict[str, Any]) -> DeadLetter:
    """The replay a DLQ message asks for; Malformed when it is neither known shape."""
    body = message.get("Body") or ""
    try:
        record = json.loads(body)
    except ValueError:
        record = None
    if isinstance(record, dict) and "requestPayload" in record and isinstance(record.get("requestContext"), dict):
        context = record["requestContext"]
        arn = context.get("functionArn")
        if not isinstance(arn, str) or ":function:" not in arn:
            raise Malformed("an on-failure record without requestContext.functionArn")
        response = record.get("responseContext")
        response = response if isinstance(response, dict) else {}
        error = record.get("responsePayload")
        error = error if isinstance(error, dict) else {}
        reason = " / ".join(
            str(x) for x in (context.get("condition"), response.get("functionError"), error.get("errorType")) if x
        )
        return DeadLetter(arn.removesuffix(":$LATEST"), json.dumps(record["requestPayload"]).encode(), reason, "lambda")
    target = _attribute(message, EVENTBRIDGE_TARGET) or _attribute(message, SCHEDULER_TARGET)
    if target is None:
        raise Malformed(f"no {EVENTBRIDGE_TARGET} / {SCHEDULER_TARGET} attribute and not an on-failure record")
    if ":function:" not in target:
        raise Malformed("its target is not a Lambda function")
    reason = " / ".join(a for a in (_attribute(message, n) for n in REASON_ATTRIBUTES) if a)
    return DeadLetter(target, body.encode(), reason, "target")


def function_name(function: str) -> str:
    """`name` of `arn:...:function:name[:qualifier]`, or the name itself."""
    return function.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in function else function


def _messages(sqs: Any, queue_url: str, limit: int | None) -> Iterator[dict[str, Any]]:
    """The queue's messages, each received once (they stay hidden while the command runs)."""
    seen = 0
    while limit is None or seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - seen) if limit is not None else 10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield message


def replay(
    sqs: Any,
    lambda_: Any,
    queue_url: str,
    *,
    function: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
) -> list[tuple[str, str, str]]:
    """Replay the queue's messages: (message id, function, outcome) for each message looked at."""
    done: list[tuple[str, str, str]] = []
    kept: list[dict[str, Any]] = []
    for message in _messages(sqs, queue_url, limit):
        mid = str(message.get("MessageId"))
        try:
            letter = parse_dead_letter(message)
        except Malformed as exc:
            kept.append(message)
            done.append((mid, "-", f"kept: malformed ({exc})"))
            continue
        name = function_name(letter.function)
        why = f" [{letter.reason}]" if letter.reason else ""
        if function is not None and function not in (name, letter.function):
            kept.append(message)
            done.append((mid, name, "skipped: another function"))
            continue
        if dry_run:
            kept.append(message)
            done.append((mid, name, f"would replay ({letter.shape}){why}"))
            continue
        try:
            status = lambda_.invoke(FunctionName=letter.function, InvocationType="Event", Payload=letter.payload)
        except Exception as exc:  # botocore's ClientError and connection errors: the message stays
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            kept.append(message)
            done.append((mid, name, f"kept: invoke failed ({code})"))
            continue
        if status.get("StatusCode") != ACCEPTED:
            kept.append(message)
            done.append((mid, name, f"kept: invoke answered {status.get('StatusCode')}"))
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        done.append((mid, name, f"replayed ({letter.shape}){why}"))
    for message in kept:  # visible again for the next replay
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return done


@click.group()
def dlq() -> None:
    """Dead letters: deliveries the trigger and recorder functions could not take."""


@dlq.command("replay")
@click.option("--queue-url", required=True, metavar="URL", help="The delivery DLQ (stack output DeliveryDLQUrl).")
@click.option("--function", "function", metavar="NAME", help="Replay only messages for this function (name or ARN).")
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; change nothing.")
@click.option("--max", "limit", type=click.IntRange(min=1), metavar="N", help="Look at N messages at most.")
@click.option("--region", metavar="REGION", help="AWS region (default: the usual AWS settings).")
@click.option("--profile", metavar="PROFILE", help="AWS profile (default: the usual AWS settings).")
def replay_cmd(
    queue_url: str, function: str | None, dry_run: bool, limit: int | None, region: str | None, profile: str | None
) -> None:
    """Invoke each dead-lettered delivery's function again with its original payload; delete a message
    once the invocation is accepted. Prints message ids, functions and outcomes, never payloads."""
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        outcomes = replay(
            session.client("sqs"), session.client("lambda"), queue_url, function=function, dry_run=dry_run, limit=limit
        )
    except botocore.exceptions.ClientError as exc:
        fail(
            f"cannot read the queue {queue_url!r}: {exc.response['Error'].get('Code')}: "
            "check --queue-url and the credentials"
        )
    except botocore.exceptions.BotoCoreError as exc:
        fail(f"cannot reach AWS ({type(exc).__name__}: {exc}): check --region/--profile or AWS_REGION/AWS_PROFILE")
    for mid, name, outcome in outcomes:
        click.echo(f"{mid}  {name}  {outcome}")
    counts = {
        word: sum(1 for *_, o in outcomes if o.startswith(word)) for word in ("replayed", "would", "skipped", "kept")
    }
    click.echo(
        f"{len(outcomes)} message(s): {counts['would'] if dry_run else counts['replayed']} "
        f"{'to replay' if dry_run else 'replayed'}, {counts['skipped']} skipped, {counts['kept']} kept"
    )
    kept = counts["kept"]
    raise SystemExit(EXIT_RUN_FAILED if kept else EXIT_OK)
