"""`orch dlq replay` on moto in-process: both dead-letter shapes, a malformed message, --dry-run,
--function and --max; invocations observed through botocore's `before-call.lambda.Invoke` event."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto import mock_aws

from orchestration.cli import main
from orchestration.cli.dlq import function_name, parse_dead_letter

REGION = "us-east-1"
SECRET = "AKIAIOSFODNN7EXAMPLE-SECRET"
SCHEDULE_DELIVERY = {"trigger": "nightly", "scheduled_time": "2026-11-21T06:00:00Z", "note": SECRET}
STATUS_EVENT = {"source": "aws.states", "detail": {"name": "r-1", "status": "FAILED", "input": SECRET}}


@dataclass
class Aws:
    sqs: Any
    queue_url: str
    trigger_arn: str
    recorder_arn: str
    invoked: list[tuple[str, str, Any]] = field(default_factory=list)  # (function, invocation type, payload)
    refuse: set[str] = field(default_factory=set)  # function names whose invocation is refused

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        attrs = {k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()}
        return str(
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attrs)["MessageId"]
        )

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def observe(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        name = function_name(unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0]))
        if any(name.endswith(r) for r in self.refuse):
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "x"}}, "Invoke")
        kind = params["headers"].get("X-Amz-Invocation-Type")
        self.invoked.append((name, str(kind), json.loads(params["body"])))
        return AWSResponse(params["url"], 202, {}, None), {"StatusCode": 202}


def _function(lam: Any, role: str, name: str) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def handler(event, context):\n    return event\n")
    code = {"ZipFile": buf.getvalue()}
    return str(
        lam.create_function(FunctionName=name, Runtime="python3.13", Role=role, Handler="h.handler", Code=code)[
            "FunctionArn"
        ]
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda")
        sqs = boto3.client("sqs")
        state = Aws(
            sqs=sqs,
            queue_url=sqs.create_queue(QueueName="orch-DeliveryDLQ")["QueueUrl"],
            trigger_arn=_function(lam, role, "orch-nightly-Trigger"),
            recorder_arn=_function(lam, role, "orch-Recorder"),
        )
        real = boto3.Session

        def session(*args: Any, **kwargs: Any) -> boto3.Session:
            s = real(*args, **kwargs)
            s.events.register("before-call.lambda.Invoke", state.observe)
            return s

        monkeypatch.setattr(boto3, "Session", session)
        yield state


def _fill(aws: Aws) -> dict[str, str]:
    """One message of each shape, and a malformed one."""
    scheduler = aws.send(
        json.dumps(SCHEDULE_DELIVERY),
        {"X-Amz-Scheduler-Target-Arn": aws.trigger_arn, "ERROR_CODE": "Lambda.TooManyRequestsException"},
    )
    record = {
        "version": "1.0",
        "requestContext": {
            "requestId": "r",
            "functionArn": aws.recorder_arn + ":$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": STATUS_EVENT,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": SECRET, "errorType": "KeyError"},
    }
    destination = aws.send(json.dumps(record))
    malformed = aws.send(json.dumps({"hello": SECRET}))
    return {"scheduler": scheduler, "destination": destination, "malformed": malformed}


def _replay(aws: Aws, *args: str) -> Any:
    return CliRunner().invoke(main, ["dlq", "replay", "--queue-url", aws.queue_url, *args])


def test_replay_invokes_each_function_with_its_payload_and_keeps_the_malformed(aws: Aws) -> None:
    ids = _fill(aws)
    result = _replay(aws)
    assert result.exit_code == 1, result.output  # one message kept
    out = result.output
    assert SECRET not in out  # ids, functions, outcomes; never payloads
    lines = {line.split()[0]: line for line in out.splitlines() if "  " in line}
    assert "orch-nightly-Trigger  replayed (target) [Lambda.TooManyRequestsException]" in lines[ids["scheduler"]]
    assert "orch-Recorder  replayed (lambda) [RetriesExhausted / Unhandled / KeyError]" in lines[ids["destination"]]
    assert "kept: malformed" in lines[ids["malformed"]]
    assert "3 message(s): 2 replayed, 0 skipped, 1 kept" in out
    assert sorted(aws.invoked, key=lambda c: c[0]) == [
        ("orch-Recorder", "Event", STATUS_EVENT),
        ("orch-nightly-Trigger", "Event", SCHEDULE_DELIVERY),
    ]
    assert aws.depth() == 1  # only the malformed message is left, visible again
    again = _replay(aws)
    assert again.exit_code == 1 and "1 message(s): 0 replayed, 0 skipped, 1 kept" in again.output


def test_dry_run_changes_nothing(aws: Aws) -> None:
    ids = _fill(aws)
    result = _replay(aws, "--dry-run")
    assert result.exit_code == 1  # the malformed one would be kept
    assert f"{ids['scheduler']}  orch-nightly-Trigger  would replay (target)" in result.output
    assert f"{ids['destination']}  orch-Recorder  would replay (lambda)" in result.output
    assert aws.invoked == [] and aws.depth() == 3
    assert SECRET not in result.output


def test_function_filter_max_and_a_refused_invocation(aws: Aws) -> None:
    ids = _fill(aws)
    result = _replay(aws, "--function", "orch-Recorder")
    assert f"{ids['scheduler']}  orch-nightly-Trigger  skipped: another function" in result.output
    assert [c[0] for c in aws.invoked] == ["orch-Recorder"] and aws.depth() == 2
    aws.refuse.add("orch-nightly-Trigger")
    refused = _replay(aws, "--function", aws.trigger_arn, "--max", "5")
    assert refused.exit_code == 1
    assert f"{ids['scheduler']}  orch-nightly-Trigger  kept: invoke failed (TooManyRequestsException)" in refused.output
    assert aws.depth() == 2  # kept: the invocation was not accepted
    aws.refuse.clear()
    assert _replay(aws, "--max", "1").output.count("message(s)") == 1
    assert "1 message(s)" in _replay(aws, "--max", "1", "--dry-run").output


def test_an_empty_queue_and_a_missing_queue(aws: Aws) -> None:
    empty = _replay(aws)
    assert empty.exit_code == 0 and "0 message(s)" in empty.output
    missing = CliRunner().invoke(
        main, ["dlq", "replay", "--queue-url", f"https://sqs.{REGION}.amazonaws.com/123456789012/nope"]
    )
    assert missing.exit_code == 2 and "cannot read the queue" in missing.output and "Traceback" not in missing.output


def test_event_bridge_target_messages_and_foreign_targets() -> None:
    attrs = {"TARGET_ARN": {"StringValue": "arn:aws:lambda:us-east-1:1:function:f"}, "ERROR_CODE": {"StringValue": "E"}}
    letter = parse_dead_letter({"Body": '{"trigger": "t"}', "MessageAttributes": attrs})
    assert (letter.function, letter.payload, letter.reason, letter.shape) == (
        "arn:aws:lambda:us-east-1:1:function:f",
        b'{"trigger": "t"}',
        "E",
        "target",
    )
    queue = {"TARGET_ARN": {"StringValue": "arn:aws:sqs:us-east-1:1:q"}}
    with pytest.raises(ValueError, match="not a Lambda function"):
        parse_dead_letter({"Body": "{}", "MessageAttributes": queue})
    with pytest.raises(ValueError, match=r"without requestContext\.functionArn"):
        parse_dead_letter({"Body": json.dumps({"requestContext": {}, "requestPayload": 1})})
