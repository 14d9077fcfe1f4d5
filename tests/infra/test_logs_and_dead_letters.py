"""Logs (state machine levels, the log key) and dead letters (on-failure destinations, the DLQ alarm,
reserved concurrency) in the synthesized template; cdk-nag passes (app.synth() raises on findings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.settings import InfraError, Settings
from tests.infra.conftest import Synth, resources

pytestmark = pytest.mark.infra

LOG_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WORKFLOWS = """
from orchestration import Workflow
from orchestration.triggers import Schedule

quiet = Workflow("quiet", schedule=Schedule(rate="1 hour"))
verbose = Workflow("verbose", log_execution_data=True)


@quiet.task
def a() -> int:
    return 1


@verbose.task
def b() -> int:
    return 2
"""


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project synthesized with a log key and reserved trigger concurrency."""
    from infra.stack import build_app

    root = tmp_path_factory.mktemp("keyed")
    (root / "workflows").mkdir()
    (root / "workflows" / "flows.py").write_text(WORKFLOWS)
    out = tmp_path_factory.mktemp("keyed.out")
    settings = Settings(stack_name="keyed", log_kms_key_arn=LOG_KEY, trigger_reserved_concurrency=3)
    app, _ = build_app(settings, root=root, outdir=str(out))
    app.synth()  # cdk-nag: any unacknowledged finding raises
    raw: dict[str, Any] = json.loads((out / "keyed.template.json").read_text())
    return raw


def _async_functions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    handlers = ("functions.trigger.handler", "functions.recorder.handler")
    return {k: r for k, r in resources(raw, "AWS::Lambda::Function").items() if r["Properties"]["Handler"] in handlers}


def test_every_async_function_sends_its_failures_to_the_dlq(synth: Synth) -> None:
    (dlq,) = resources(synth.raw, "AWS::SQS::Queue")
    functions = _async_functions(synth.raw)
    assert len(functions) >= 2  # the recorder and at least one trigger function
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources(synth.raw, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert set(configs) == set(functions)
    for props in configs.values():
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
        assert props["MaximumRetryAttempts"] == 2 and props["Qualifier"] == "$LATEST"
    # ... and may send to it (the destination's grant on each function's role).
    for logical, fn in functions.items():
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            s
            for p in resources(synth.raw, "AWS::IAM::Policy").values()
            if {"Ref": role} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            "sqs:SendMessage" in json.dumps(s["Action"]) and dlq in json.dumps(s["Resource"]) for s in statements
        ), logical


def test_dlq_depth_alarms_the_alert_topic(synth: Synth) -> None:
    (dlq,) = resources(synth.raw, "AWS::SQS::Queue")
    (topic,) = resources(synth.raw, "AWS::SNS::Topic")
    (props,) = [
        a["Properties"]
        for a in resources(synth.raw, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    assert props["AlarmActions"] == [{"Ref": topic}]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    # CloudWatch may publish to the topic: its key lets the alarm service encrypt.
    (key,) = resources(synth.raw, "AWS::KMS::Key").values()
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key["Properties"]["KeyPolicy"]["Statement"]
    )


def test_defaults_have_no_log_key_and_no_reserved_concurrency(synth: Synth) -> None:
    for group in resources(synth.raw, "AWS::Logs::LogGroup").values():
        assert "KmsKeyId" not in group["Properties"]
    for fn in resources(synth.raw, "AWS::Lambda::Function").values():
        assert "ReservedConcurrentExecutions" not in fn["Properties"]


def test_state_machines_log_errors_without_data_unless_the_workflow_asks(keyed: dict[str, Any]) -> None:
    machines = {
        r["Properties"]["StateMachineName"]: r["Properties"]
        for r in resources(keyed, "AWS::StepFunctions::StateMachine").values()
    }
    assert machines["keyed-quiet"]["LoggingConfiguration"]["Level"] == "ERROR"
    assert machines["keyed-quiet"]["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machines["keyed-verbose"]["LoggingConfiguration"]["Level"] == "ALL"
    assert machines["keyed-verbose"]["LoggingConfiguration"]["IncludeExecutionData"] is True


def test_every_log_group_takes_the_log_key(keyed: dict[str, Any]) -> None:
    groups = resources(keyed, "AWS::Logs::LogGroup").values()
    assert len(groups) == len(resources(keyed, "AWS::Lambda::Function")) + len(
        resources(keyed, "AWS::StepFunctions::StateMachine")
    )
    for group in groups:
        assert group["Properties"]["KmsKeyId"] == LOG_KEY


def test_trigger_functions_take_the_reserved_concurrency(keyed: dict[str, Any]) -> None:
    for fn in resources(keyed, "AWS::Lambda::Function").values():
        reserved = fn["Properties"].get("ReservedConcurrentExecutions")
        assert reserved == (3 if fn["Properties"]["Handler"] == "functions.trigger.handler" else None)
    assert any(
        fn["Properties"]["Handler"] == "functions.trigger.handler"
        for fn in resources(keyed, "AWS::Lambda::Function").values()
    )


@pytest.mark.parametrize(
    ("ctx", "fragment"),
    [
        ({"logKmsKeyArn": "alias/logs"}, "is not a KMS key ARN"),
        ({"logKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/logs"}, "takes no alias"),
        ({"triggerReservedConcurrency": "0"}, "triggerReservedConcurrency=0: use a positive whole number"),
        ({"triggerReservedConcurrency": "many"}, "-c triggerReservedConcurrency=1"),
    ],
)
def test_bad_log_and_concurrency_settings_are_reported(ctx: dict[str, str], fragment: str) -> None:
    with pytest.raises(InfraError) as info:
        Settings.from_context(ctx.get)
    assert fragment in str(info.value)


def test_log_and_concurrency_settings_from_context() -> None:
    ctx = {"logKmsKeyArn": LOG_KEY, "triggerReservedConcurrency": "5"}
    s = Settings.from_context(ctx.get)
    assert (s.log_kms_key_arn, s.trigger_reserved_concurrency) == (LOG_KEY, 5)
    assert (Settings().log_kms_key_arn, Settings().trigger_reserved_concurrency) == (None, None)


def test_log_execution_data_must_be_a_bool(tmp_path: Path) -> None:
    from orchestration import Workflow
    from orchestration.validation import problems

    wf = Workflow("w", log_execution_data="yes")  # type: ignore[arg-type]
    assert any("log_execution_data='yes' must be True or False" in p for p in problems(wf))
    assert not any("log_execution_data" in p for p in problems(Workflow("w", log_execution_data=True)))
