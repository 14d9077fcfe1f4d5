"""Notifications on AWS (template): a notifier function per notifying workflow, fed by its state
machine's status changes, allowed only its runs' ledger items, the secrets its destinations name, the
notification topic and its duration timers; one email subscription per address, filtered on the
message attributes workflow and kind; no webhook URL nor secret value in the template. Then the stack
deployed into the in-process moto: a failed run whose status change is delivered twice POSTs one
signed webhook to a local server and publishes one email message with its attributes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings
from orchestration.ledger.keys import attempt_pk_pattern, run_pk_pattern
from orchestration.runtime.registry import Env
from tests.functional.test_notifications import Hook
from tests.infra.conftest import resources

# moto warns of each resource type its CloudFormation skips (AWS::SNS::Subscription among them)
pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]

KEY = "t3mplate-s3cret-value"
WORKFLOWS = """
from orchestration import Workflow
from orchestration.notifications import Email, Slack, Webhook, on_duration_over, on_failure, on_start, on_success

etl = Workflow("etl", notify=[
    on_failure(Email("team@example.com"), Webhook("HOOK_URL/T0KEN-in-the-path", secret="orch/hook")),
    on_duration_over(Email("oncall@example.com"), minutes=45),
])
report = Workflow("report", notify=[on_success(Email("team@example.com"), Slack(secret="orch/slack-url"))])
quiet = Workflow("quiet")
hooked = Workflow("hooked", notify=[on_start(Webhook("https://hooks.example.com/start"))])


@etl.task
def extract() -> int:
    raise RuntimeError("no source")


@report.task
def render() -> int:
    return 2


@quiet.task
def noop() -> int:
    return 3


@hooked.task
def poke() -> int:
    return 4
"""


@pytest.fixture(scope="module")
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory, hook: Hook) -> Path:
    from infra.stack import build_app

    root = tmp_path_factory.mktemp("notify")
    (root / "workflows").mkdir()
    (root / "workflows" / "flows.py").write_text(WORKFLOWS.replace("HOOK_URL", hook.url))
    out = tmp_path_factory.mktemp("notify.out")
    app, _ = build_app(Settings(stack_name="told"), root=root, outdir=str(out))
    app.synth()  # cdk-nag: any unacknowledged finding raises
    return Path(out)


@pytest.fixture(scope="module")
def raw(assembly: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((assembly / "told.template.json").read_text())
    return template


def _notifiers(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """workflow -> its notifier function's properties."""
    return {
        r["Properties"]["Environment"]["Variables"][Env.WORKFLOW]: {"id": k, **r["Properties"]}
        for k, r in resources(raw, "AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == "functions.notifier.handler"
    }


def _statements(raw: dict[str, Any], role_ref: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        st
        for pol in resources(raw, "AWS::IAM::Policy").values()
        if role_ref in pol["Properties"]["Roles"]
        for st in pol["Properties"]["PolicyDocument"]["Statement"]
    ]


def _topic_id(raw: dict[str, Any]) -> str:
    (topic,) = [k for k, r in resources(raw, "AWS::SNS::Topic").items() if k.startswith("Notifications")]
    return topic


def test_one_notifier_per_notifying_workflow_with_its_workflow_and_topic(raw: dict[str, Any]) -> None:
    notifiers = _notifiers(raw)
    assert sorted(notifiers) == ["etl", "hooked", "report"]  # not `quiet`
    topic = {"Ref": _topic_id(raw)}
    etl = notifiers["etl"]["Environment"]["Variables"]
    assert etl[Env.WORKFLOW_FILE] == "workflows/flows.py" and etl[Env.NOTIFY_TOPIC_ARN] == topic
    assert Env.TIMER_GROUP in etl and Env.TIMER_ROLE_ARN in etl  # it sets duration timers
    hooked = notifiers["hooked"]["Environment"]["Variables"]
    assert Env.NOTIFY_TOPIC_ARN not in hooked and Env.TIMER_GROUP not in hooked  # no email, no duration


def test_the_topic_is_encrypted_and_each_address_filters_its_workflows_kinds(raw: dict[str, Any]) -> None:
    topic = resources(raw, "AWS::SNS::Topic")[_topic_id(raw)]["Properties"]
    assert "KmsMasterKeyId" in topic
    subs = {
        s["Properties"]["Endpoint"]: s["Properties"]
        for s in resources(raw, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": _topic_id(raw)}
    }
    assert sorted(subs) == ["oncall@example.com", "team@example.com"]
    assert all(s["Protocol"] == "email" and s["FilterPolicyScope"] == "MessageAttributes" for s in subs.values())
    assert subs["oncall@example.com"]["FilterPolicy"] == {"workflow": ["etl"], "kind": ["duration"]}
    assert subs["team@example.com"]["FilterPolicy"] == {
        "$or": [{"workflow": ["etl"], "kind": ["failure"]}, {"workflow": ["report"], "kind": ["success"]}]
    }


def test_each_notifier_hears_its_own_state_machine_start_and_ends(raw: dict[str, Any]) -> None:
    notifiers = _notifiers(raw)
    machines = {
        r["Properties"]["StateMachineName"]: k for k, r in resources(raw, "AWS::StepFunctions::StateMachine").items()
    }
    for name, fn in notifiers.items():
        (rule,) = [
            r["Properties"]
            for r in resources(raw, "AWS::Events::Rule").values()
            if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [fn["id"], "Arn"]}
        ]
        detail = rule["EventPattern"]["detail"]
        assert detail["stateMachineArn"] == [{"Ref": machines[f"told-{name}"]}]
        assert sorted(detail["status"]) == ["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"]
        assert "DeadLetterConfig" in rule["Targets"][0]  # retried, then dead-lettered


def _partitions(statements: list[dict[str, Any]]) -> list[tuple[list[str], list[str]]]:
    return [
        (sorted(st["Action"] if isinstance(st["Action"], list) else [st["Action"]]), cond)
        for st in statements
        if (cond := st.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys"))
    ]


def test_a_notifier_may_touch_only_its_runs_its_secrets_its_topic_and_timers(raw: dict[str, Any]) -> None:
    fn = _notifiers(raw)["etl"]
    role = {"Ref": fn["Role"]["Fn::GetAtt"][0]}
    statements = _statements(raw, role)
    assert _partitions(statements) == [
        (["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"], [run_pk_pattern("etl")]),
        (["dynamodb:Query"], [attempt_pk_pattern("etl")]),
    ]
    (secrets,) = [st for st in statements if st["Action"] == "secretsmanager:GetSecretValue"]
    assert json.dumps(secrets["Resource"]).count("secret:orch/hook-??????") == 1
    assert "orch/slack-url" not in json.dumps(secrets)  # report's secret, not etl's
    (publish,) = [st for st in statements if st["Action"] == "sns:Publish"]
    assert publish["Resource"] == {"Ref": _topic_id(raw)}
    (schedules,) = [st for st in statements if st["Action"] == ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"]]
    assert "schedule/told-timers/*" in json.dumps(schedules["Resource"])
    hooked_role = {"Ref": _notifiers(raw)["hooked"]["Role"]["Fn::GetAtt"][0]}
    actions = {
        a
        for st in _statements(raw, hooked_role)
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    }
    assert not {a for a in actions if a.startswith(("secretsmanager:", "sns:", "scheduler:"))}


def test_timers_may_invoke_the_notifier_that_sets_them(raw: dict[str, Any]) -> None:
    fn = _notifiers(raw)["etl"]
    (timer_role,) = [k for k, r in resources(raw, "AWS::IAM::Role").items() if k.startswith("PlatformTimersInvokeRole")]
    (invoke,) = [st for st in _statements(raw, {"Ref": timer_role}) if st["Action"] == "lambda:InvokeFunction"]
    assert {"Fn::GetAtt": [fn["id"], "Arn"]} in invoke["Resource"]
    assert all(fn["id"] in json.dumps(r) for r in invoke["Resource"])  # that function only


def test_no_webhook_url_or_secret_value_in_the_template(raw: dict[str, Any], hook: Hook) -> None:
    text = json.dumps(raw)
    assert "hooks.example.com" not in text and hook.url not in text and "T0KEN" not in text
    assert KEY not in text


def test_deployed_a_failed_run_delivered_twice_posts_one_signed_webhook_and_one_email(
    assembly: Path, hook: Hook, raw: dict[str, Any]
) -> None:
    from moto.sns.models import sns_backends

    from orchestration.local.aws import ACCOUNT
    from orchestration.local.cfn_adapter import DeployedStack

    with DeployedStack(assembly, "told") as deployed:
        deployed.session.client("secretsmanager").create_secret(Name="orch/hook", SecretString=KEY)
        execution = deployed.sfn.start_execution(
            stateMachineArn=deployed.state_machine_arn("etl"),
            name="told-1",
            input=json.dumps({"params": {}, "logical_date": None}),
        )["executionArn"]
        assert deployed.wait(execution)["status"] == "FAILED"  # wait() emits the status change once
        deployed.emit_status_change(execution)  # EventBridge delivers it again
        ((path, headers, body),) = hook.posts
        assert path == "/T0KEN-in-the-path"
        stamp = headers["X-Orch-Timestamp"]
        digest = hmac.new(KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["X-Orch-Signature"] == f"sha256={digest}"
        assert json.loads(body)["run_id"] == "told-1" and json.loads(body)["kind"] == "failure"
        topic = deployed.resources[_topic_id(raw)]
        sent = sns_backends[ACCOUNT][deployed.region].topics[topic].sent_notifications
        ((_, message, subject, attributes, _),) = sent
        assert {k: v["Value"] for k, v in (attributes or {}).items()} == {"workflow": "etl", "kind": "failure"}
        assert (
            json.loads(message)["run_id"] == "told-1"
            and subject == "[orch] etl run told-1 ended FAILED (failed: extract)"
        )
