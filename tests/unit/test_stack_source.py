"""The pure parts of `operations.stack`: a deployed stack's resources from its template, log lines."""

from __future__ import annotations

import json

from orchestration.ledger import RunRecord
from orchestration.operations.stack import TaskFunction, parse_line, resolve

RUN = RunRecord("r-1", "etl", "RUNNING", "2026-11-21T08:00:00.000Z")
AT = 1_795_248_000_000  # 2026-11-21T08:00:00Z in epoch milliseconds


def test_resources_come_from_tags_and_physical_ids() -> None:
    def tags(**values: str) -> list[dict[str, str]]:
        return [{"Key": f"orch:{k}", "Value": v} for k, v in values.items()]

    template = {
        "Resources": {
            "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Tags": tags(workflow="etl")}},
            "Load": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Tags": tags(workflow="etl", task="load"), "LoggingConfig": {"LogGroup": {"Ref": "G"}}},
            },
            "Check": {"Type": "AWS::Lambda::Function", "Properties": {"Tags": tags(workflow="etl", task="check")}},
            "Join": {"Type": "AWS::Lambda::Function", "Properties": {}},  # a platform function: no tags
            "Gone": {"Type": "AWS::Lambda::Function", "Properties": {"Tags": tags(workflow="etl", task="gone")}},
        },
        "Outputs": {"LedgerTableName": {"Value": {"Ref": "Table"}}, "Arn": {"Value": {"Fn::GetAtt": ["X", "Arn"]}}},
    }
    physical = {"Machine": "arn:m", "Load": "fn-load", "Check": "fn-check", "Join": "fn-join", "G": "grp", "Table": "t"}
    found = resolve(template, physical)
    assert found.state_machines == {"etl": "arn:m"}
    assert found.tasks == {
        ("etl", "load"): TaskFunction("etl", "load", "fn-load", "grp"),
        ("etl", "check"): TaskFunction("etl", "check", "fn-check", "/aws/lambda/fn-check"),  # Lambda's default group
    }
    assert found.outputs == {"LedgerTableName": "t"}


def test_log_lines_of_the_run_only() -> None:
    def event(message: str) -> dict[str, object]:
        return {"timestamp": AT, "message": message + "\n"}

    powertools = {"message": "hi", "run_id": "r-1", "workflow": "etl", "task": "load", "attempt": 2}
    line = parse_line(event(json.dumps(powertools)), RUN, "load")
    assert line is not None and (line.at, line.task, line.attempt, line.message) == (
        "2026-11-21T08:00:00.000Z",
        "load",
        2,
        "hi",
    )
    structured = parse_line(event(json.dumps({**powertools, "message": {"rows": 3}})), RUN, "load")
    assert structured is not None and structured.message == '{"rows": 3}'
    assert parse_line(event(json.dumps({**powertools, "run_id": "r-10"})), RUN, "load") is None
    assert parse_line(event(json.dumps({**powertools, "workflow": "other"})), RUN, "load") is None
    plain = parse_line(event("[INFO] loaded for r-1."), RUN, "load")
    assert plain is not None and (plain.task, plain.attempt, plain.message) == ("load", None, "[INFO] loaded for r-1.")
    assert parse_line(event("loaded for r-10"), RUN, "load") is None
    assert parse_line(event("{not json r-1"), RUN, "load") is not None
