"""`operations.schedules.stack_triggers`: a stack's workflow schedules and rules from its template."""

from __future__ import annotations

from typing import Any

from orchestration.operations.schedules import stack_triggers


def _function(workflow: str | None) -> dict[str, Any]:
    variables = {"ORCH_LEDGER_TABLE": {"Ref": "Ledger"}, **({"ORCH_WORKFLOW": workflow} if workflow else {})}
    return {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": variables}}}


def _rule(function: str, template: str | None, pattern: dict[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = {"Arn": {"Fn::GetAtt": [function, "Arn"]}, "Id": "Target0"}
    if template is not None:
        target["InputTransformer"] = {"InputPathsMap": {"f1": "$"}, "InputTemplate": template}
    return {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": pattern, "Targets": [target]}}


TEMPLATE = {
    "Resources": {
        "EtlTrigger": _function("etl"),
        "Recorder": _function(None),
        "EtlSchedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "ScheduleExpression": "cron(0 6 * * ? *)",
                "ScheduleExpressionTimezone": "Europe/Paris",
                "Target": {
                    "Arn": {"Fn::GetAtt": ["EtlTrigger", "Arn"]},
                    "Input": '{"trigger":"daily","scheduled_time":"<aws.scheduler.scheduled-time>"}',
                },
            },
        },
        "EtlRule": _rule("EtlTrigger", '{"trigger":"files","event":<f1>}', {"source": ["aws.s3"]}),
        "BusRule": _rule("EtlTrigger", '{"trigger":"orders","event":<f1>}', {"source": ["shop"]}),
        "StatusRule": _rule("Recorder", None, {"source": ["aws.states"]}),
        "NotDeployed": _rule("EtlTrigger", '{"trigger":"gone","event":<f1>}', {}),
    }
}
PHYSICAL = {
    "EtlSchedule": "stk-EtlSchedule-1",
    "EtlRule": "stk-EtlRule-2",
    "BusRule": "orders-bus|stk-BusRule-3",
    "StatusRule": "stk-StatusRule-4",
}


def test_each_workflow_trigger_is_found_with_its_physical_name() -> None:
    found = [(t.workflow, t.trigger, t.kind, t.name, t.group, t.expression) for t in stack_triggers(TEMPLATE, PHYSICAL)]
    assert found == [
        ("etl", "daily", "schedule", "stk-EtlSchedule-1", None, "cron(0 6 * * ? *) Europe/Paris"),
        ("etl", "files", "rule", "stk-EtlRule-2", None, '{"source": ["aws.s3"]}'),
        ("etl", "orders", "rule", "stk-BusRule-3", "orders-bus", '{"source": ["shop"]}'),
    ]  # not the recorder's rule (no workflow), nor a resource the stack does not hold
