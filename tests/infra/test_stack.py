"""Template assertions on the synthesized demo stack (examples/): resources, properties, IAM, triggers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from orchestration.compiler import child_workflows, compile_workflow, placeholders, to_json, workflow_placeholder
from orchestration.grouping import function_groups, function_key, function_placeholders
from orchestration.ledger import table_spec
from orchestration.loader import load_file
from orchestration.triggers import triggers_of
from tests.infra.conftest import ROOT, STACK, Synth, resources

pytestmark = pytest.mark.infra

WORKFLOWS = {
    wf.name: (wf, path) for path in sorted((ROOT / "examples").glob("*.py")) for wf in load_file(path).values()
}


def _fn_by_ref(raw: dict[str, Any], logical: str) -> dict[str, Any]:
    return raw["Resources"][logical]


def _functions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(raw, "AWS::Lambda::Function")


def _policies_of_role(raw: dict[str, Any], role_logical: str) -> list[dict[str, Any]]:
    out = []
    for pol in resources(raw, "AWS::IAM::Policy").values():
        if {"Ref": role_logical} in pol["Properties"]["Roles"]:
            out.extend(pol["Properties"]["PolicyDocument"]["Statement"])
    return out


def test_synth_passes_cdk_nag_and_is_quick(synth: Synth) -> None:
    report = synth.assembly / "validation-report.json"
    if report.exists():
        data = json.loads(report.read_text())
        for plugin in data.get("pluginReports", []):
            assert plugin.get("conclusion") == "success", plugin
    assert synth.seconds < 60


def test_one_function_per_task_configuration_plus_platform_functions(synth: Synth) -> None:
    fns = _functions(synth.raw)
    groups = [(wf, g) for wf, _ in WORKFLOWS.values() for g in function_groups(wf)]
    tasks = sum(len(wf.tasks) for wf, _ in WORKFLOWS.values())
    assert tasks > len(groups)  # some tasks share a function
    subflows = sum(1 for wf, g in groups if wf.tasks[g[0]].subflow)
    with_triggers = sum(1 for wf, _ in WORKFLOWS.values() if triggers_of(wf))
    # join, finalize, recorder, pool (a workflow uses pools); one trigger fn per triggered workflow
    assert len(fns) == len(groups) + 4 + with_triggers
    handlers = sorted(f["Properties"]["Handler"] for f in fns.values())
    assert handlers.count("functions.task.handler") == len(groups) - subflows
    assert handlers.count("functions.subflow.handler") == subflows  # a task running a workflow
    for name in ("join", "finalize", "recorder", "pool"):
        assert handlers.count(f"functions.{name}.handler") == 1
    assert handlers.count("functions.trigger.handler") == with_triggers
    for fn in fns.values():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Layers"], "Powertools layer"
        assert "AWSLambdaPowertoolsPythonV3-python313-x86_64" in json.dumps(props["Layers"])
        assert {"ORCH_LEDGER_TABLE", "ORCH_ARTIFACT_BUCKET"} <= set(props["Environment"]["Variables"])
        assert props["LoggingConfig"]["LogGroup"]


def test_task_function_settings_come_from_resources(synth: Synth) -> None:
    etl, _ = WORKFLOWS["daily_etl"]
    seen = 0
    for fn in _functions(synth.raw).values():
        env = fn["Properties"]["Environment"]["Variables"]
        if env.get("ORCH_WORKFLOW") != "daily_etl" or fn["Properties"]["Handler"] != "functions.task.handler":
            continue
        served = [t for t in etl.tasks.values() if synth_task_function(synth, "daily_etl", t.name) == fn]
        assert served and len({function_key(t) for t in served}) == 1  # one configuration per function
        task = served[0]
        assert env["ORCH_WORKFLOW_FILE"] == "examples/etl.py"
        assert fn["Properties"]["MemorySize"] == task.resources.memory_mb
        assert fn["Properties"]["Timeout"] == task.resources.timeout_seconds
        assert fn["Properties"]["EphemeralStorage"] == {"Size": task.resources.ephemeral_storage_mb}
        seen += len(served)
    assert seen == len(etl.tasks)
    synth.template.has_resource_properties(
        "AWS::Lambda::Function", {"MemorySize": 1024, "Timeout": 120, "Handler": "functions.task.handler"}
    )


def synth_task_function(synth: Synth, workflow: str, task: str) -> dict[str, Any]:
    """The function the workflow's state machine invokes for `task` (its DefinitionSubstitutions)."""
    dep = synth.stack.workflows[workflow]
    machine = synth.raw["Resources"][synth.stack.get_logical_id(dep.state_machine.node.default_child)]
    placeholder = function_placeholders(dep.workflow)[task]  # one per configuration
    target = machine["Properties"]["DefinitionSubstitutions"][placeholder]["Fn::GetAtt"][0]
    return dict(synth.raw["Resources"][target])


def test_tasks_share_a_function_only_when_their_configurations_are_equal(synth: Synth) -> None:
    for name, (wf, _) in WORKFLOWS.items():
        dep = synth.stack.workflows[name]
        for a in wf.tasks.values():
            for b in wf.tasks.values():
                same = dep.task_functions[a.name] is dep.task_functions[b.name]
                assert same == (function_key(a) == function_key(b)), (name, a.name, b.name)
                assert same == (synth_task_function(synth, name, a.name) == synth_task_function(synth, name, b.name))
    # a function serving several tasks names them in its description, and carries no task tag
    etl = synth.stack.workflows["daily_etl"]
    shared = [fn for first, fn in etl.functions.items() if list(etl.task_functions.values()).count(fn) > 1]
    assert shared
    props = synth.raw["Resources"][synth.stack.get_logical_id(shared[0].node.default_child)]["Properties"]
    assert "tasks with one configuration" in props["Description"]
    assert "orch:task" not in {t["Key"] for t in props["Tags"]}
    # its tasks are listed in its metadata: the state machine substitutes its ARN once, for them all
    function = synth.raw["Resources"][synth.stack.get_logical_id(shared[0].node.default_child)]
    served = sorted(t for t, fn in etl.task_functions.items() if fn is shared[0])
    assert function["Metadata"]["orch:tasks"] == served
    machine = synth.raw["Resources"][synth.stack.get_logical_id(etl.state_machine.node.default_child)]
    subs = machine["Properties"]["DefinitionSubstitutions"]
    assert [k for k in subs if k.startswith("fn_") and not k.startswith("fn__")] == sorted(
        f"fn_{first}" for first in etl.functions
    )


def test_code_asset_holds_packages_and_workflows_only(synth: Synth) -> None:
    assets = [p for p in synth.assembly.iterdir() if p.name.startswith("asset.")]
    assert len(assets) == 1
    names = sorted(p.name for p in assets[0].iterdir())
    assert names == ["examples", "functions", "orchestration"]
    assert (assets[0] / "examples" / "etl.py").is_file()
    assert not list(assets[0].rglob("__pycache__"))


def test_ledger_table(synth: Synth) -> None:
    spec = table_spec("x")
    (table,) = resources(synth.raw, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["KeySchema"] == spec["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        spec["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    for expected in spec["GlobalSecondaryIndexes"]:
        assert indexes[expected["IndexName"]]["KeySchema"] == expected["KeySchema"]
        assert indexes[expected["IndexName"]]["Projection"] == {"ProjectionType": "ALL"}
    assert table["DeletionPolicy"] == "Retain"


def test_stateful_resources_keep_their_logical_ids(synth: Synth) -> None:
    """A changed logical id replaces the resource on deploy: the run history or the artifacts would be lost."""
    kinds = {
        "PlatformLedgerC2560360": "AWS::DynamoDB::Table",
        "PlatformArtifactsD98FDC30": "AWS::S3::Bucket",
        "PlatformDeliveryDLQEDAB9709": "AWS::SQS::Queue",
    }
    assert {k: synth.raw["Resources"][k]["Type"] for k in kinds} == kinds


def test_artifact_bucket(synth: Synth) -> None:
    (bucket,) = resources(synth.raw, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30 and rule["Prefix"] == "runs/" and rule["Status"] == "Enabled"
    (policy,) = resources(synth.raw, "AWS::S3::BucketPolicy").values()
    deny = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alert_topic_is_encrypted_and_ssl_only(synth: Synth) -> None:
    (topic,) = resources(synth.raw, "AWS::SNS::Topic").values()
    (key,) = resources(synth.raw, "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert synth.raw["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    (policy,) = resources(synth.raw, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition")) for s in statements)


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_state_machine_runs_the_compiled_definition(synth: Synth, name: str) -> None:
    wf, _ = WORKFLOWS[name]
    found = resources(synth.raw, "AWS::StepFunctions::StateMachine")
    machines = {r["Properties"]["StateMachineName"]: (k, r) for k, r in found.items()}
    logical, machine = machines[f"{STACK}-{name}"]
    props = machine["Properties"]
    assert props["DefinitionString"] == to_json(compile_workflow(wf))  # byte for byte what runs locally
    subs = props["DefinitionSubstitutions"]
    assert set(subs) == set(placeholders(wf))
    fns = _functions(synth.raw)
    children = child_workflows(wf)
    for placeholder, role in placeholders(wf).items():
        if placeholder == workflow_placeholder(role) and role in children:  # a child's state machine
            assert f":stateMachine:{STACK}-{role}" in json.dumps(subs[placeholder])
            continue
        target = subs[placeholder]["Fn::GetAtt"]
        assert target[1] == "Arn"
        handler = fns[target[0]]["Properties"]["Handler"]
        kind = "subflow" if role in wf.tasks and wf.tasks[role].subflow else "task"
        platform = ("join", "finalize", "pool")
        expected = f"functions.{role}.handler" if role in platform else f"functions.{kind}.handler"
        assert handler == expected
    assert props["StateMachineType"] == wf.type
    assert props["LoggingConfiguration"]["Level"] == ("ALL" if wf.log_execution_data else "ERROR")
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is wf.log_execution_data
    assert props["TracingConfiguration"] == {"Enabled": True}
    # The role may invoke exactly the functions the definition names.
    role = props["RoleArn"]["Fn::GetAtt"][0]
    statements = _policies_of_role(synth.raw, role)
    invoke = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert len(invoke) == 1
    resources_ = invoke[0]["Resource"] if isinstance(invoke[0]["Resource"], list) else [invoke[0]["Resource"]]
    used = {
        subs[p]["Fn::GetAtt"][0]
        for p in subs
        if "${" + p + "}" in props["DefinitionString"] and "Fn::GetAtt" in subs[p]
    }
    assert {r["Fn::GetAtt"][0] for r in resources_} == used
    assert logical


def test_iam_is_scoped_to_named_resources(synth: Synth) -> None:
    """No statement grants on '*' except the logging/X-Ray actions that only accept '*'."""
    star_ok = ("logs:", "xray:")
    for pol in resources(synth.raw, "AWS::IAM::Policy").values():
        for st in pol["Properties"]["PolicyDocument"]["Statement"]:
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if "*" in res:
                assert all(a.startswith(star_ok) for a in actions), st
            for a in actions:
                assert a != "*" and not a.endswith(":*"), st
            if any(a.startswith("dynamodb:") for a in actions):
                text = json.dumps(res)
                assert "index/*" not in text and "PlatformLedger" in text
            if any(
                a.startswith("s3:") for a in actions
            ):  # one workflow's prefix (a Distributed Map: its lists, results)
                shapes = {
                    ("s3:GetObject", "s3:PutObject"): r'/runs/[A-Za-z0-9_-]+/\*"',
                    ("s3:GetObject",): r'/runs/[A-Za-z0-9_-]+/\*/list\.json"',
                    ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"): (
                        r'/runs/[A-Za-z0-9_-]+/\*/results-r\*"'
                    ),
                }
                assert re.search(shapes[tuple(sorted(actions))], json.dumps(res)), res
    for role in resources(synth.raw, "AWS::IAM::Role").values():
        assert not role["Properties"].get("ManagedPolicyArns"), "no managed policies"


def test_join_may_release_only_its_state_machines(synth: Synth) -> None:
    fns = _functions(synth.raw)
    (join,) = [k for k, f in fns.items() if f["Properties"]["Handler"] == "functions.join.handler"]
    role = fns[join]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [s for s in _policies_of_role(synth.raw, role) if "states:SendTaskSuccess" in s["Action"]]
    assert statements and all(f"stateMachine:{STACK}-n_shape" in json.dumps(s["Resource"]) for s in statements)


def test_schedule(synth: Synth) -> None:
    wf, _ = WORKFLOWS["file_arrival"]
    schedule = triggers_of(wf)["weekday_morning"]
    (res,) = resources(synth.raw, "AWS::Scheduler::Schedule").values()
    props = res["Properties"]
    assert props["ScheduleExpression"] == "cron(0 6 ? * MON-FRI *)" == schedule.expression  # type: ignore[union-attr]
    assert props["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert props["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    target = props["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}
    assert "DeliveryDLQ" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert json.loads(target["Input"]) == {
        "trigger": "weekday_morning",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "execution_id": "<aws.scheduler.execution-id>",
        "attempt": "<aws.scheduler.attempt-number>",
    }
    fn = _functions(synth.raw)[target["Arn"]["Fn::GetAtt"][0]]
    assert fn["Properties"]["Handler"] == "functions.trigger.handler"


def test_event_rules_carry_the_declared_patterns(synth: Synth) -> None:
    wf, _ = WORKFLOWS["file_arrival"]
    declared = {n: t for n, t in triggers_of(wf).items() if t.kind == "event"}
    rules = {}
    for r in resources(synth.raw, "AWS::Events::Rule").values():
        transformer = r["Properties"]["Targets"][0].get("InputTransformer")
        if transformer:
            rules[json.loads(transformer["InputTemplate"].replace("<f1>", "null"))["trigger"]] = r
    assert set(declared) <= set(rules)  # other examples declare event triggers too
    for name, rule in ((n, rules[n]) for n in declared):
        assert rule["Properties"]["EventPattern"] == dict(declared[name].pattern)  # type: ignore[union-attr]
        target = rule["Properties"]["Targets"][0]
        assert target["InputTransformer"]["InputPathsMap"] == {"f1": "$"}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 185
        assert "DeliveryDLQ" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert rules["csv_arrived"]["Properties"]["EventPattern"]["detail"]["object"]["key"] == [
        {"wildcard": "incoming/*.csv"}
    ]


def test_status_change_rule_feeds_the_recorder(synth: Synth) -> None:
    (rule,) = [
        r
        for r in resources(synth.raw, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.states"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert "status" not in pattern["detail"]  # every status: SUCCEEDED too (it frees a run's slot)
    # the stack's state machines by their name prefix: the pattern does not grow with the workflows
    ((match,),) = [pattern["detail"]["stateMachineArn"]]
    assert set(match) == {"prefix"}
    assert not any(machine in json.dumps(match) for machine in resources(synth.raw, "AWS::StepFunctions::StateMachine"))
    assert json.dumps(match["prefix"]).endswith(f':stateMachine:{STACK}-"]]}}')
    fn = _functions(synth.raw)[rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]]
    assert fn["Properties"]["Handler"] == "functions.recorder.handler"
    env = fn["Properties"]["Environment"]["Variables"]
    # it knows its workflows (the backfill's machine, `<stack>--backfill`, and other stacks' are ignored)
    assert env["ORCH_STATE_MACHINE_PREFIX"] == f"{STACK}-" and env["ORCH_WORKFLOWS"] == ",".join(sorted(WORKFLOWS))
    assert "Ref" in env["ORCH_ALERT_TOPIC_ARN"]


def test_cfn_lint_reports_no_errors(synth: Synth, tmp_path: Path) -> None:
    """cfn-lint's Step Functions schema lacks `Parameters` on Parallel states (valid ASL in JSONPath
    mode, per the Step Functions docs); those findings, and the E1101 crash the same check raises
    inside nested branches, are the only ones filtered out."""
    from cfnlint.api import lint_all

    matches = lint_all((synth.assembly / f"{STACK}.template.json").read_text())
    errors = [m for m in matches if m.rule.id.startswith("E")]
    parallel = {f"States/{name}/Parameters" for name in _parallel_states(synth.raw)}
    known = [
        m
        for m in errors
        if (
            m.rule.id == "E3601"
            and "'Parameters' was unexpected" in m.message
            and any(state in m.message for state in parallel)
        )
        or (m.rule.id == "E1101" and "sequence item" in m.message)
    ]
    unexpected = [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in errors if m not in known]
    assert unexpected == []


def _parallel_states(raw: dict[str, Any]) -> set[str]:
    """Names of the Parallel states of every deployed definition (nested ones included)."""
    names: set[str] = set()

    def visit(states: dict[str, Any]) -> None:
        for name, state in states.items():
            if state["Type"] == "Parallel":
                names.add(name)
            for branch in state.get("Branches", []):
                visit(branch["States"])

    for machine in resources(raw, "AWS::StepFunctions::StateMachine").values():
        visit(json.loads(machine["Properties"]["DefinitionString"])["States"])
    return names


def test_a_batched_trigger_function_gets_the_timer_settings_and_its_batch_grant(synth: Synth) -> None:
    raw, stack = synth.raw, synth.stack
    batched, plain = stack.workflows["file_batches"].triggers, stack.workflows["file_arrival"].triggers
    assert batched is not None and plain is not None
    env = {
        fn: _fn_by_ref(raw, stack.get_logical_id(fn.node.default_child))["Properties"]["Environment"]["Variables"]
        for fn in (batched.function, plain.function)
    }
    group = stack.get_logical_id(stack.platform.timers.group)
    assert env[batched.function]["ORCH_TIMER_GROUP"] == {"Ref": group}
    assert "ORCH_TIMER_ROLE_ARN" in env[batched.function] and "ORCH_TIMER_GROUP" not in env[plain.function]
    (schedule_group,) = resources(raw, "AWS::Scheduler::ScheduleGroup").values()
    assert schedule_group["Properties"]["Name"] == f"{STACK}-timers"
    role = stack.get_logical_id(batched.function.role.node.default_child)
    grants = [s for s in _policies_of_role(raw, role) if "dynamodb:DeleteItem" in s["Action"]]
    batches = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["WF#file_batches#BATCH#*"]}}
    assert batches in [g["Condition"] for g in grants]  # (and its run slots and queue: max_concurrent_runs)
