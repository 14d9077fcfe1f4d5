"""Monitoring in the synthesized template: the dashboard's widgets and metrics, each alarm's metric,
threshold and action (the alert topic), X-Ray tracing on every function and state machine, the
metrics namespace the functions write to, and thresholds from the settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.monitoring import ALARM_MATH_METRICS
from infra.settings import InfraError, Settings
from orchestration.runtime import metrics
from tests.infra.conftest import STACK, Synth, resources

pytestmark = pytest.mark.infra

WORKFLOWS = """
from orchestration import Workflow

tiny = Workflow("tiny")


@tiny.task
def a() -> int:
    return 1
"""


def _alarms(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in resources(raw, "AWS::CloudWatch::Alarm").items()}


def _topic(raw: dict[str, Any]) -> str:
    (topic,) = resources(raw, "AWS::SNS::Topic")
    return topic


def _named(alarms: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [props for logical, props in sorted(alarms.items()) if logical.startswith(f"Monitoring{prefix}")]


def _dashboard(raw: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body as JSON, each CloudFormation reference in it shown as "REF"."""
    (dashboard,) = resources(raw, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    loaded: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))
    return loaded


def _math_metrics(props: dict[str, Any]) -> list[dict[str, Any]]:
    return [q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q]


def test_every_alarm_notifies_the_alert_topic(synth: Synth) -> None:
    alarms = _alarms(synth.raw)
    assert len(alarms) >= 5
    for logical, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": _topic(synth.raw)}], logical
        assert props["ComparisonOperator"] == "GreaterThanThreshold", logical
        assert props["TreatMissingData"] == "notBreaching", logical


def test_failed_runs_alarm_reads_the_runs_metric_the_functions_emit(synth: Synth) -> None:
    (props,) = _named(_alarms(synth.raw), "FailedRunsAlarm")
    assert props["Namespace"] == metrics.namespace_of(STACK)
    assert props["MetricName"] == metrics.RUNS
    assert props["Dimensions"] == [
        {"Name": metrics.OUTCOME, "Value": "FAILED"},
        {"Name": metrics.SERVICE_DIMENSION, "Value": "orchestration"},
    ]
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Sum", 300, 0)


@pytest.mark.parametrize(
    ("prefix", "namespace", "metric", "dimension", "kind"),
    [
        ("FunctionErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", "AWS::Lambda::Function"),
        ("ThrottlesAlarm", "AWS/Lambda", "Throttles", "FunctionName", "AWS::Lambda::Function"),
        (
            "TimedOutRunsAlarm",
            "AWS/States",
            "ExecutionsTimedOut",
            "StateMachineArn",
            "AWS::StepFunctions::StateMachine",
        ),
    ],
)
def test_aws_metric_alarms_cover_every_function_and_state_machine_in_groups_of_ten(
    synth: Synth, prefix: str, namespace: str, metric: str, dimension: str, kind: str
) -> None:
    found = _named(_alarms(synth.raw), prefix)
    covered = []
    for props in found:
        (expression,) = [q for q in props["Metrics"] if "Expression" in q]
        ids = [q["Id"] for q in props["Metrics"] if "MetricStat" in q]
        assert expression["Expression"] == f"SUM([{', '.join(f'FILL({i}, 0)' for i in ids)}])"
        assert expression["ReturnData"] is True
        stats = _math_metrics(props)
        assert 1 <= len(stats) <= ALARM_MATH_METRICS
        for m in stats:
            assert (m["Namespace"], m["MetricName"]) == (namespace, metric)
            (dim,) = m["Dimensions"]
            assert dim["Name"] == dimension
            covered.append(json.dumps(dim["Value"], sort_keys=True))
        assert props["Threshold"] == 0
    targets = resources(synth.raw, kind)
    # Ref of a function is its name; Ref of a state machine its ARN
    assert sorted(covered) == sorted(json.dumps({"Ref": logical}) for logical in targets)
    assert len(found) == -(-len(targets) // ALARM_MATH_METRICS)


def test_dashboard_shows_runs_durations_failures_throttles_timeouts_and_dlq_depth(synth: Synth) -> None:
    widgets = _dashboard(synth.raw)["widgets"]
    by_title = {w["properties"]["title"]: w["properties"] for w in widgets if "title" in w["properties"]}
    assert {
        "Runs by outcome",
        "Run duration by workflow (ms, average)",
        "Task failures per workflow",
        "Task retries per workflow",
        "Lambda errors and throttles",
        "State machine timeouts",
        "Delivery dead-letter queue depth",
        "Alarms",
    } <= set(by_title)
    namespace = metrics.namespace_of(STACK)
    outcomes = {m[m.index("outcome") + 1] for m in by_title["Runs by outcome"]["metrics"]}
    assert outcomes == {"SUCCEEDED", "SUCCEEDED_WITH_FAILURES", "FAILED", "TIMED_OUT", "ABORTED"}
    assert all(m[:2] == [namespace, metrics.RUNS] for m in by_title["Runs by outcome"]["metrics"])
    workflows = {item.workflow.name for item in synth.stack.discovered}
    for title, name in (
        ("Run duration by workflow (ms, average)", metrics.RUN_DURATION),
        ("Task failures per workflow", metrics.TASK_FAILED),
    ):
        lines = by_title[title]["metrics"]
        assert all(m[:2] == [namespace, name] for m in lines)
        assert {m[m.index("workflow") + 1] for m in lines} == workflows
    # the queue depth of each workflow that queues runs, the slots in use of each pool (the functions' EMF)
    queueing = {
        item.workflow.name
        for item in synth.stack.discovered
        if item.workflow.max_concurrent_runs and item.workflow.on_limit == "queue"
    }
    assert {"cache_refresh", "file_batches"} <= queueing
    for title, name, dimension, expected in (
        ("Queued runs per workflow (maximum)", metrics.QUEUE_DEPTH, metrics.WORKFLOW, queueing),
        ("Pool slots in use (maximum)", metrics.POOL_USAGE, metrics.POOL, {"warehouse"}),
    ):
        lines = by_title[title]["metrics"]
        assert all(m[:2] == [namespace, name] and m[-1]["stat"] == "Maximum" for m in lines)
        assert {m[m.index(dimension) + 1] for m in lines} == expected
    text = json.dumps(by_title)
    for metric in ("Errors", "Throttles", "ExecutionsTimedOut", "ApproximateNumberOfMessagesVisible"):
        assert f'"{metric}"' in text
    shown = by_title["Alarms"]["alarms"]  # ARNs built from the alarm names (no reference: "REF" parts)
    named = [props["AlarmName"] for props in _alarms(synth.raw).values() if "AlarmName" in props]
    assert len(shown) == len(named) == len(_alarms(synth.raw)) - 1  # all but the DLQ's (unnamed)
    assert all(name.startswith(f"{STACK}-") for name in named)
    assert sorted(arn.rsplit(":", 1)[-1] for arn in shown) == sorted(named)


def test_every_function_and_state_machine_is_traced_and_emits_to_the_stack_namespace(synth: Synth) -> None:
    functions = resources(synth.raw, "AWS::Lambda::Function")
    assert functions
    policies = resources(synth.raw, "AWS::IAM::Policy").values()
    for logical, fn in functions.items():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}, logical
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        actions = {
            a
            for p in policies
            if {"Ref": role} in p["Properties"]["Roles"]
            for st in p["Properties"]["PolicyDocument"]["Statement"]
            for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
        }
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, logical
        env = fn["Properties"]["Environment"]["Variables"]
        assert env[metrics.NAMESPACE_ENV] == metrics.namespace_of(STACK), logical
    for logical, machine in resources(synth.raw, "AWS::StepFunctions::StateMachine").items():
        assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}, logical


def test_thresholds_and_period_come_from_the_settings(tmp_path: Path) -> None:
    from infra.stack import build_app

    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    (root / "workflows" / "tiny.py").write_text(WORKFLOWS)
    settings = Settings.from_context(
        {
            "stackName": "tuned",
            "alarmPeriodMinutes": "15",
            "failedRunsThreshold": "2",
            "functionErrorsThreshold": "5",
            "throttlesThreshold": "7",
            "timedOutRunsThreshold": "1",
        }.get
    )
    app, _ = build_app(settings, root=root, outdir=str(tmp_path / "out"))
    app.synth()  # cdk-nag: any unacknowledged finding raises
    raw = json.loads((tmp_path / "out" / "tuned.template.json").read_text())
    alarms = _alarms(raw)
    expected = {"FailedRunsAlarm": 2, "FunctionErrorsAlarm": 5, "ThrottlesAlarm": 7, "TimedOutRunsAlarm": 1}
    for prefix, threshold in expected.items():
        (props,) = _named(alarms, prefix)
        assert props["Threshold"] == threshold, prefix
        periods = [props.get("Period")] + [
            q["MetricStat"]["Period"] for q in props.get("Metrics", []) if "MetricStat" in q
        ]
        assert set(periods) - {None} == {900}, prefix


@pytest.mark.parametrize(
    ("ctx", "fragment"),
    [
        ({"alarmPeriodMinutes": "0"}, "alarmPeriodMinutes=0: use 1 to 1440 minutes"),
        ({"failedRunsThreshold": "-1"}, "failedRunsThreshold=-1: use 0"),
        ({"throttlesThreshold": "many"}, "context throttlesThreshold='many' is not a whole number"),
    ],
)
def test_bad_thresholds_are_refused(ctx: dict[str, str], fragment: str) -> None:
    with pytest.raises(InfraError, match="bad stack settings") as info:
        Settings.from_context(ctx.get)
    assert fragment in str(info.value)
