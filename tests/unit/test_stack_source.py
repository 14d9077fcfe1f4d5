"""The pure parts of `operations.stack`: a deployed stack's resources from its template, log lines."""

from __future__ import annotations

import json

from orchestration.ledger import RunRecord
from orchestration.operations.stack import TaskFunction, parse_line, resolve

RUN = RunRecord("r-1", "etl", "RUNNING", "2026-11-21T08:00:00.000Z")
AT = 1_795_248_000_000  # 2026-11-21T08:00:00Z in epoch milliseconds


def test_resources_come_from_tags_substitutions_and_physical_ids() -> None:
    def fn(ref: str) -> dict[str, list[str]]:
        return {"Fn::GetAtt": [ref, "Arn"]}

    subs = {
        "fn_load": fn("Shared"),  # one configuration, one function and one substitution (its metadata: the tasks)
        "fn_check": fn("Check"),
        "fn_gone": fn("Gone"),  # no physical id: not deployed
        "fn__join": fn("Join"),  # a platform function
        "wf_child": "arn:child",
    }
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"Tags": [{"Key": "orch:workflow", "Value": "etl"}], "DefinitionSubstitutions": subs},
            },
            "Shared": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"LoggingConfig": {"LogGroup": {"Ref": "G"}}},
                "Metadata": {"orch:tasks": ["load", "publish"]},
            },
            "Check": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Join": {"Type": "AWS::Lambda::Function", "Properties": {}},
        },
        "Outputs": {"LedgerTableName": {"Value": {"Ref": "Table"}}, "Arn": {"Value": {"Fn::GetAtt": ["X", "Arn"]}}},
    }
    physical = {"Machine": "arn:m", "Shared": "fn-s", "Check": "fn-check", "Join": "fn-join", "G": "grp", "Table": "t"}
    found = resolve(template, physical)
    assert found.state_machines == {"etl": "arn:m"}
    assert found.tasks == {
        ("etl", "load"): TaskFunction("etl", "load", "fn-s", "grp"),
        ("etl", "publish"): TaskFunction("etl", "publish", "fn-s", "grp"),
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
