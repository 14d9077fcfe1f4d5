"""`orch backfill --stack`: the backfill runs on the stack's backfill state machine. The examples stack
is deployed into the in-process moto and served over HTTP by moto's server (as in test_stack_runs);
EventBridge's part, telling the recorder that an execution started or ended, is played by the
adapter's child-execution hook (moto does not deliver status changes)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from orchestration.compiler import compile_workflow, definition_hash, to_json
from orchestration.compiler.backfill import BACKFILL_OUTPUT, backfill_definition
from orchestration.errors import OperationError
from orchestration.loader import load_workflow
from orchestration.local.aws import status_change_event
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns
from orchestration.operations.stack_backfill import follow, start_stack_backfill
from orchestration.status import ExecutionStatus
from orchestration.times import parse_iso
from orchestration.triggers.backfill import backfill_plan, parse_window
from tests.helpers import invoke
from tests.infra.conftest import STACK, Synth, resources
from tests.infra.on_stack.conftest import _free_port
from tests.infra.policy import ACCOUNT, Template
from tests.samples import example

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]
REGION = "us-east-1"
FILE = str(example("file_arrival"))
# Europe/Paris weekdays at 06:00: ten in these two weeks
WINDOW = ("--start", "2026-11-02", "--end", "2026-11-14")


class EventBridge:
    """Tells the recorder of each run the backfill starts (when it starts and ends), as the stack's
    status-change rule does on AWS; `gate`, while clear, holds every run at its start."""

    def __init__(self, deployed: DeployedStack) -> None:
        self.deployed = deployed
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, execution_arn: str, status: ExecutionStatus) -> None:
        desc = dict(self.deployed.sfn.describe_execution(executionArn=execution_arn))
        if status == ExecutionStatus.RUNNING:
            desc.pop("stopDate", None)
        else:
            desc.setdefault("stopDate", datetime.now(UTC))
        self.deployed.put_event(status_change_event(execution_arn, {**desc, "status": status}))
        if status == ExecutionStatus.RUNNING:
            self.gate.wait(30)


@pytest.fixture(scope="module")
def deployed(synth: Synth) -> Iterator[DeployedStack]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with DeployedStack(synth.assembly, STACK, region=REGION) as stack:
        yield stack


@pytest.fixture(scope="module")
def events(deployed: DeployedStack) -> EventBridge:
    relay = EventBridge(deployed)
    deployed.adapter.on_child = relay
    return relay


@pytest.fixture(scope="module")
def endpoint(deployed: DeployedStack, events: EventBridge) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def stack(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> StackRuns:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setattr("orchestration.operations.stack_backfill.POLL_SECONDS", 0.1)
    return StackRuns(STACK, region=REGION, endpoint_url=endpoint)


def _most_at_once(runs: list[Any]) -> int:
    """The largest number of runs whose [started_at, ended_at] intervals overlap (ledger timestamps)."""
    moments = []
    for run in runs:
        start, end = parse_iso(run.started_at), parse_iso(run.ended_at)
        assert start is not None and end is not None and start <= end, run
        moments += [(start, 1), (end, -1)]
    going = most = 0
    for _, step in sorted(moments, key=lambda m: (m[0], m[1])):  # an end before a start at the same instant
        going += step
        most = max(most, going)
    return most


def _backfills(deployed: DeployedStack) -> list[dict[str, Any]]:
    arn = deployed.resources[next(k for k in deployed.of_type("AWS::StepFunctions::StateMachine") if "Backfill" in k)]
    return list(deployed.sfn.list_executions(stateMachineArn=arn)["executions"])


def test_a_backfill_runs_on_the_stack_at_most_n_at_once_and_once(stack: StackRuns, deployed: DeployedStack) -> None:
    where = ("--stack", STACK, "--region", REGION)
    code, out, err = invoke("backfill", FILE, *WINDOW, "--max-concurrent", "2", *where, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["intervals"] == 10 and len(report["to_start"]) == 10 and report["started"] is True
    assert [r["status"] for r in report["runs"]] == ["SUCCEEDED"] * 10
    assert report["execution_status"] == "SUCCEEDED"
    runs = [stack.get_run(r["run_id"], "file_arrival") for r in report["to_start"]]
    # measured from the ledger's timestamps: never above the limit (no-op runs now end in milliseconds,
    # so two rarely overlap; tests/cli/test_backfill_cli.py shows the limit filled with slower tasks)
    assert 1 <= _most_at_once(runs) <= 2
    wf = load_workflow(FILE, None)
    first = runs[0]
    assert first.logical_date == "2026-11-02T05:00:00.000Z" == report["to_start"][0]["logical_date"]  # 06:00 Paris
    assert first.trigger == {
        "type": "backfill",
        "schedule": "weekday_morning",
        "scheduled_time": first.logical_date,
        "backfill_id": first.trigger["backfill_id"],
        "by": "arn:aws:sts::123456789012:user/moto",
    }
    assert first.trigger["backfill_id"].startswith("b-20261101T230000Z-20261113T230000Z-")  # the window in UTC
    assert len({r.trigger["backfill_id"] for r in runs}) == 1
    assert {r.definition_hash for r in runs} == {definition_hash(to_json(compile_workflow(wf)))}
    assert first.params == {"bucket": "my-landing-bucket", "key": "daily/summary.csv", "priority": 5}
    assert len(_backfills(deployed)) == 1
    # the same command again starts nothing
    code, out, err = invoke("backfill", FILE, *WINDOW, "--max-concurrent", "2", *where, "--json")
    assert code == 0, err
    again = json.loads(out)
    assert again["to_start"] == [] and again["already_done"] == 10 and "backfill_execution" not in again
    assert len(_backfills(deployed)) == 1


def test_re_issuing_a_backfill_while_it_goes(stack: StackRuns, deployed: DeployedStack, events: EventBridge) -> None:
    """The same runs name the same execution (started once); another selection of the same backfill
    is refused while it goes; --no-wait returns at once."""
    wf = load_workflow(FILE, None)
    start, end = parse_window("2026-12-01", "2026-12-05")
    plan = backfill_plan(wf, start=start, end=end)
    assert len(plan) == 4
    events.gate.clear()  # the runs wait at their start
    try:
        first = start_stack_backfill(stack, wf, plan, max_concurrent=1, by="me")
        same = start_stack_backfill(stack, wf, plan, max_concurrent=1, by="me")
        assert first.started and not same.started and same.execution_arn == first.execution_arn
        with pytest.raises(OperationError, match=r"backfill b-20261130T230000Z-.* is still going .* another selection"):
            start_stack_backfill(stack, wf, plan[1:], max_concurrent=1, by="me")
    finally:
        events.gate.set()
    progress = follow(stack, wf.name, first, poll_seconds=0.05)
    assert progress.execution_status == "SUCCEEDED" and progress.not_started == {}
    assert sorted(progress.statuses.values()) == ["SUCCEEDED"] * 4
    code, out, err = invoke(
        "backfill", FILE, "--start", "2026-12-07", "--end", "2026-12-08", "--stack", STACK, "--no-wait", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["started"] is True and "runs" not in json.loads(out)


def test_bad_backfills_on_the_stack_are_clear_errors(stack: StackRuns, deployed: DeployedStack) -> None:
    where = ("--stack", STACK, "--region", REGION)
    code, _, err = invoke("backfill", FILE, *WINDOW, "--max-concurrent", "2", *where)  # the window's runs (once)
    assert code == 0, err
    october = ("--start", "2026-10-05", "--end", "2026-10-06")
    code, _, err = invoke("backfill", FILE, *october, "--max-concurrent", "41", *where)
    assert code == 2 and "at most 40" in err and "Traceback" not in err
    code, _, err = invoke("backfill", FILE, *WINDOW, "--reprocess", "all", *where)
    assert code == 2 and "orch repair RUN_ID --stack" in err
    code, _, err = invoke("backfill", FILE, *WINDOW, "--no-wait")
    assert code == 2 and "--no-wait applies to a backfill on a deployed stack" in err


def test_the_backfill_state_machine_and_its_role(synth: Synth) -> None:
    machines = resources(synth.raw, "AWS::StepFunctions::StateMachine")
    runner = synth.stack.backfill
    assert runner is not None
    logical = synth.stack.get_logical_id(runner.state_machine.node.default_child)
    props = machines[logical]["Properties"]
    assert props["StateMachineName"] == f"{STACK}--backfill"
    assert props["DefinitionString"] == to_json(backfill_definition())
    assert props["LoggingConfiguration"]["Level"] == "ERROR"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert synth.raw["Outputs"][BACKFILL_OUTPUT]["Value"] == {"Ref": logical}
    template = Template(synth.raw)
    role = synth.stack.get_logical_id(runner.state_machine.role.node.default_child)
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:{{}}"
    for name in ("daily_etl", "file_arrival", "n_shape"):
        machine = f"{STACK}-{name}"
        assert template.allowed(role, "states:StartExecution", arn.format(f"stateMachine:{machine}"))
        assert template.allowed(role, "states:DescribeExecution", arn.format(f"execution:{machine}:s-1"))
        assert template.allowed(role, "states:StopExecution", arn.format(f"execution:{machine}:s-1"))
    assert not template.allowed(role, "states:StartExecution", arn.format(f"stateMachine:{STACK}--backfill"))
    assert not template.allowed(role, "states:StartExecution", arn.format("stateMachine:other-daily_etl"))
    assert not template.allowed(role, "states:StopExecution", arn.format("execution:other-daily_etl:s-1"))
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "lambda:InvokeFunction", "s3:GetObject"):
        assert not template.allowed(role, action, "*"), action
    policies = resources(synth.raw, "AWS::IAM::Policy").values()
    statements = [st for p in policies if {"Ref": role} in p["Properties"]["Roles"] for st in _statements(p)]
    actions = {a for st in statements for a in _list(st["Action"])}
    assert {a for a in actions if a.startswith("states:")} == {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_a_backfill_of_a_limited_workflow_runs_at_most_its_limit_at_once(
    stack: StackRuns, deployed: DeployedStack, tmp_path: Path
) -> None:
    """--max-concurrent is capped at the workflow's max_concurrent_runs, and the command says so."""
    limited = tmp_path / "file_arrival.py"
    source = Path(FILE).read_text()
    limited.write_text(source.replace('    "file_arrival",\n', '    "file_arrival",\n    max_concurrent_runs=1,\n', 1))
    week = ("--start", "2027-01-04", "--end", "2027-01-09")  # five weekdays
    code, out, err = invoke("backfill", str(limited), *week, "--max-concurrent", "3", "--stack", STACK, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["max_concurrent"] == 1 and [r["status"] for r in report["runs"]] == ["SUCCEEDED"] * 5
    runs = [stack.get_run(r["run_id"], "file_arrival") for r in report["to_start"]]
    assert _most_at_once(runs) == 1  # measured from the ledger's timestamps
    execution = deployed.sfn.describe_execution(executionArn=report["backfill_execution"])
    assert json.loads(execution["input"])["max_concurrent"] == 1
    code, _, err = invoke("backfill", str(limited), "--start", "2027-01-11", "--end", "2027-01-12", "--stack", STACK)
    assert code == 0, err
    assert "--max-concurrent 4 is capped at file_arrival's max_concurrent_runs=1" in " ".join(err.split())
    assert "pause the schedule" in " ".join(err.split())
