"""`--stack NAME`: StackRuns reads a deployed stack's runs, stops them and searches their logs through
boto3 over HTTP (the stack deployed into moto and served by moto's server: this package's conftest)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestration.errors import OperationError, RunNotFound, StackError
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.source import RunFilter
from orchestration.operations.stack import StackRuns
from orchestration.times import parse_iso
from tests.helpers import invoke
from tests.infra.conftest import STACK
from tests.infra.on_stack.conftest import REGION, _free_port, _log_group, _running
from tests.samples import example

# moto warns of each resource type its CloudFormation skips whenever it lists the stack's resources
pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]


def test_the_server_serves_the_in_process_backends_over_http(endpoint: str, deployed: DeployedStack) -> None:
    cfn = boto3.Session(region_name=REGION).client("cloudformation", endpoint_url=endpoint)
    resp = cfn.describe_stacks(StackName=STACK)
    assert resp["ResponseMetadata"]["HTTPHeaders"]["server"].startswith("Werkzeug")  # an HTTP answer
    assert resp["Stacks"][0]["StackId"] == deployed.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"]


def test_the_stack_resources_are_resolved(stack: StackRuns, deployed: DeployedStack) -> None:
    assert stack.where == f"stack {STACK} ({REGION})"
    assert stack.table == deployed.resources[next(iter(deployed.of_type("AWS::DynamoDB::Table")))]
    assert stack.bucket is not None and stack.bucket.startswith(STACK.lower())
    assert stack.state_machines["daily_etl"] == deployed.state_machine_arn("daily_etl")
    assert set(stack.state_machines) >= {"daily_etl", "n_shape", "publish", "nightly"}
    tasks = stack.task_functions("daily_etl")
    assert sorted(tasks) == ["extract", "load", "publish", "quality_check", "transform"]
    assert tasks["extract"].log_group == _log_group(deployed, "daily_etl", "extract")


def test_list_is_newest_first_and_honours_filters_and_limit(stack: StackRuns, history: dict[str, str]) -> None:
    listed = [r.run_id for r in stack.list_runs(RunFilter(limit=100)) if r.run_id in history]
    assert listed == ["sr-twin", "sr-twin", "sr-etl-fail", "sr-n-ok", "sr-etl-ok-2", "sr-etl-ok"]
    etl = stack.list_runs(RunFilter(workflow="daily_etl", limit=3))
    assert [r.run_id for r in etl] == ["sr-twin", "sr-etl-fail", "sr-etl-ok-2"]
    failed = stack.list_runs(RunFilter(status="FAILED"))
    assert [r.run_id for r in failed] == ["sr-etl-fail"]
    assert [r.run_id for r in stack.list_runs(RunFilter(workflow="daily_etl", status="FAILED"))] == ["sr-etl-fail"]
    assert stack.list_runs(RunFilter(workflow="n_shape", status="FAILED")) == []
    since = parse_iso(stack.get_run("sr-n-ok").created_at)
    assert since is not None
    recent = stack.list_runs(RunFilter(since=since))
    assert [r.run_id for r in recent] == ["sr-twin", "sr-twin", "sr-etl-fail", "sr-n-ok"]
    assert [r.run_id for r in stack.list_runs(RunFilter(limit=2))] == ["sr-twin", "sr-twin"]
    assert {r.workflow for r in stack.list_runs(RunFilter(limit=2))} == {"daily_etl", "n_shape"}


def test_show_gives_tasks_and_attempts(stack: StackRuns) -> None:
    run = stack.get_run("sr-etl-fail")
    assert (run.workflow, run.status) == ("daily_etl", "FAILED")
    assert run.tasks["quality_check"].status == "FAILED" and "only 2 rows" in str(run.tasks["quality_check"].error)
    assert run.tasks["publish"].status == "UPSTREAM_FAILED"
    assert {a.task: a.attempt for a in run.attempts} == {"extract": 1, "transform": 1, "load": 1, "quality_check": 1}
    ok = stack.get_run("sr-etl-ok", workflow="daily_etl")
    assert ok.status == "SUCCEEDED" and ok.tasks["load"].output == {"table": "sales_20261121", "rows": 39}
    assert stack.graph(ok) is None


def test_an_unknown_or_ambiguous_run_is_not_found(stack: StackRuns) -> None:
    with pytest.raises(RunNotFound, match=rf"no run 'nope' in stack {STACK} \(us-east-1\)"):
        stack.get_run("nope")
    with pytest.raises(RunNotFound, match="no run 'sr-n-ok' of workflow 'daily_etl'"):
        stack.get_run("sr-n-ok", workflow="daily_etl")
    with pytest.raises(RunNotFound, match=r"used by workflows daily_etl, n_shape.*--workflow"):
        stack.get_run("sr-twin")
    assert stack.get_run("sr-twin", workflow="n_shape").workflow == "n_shape"


def test_logs_are_the_run_s_task_lines_in_time_order(stack: StackRuns) -> None:
    lines = list(stack.logs("sr-etl-ok"))
    assert [(line.task, line.attempt, line.message) for line in lines] == [
        ("extract", 1, "extracting"),
        # extract, load, publish and quality_check share a function: its print() lines are any of theirs
        ("extract|load|publish|quality_check", None, "print: rows ready for sr-etl-ok"),
    ]
    assert [line.at for line in lines] == sorted(line.at for line in lines)
    failed = list(stack.logs("sr-etl-fail", task="quality_check"))
    assert [(line.task, line.attempt) for line in failed] == [("quality_check", 1)]
    assert failed[0].message.startswith("task failed\n") and "ValueError: only 2 rows" in failed[0].message
    assert [line.task for line in stack.logs("sr-etl-fail")] == ["extract", "quality_check"]
    assert [line.task for line in stack.logs("sr-etl-ok", task="load")] == ["extract|load|publish|quality_check"]
    assert list(stack.logs("sr-etl-ok", task="transform")) == []  # a function of its own
    with pytest.raises(StackError, match=r"no task 'nope'.*its tasks: extract, load"):
        list(stack.logs("sr-etl-ok", task="nope"))


def test_cancel_stops_a_running_run_and_the_recorder_records_it(endpoint: str, deployed: DeployedStack) -> None:
    session = boto3.Session(region_name=REGION)
    stops: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.stepfunctions.StopExecution", lambda params, **_: stops.append(params)
    )
    stack = StackRuns(STACK, session=session, endpoint_url=endpoint, cancel_wait_seconds=10)
    execution = _running(deployed, "sr-cancel")
    assert stack.get_run("sr-cancel").status == "RUNNING"
    # EventBridge's part (moto does not deliver the status change): emitted when the execution ends
    relay = threading.Thread(target=deployed.wait, args=(execution,), daemon=True)
    relay.start()
    run = stack.cancel("sr-cancel")
    relay.join(10)
    assert run.status == "ABORTED"
    assert stops == [
        {"executionArn": execution, "error": "Cancelled", "cause": "cancelled by arn:aws:sts::123456789012:user/moto"}
    ]
    # moto's StopExecution drops error and cause: on AWS the recorder writes "Cancelled: cancelled by <arn>"
    assert run.error == "Aborted: the execution was stopped"
    assert deployed.sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_cancel_without_the_status_event_returns_the_run_still_running(
    endpoint: str, deployed: DeployedStack, history: dict[str, str]
) -> None:
    execution = _running(deployed, "sr-cancel-2")
    quick = StackRuns(STACK, region=REGION, endpoint_url=endpoint, cancel_wait_seconds=0.3)
    run = quick.cancel("sr-cancel-2", workflow="n_shape")
    assert run.status == "RUNNING"  # the stop was requested; the recorder has not heard of it
    assert deployed.wait(execution)["status"] == "ABORTED"  # (and now records it)
    assert quick.get_run("sr-cancel-2").status == "ABORTED"


def test_cancel_of_a_finished_run_is_refused(stack: StackRuns) -> None:
    with pytest.raises(OperationError, match=r"'sr-etl-fail' of workflow 'daily_etl' has already ended \(FAILED\)"):
        stack.cancel("sr-etl-fail")


def test_an_unknown_stack_or_endpoint_is_a_clear_error(endpoint: str) -> None:
    with pytest.raises(StackError, match=r"no stack named 'nope' in region eu-west-1: check --stack and --region"):
        StackRuns("nope", region="eu-west-1", endpoint_url=endpoint)
    with pytest.raises(StackError, match=r"cannot reach AWS to describe stack x \(us-east-1\)"):
        StackRuns("x", region=REGION, endpoint_url=f"http://127.0.0.1:{_free_port()}")


def test_the_endpoint_may_come_from_the_environment(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # boto3 reads it
    assert StackRuns(STACK, region=REGION).state_machines["n_shape"].endswith(f":stateMachine:{STACK}-n_shape")


def test_missing_profile_region_or_credentials_are_clear_errors(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROFILE", "DEFAULT_REGION", "REGION", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"):
        monkeypatch.delenv(f"AWS_{name}", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StackError, match=r"no AWS profile named 'ops'.*--profile"):
        StackRuns(STACK, profile="ops", endpoint_url=endpoint)
    with pytest.raises(StackError, match=f"no AWS region for stack '{STACK}': pass --region"):
        StackRuns(STACK, endpoint_url=endpoint)
    with pytest.raises(
        StackError, match=rf"no AWS credentials to describe stack {STACK} \(us-east-1\): set AWS_PROFILE"
    ):
        StackRuns(STACK, region=REGION, endpoint_url=endpoint)


def test_a_stack_that_is_not_an_orchestrator_stack(endpoint: str, deployed: DeployedStack) -> None:
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
    deployed.cfn.create_stack(StackName="other", TemplateBody=json.dumps(template))
    with pytest.raises(StackError, match=r"stack other \(us-east-1\) has no run ledger"):
        StackRuns("other", region=REGION, endpoint_url=endpoint)


def test_a_stack_deployed_through_a_change_set_is_read_from_its_template(
    endpoint: str, deployed: DeployedStack
) -> None:
    """moto's change-set path leaves the stack's Outputs out: the template's Outputs are resolved."""
    template = {
        "Resources": {
            "Ledger": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                },
            }
        },
        "Outputs": {"LedgerTableName": {"Value": {"Ref": "Ledger"}}},
    }
    deployed.cfn.create_change_set(
        StackName="viachangeset", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=json.dumps(template)
    )
    deployed.cfn.execute_change_set(StackName="viachangeset", ChangeSetName="c1")
    assert "Outputs" not in deployed.cfn.describe_stacks(StackName="viachangeset")["Stacks"][0]
    stack = StackRuns("viachangeset", region=REGION, endpoint_url=endpoint)
    assert (
        stack.table
        == deployed.cfn.describe_stack_resource(StackName="viachangeset", LogicalResourceId="Ledger")[
            "StackResourceDetail"
        ]["PhysicalResourceId"]
    )
    assert stack.bucket is None and stack.state_machines == {}
    with pytest.raises(StackError, match="no task function tagged orch:workflow=etl: redeploy"):
        stack.task_functions("etl")


ETL = str(example("etl"))


def test_the_commands_act_on_the_stack_with_stack(
    endpoint: str, history: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orch runs list|show`, `orch logs` with --stack: the same commands, through boto3 over HTTP."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    code, out, err = invoke("runs", "list", "--stack", STACK, "--region", REGION, "--workflow", "daily_etl", "--json")
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == ["sr-twin", "sr-etl-fail", "sr-etl-ok-2", "sr-etl-ok"]
    code, out, _ = invoke("runs", "show", "sr-etl-fail", "--stack", STACK, "--region", REGION, "--json")
    assert code == 0 and json.loads(out)["status"] == "FAILED"
    code, out, _ = invoke("runs", "show", "sr-etl-ok", "--stack", STACK, "--region", REGION, "--file", ETL)
    assert code == 0 and "layer 3: load ✓, quality_check ✓" in out  # the graph from the file
    code, out, _ = invoke("logs", "sr-etl-ok", "--stack", STACK, "--region", REGION, "--task", "extract")
    assert code == 0 and "print: rows ready for sr-etl-ok" in out
    code, _, err = invoke("runs", "show", "sr-twin", "--stack", STACK, "--region", REGION)
    assert code == 2 and "--workflow" in err  # two workflows use this id
    code, _, err = invoke("runs", "list", "--stack", "nope", "--region", REGION)
    assert code == 2 and "nope" in err and "Traceback" not in err


def test_repair_on_the_stack_reruns_the_failed_task_with_a_fixed_parameter(
    endpoint: str, history: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orch repair --stack`: the run's failed task and its downstream run again on the deployed state
    machine (execution <run_id>.r1), the succeeded tasks' outputs are reused."""

    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    where = ("--stack", STACK, "--region", REGION)
    code, _, err = invoke("repair", "sr-etl-fail", *where)
    assert code == 2 and "--file" in err
    fix = ("--file", str(example("etl")), "-p", "min_rows=1")
    code, _, err = invoke("repair", "sr-etl-fail", *where, *fix)
    assert code == 2 and "started outside orch" in err  # no recorded definition hash to compare
    code, out, err = invoke("repair", "sr-etl-fail", *where, *fix, "--allow-changed-definition", "--json")
    assert code == 0, err
    repaired = json.loads(out)
    assert (repaired["run_id"], repaired["status"], repaired["repair"]) == ("sr-etl-fail", "SUCCEEDED", 1)
    shown = json.loads(invoke("runs", "show", "sr-etl-fail", *where, "--json")[1])
    attempts = {t: sorted(a["attempt"] for a in shown["attempts"] if a["task"] == t) for t in shown["tasks"]}
    assert attempts["extract"] == [1]  # reused, not run again
    assert attempts["quality_check"] == [1, 2]
    assert shown["repairs"][0]["params"] == {"min_rows": 1}
    assert shown["repairs"][0]["trigger"]["by"].startswith("arn:aws:")  # the caller's AWS identity


def test_orch_run_starts_a_run_on_the_stack_recorded_as_the_caller_s(
    endpoint: str, history: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`orch run --stack`: the deployed code runs it; the run records the caller's AWS identity."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    where = ("--stack", STACK, "--region", REGION)
    code, out, err = invoke("run", ETL, *where, "--run-id", "sr-cli-1", "-p", "rows=30", "--json")
    assert code == 0, err
    ran = json.loads(out)
    assert (ran["run_id"], ran["status"]) == ("sr-cli-1", "SUCCEEDED")
    shown = json.loads(invoke("runs", "show", "sr-cli-1", *where, "--json")[1])
    assert shown["trigger"]["type"] == "manual" and shown["trigger"]["by"].startswith("arn:aws:")
    code, _, err = invoke("run", ETL, *where, "--run-id", "sr-cli-1")
    assert code == 2 and "already exists" in err
