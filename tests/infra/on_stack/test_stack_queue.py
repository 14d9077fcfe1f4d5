"""Run queues and pools on a deployed stack, over HTTP against moto's server (fixtures of
test_stack_runs): cancelling a QUEUED run withdraws it from its workflow's queue and closes it
ABORTED, and the recorder's drain passes it by; `orch pools` shows who holds and waits for slots."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from orchestration.errors import OperationError
from orchestration.ledger import RunLedger
from orchestration.ledger.codec import encode
from orchestration.ledger.pools import Pools
from orchestration.ledger.slots import queue_key
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns
from orchestration.pools import holder_id
from orchestration.runtime.concurrency import slots_of
from orchestration.times import now_iso as iso_now
from tests.helpers import invoke
from tests.infra.conftest import STACK
from tests.infra.on_stack.conftest import REGION

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]


def _refresh(deployed: DeployedStack, tag: str) -> list[str]:
    """Three cache_refresh deliveries (max_concurrent_runs=1): one starts, two wait QUEUED."""
    events = [
        {"source": "com.example.cache", "detail-type": "RefreshRequested", "id": f"{tag}-{i}", "detail": {"region": r}}
        for i, r in enumerate(["eu", "us", "ap"])
    ]
    results = [deployed.put_event(e)[0]["result"] for e in events]
    assert [r["status"] for r in results] == ["started", "queued", "queued"]
    return [r["run_id"] for r in results]


def test_cancel_of_a_queued_run_withdraws_it_and_the_drain_passes_it_by(
    endpoint: str,
    deployed: DeployedStack,
) -> None:
    stack = StackRuns(STACK, session=boto3.Session(region_name=REGION), endpoint_url=endpoint, cancel_wait_seconds=5)
    first, second, third = _refresh(deployed, "cancel-queued")
    run = stack.cancel(second)
    assert (run.status, run.execution_arn) == ("ABORTED", None)
    assert run.error == "Cancelled: cancelled while queued by arn:aws:sts::123456789012:user/moto"
    with pytest.raises(OperationError, match=r"has already ended \(ABORTED\).*nothing to cancel"):
        stack.cancel(second)

    ledger = RunLedger(stack.table, deployed.dynamodb)
    assert [q.run_id for q in slots_of(ledger).queued("cache_refresh")] == [third]
    for run_id in (first, third):  # each end reaches the recorder, whose drain starts the next queued run
        current = ledger.get_run_item("cache_refresh", run_id)
        assert current is not None and current.execution_arn is not None
        assert deployed.wait(current.execution_arn)["status"] == "SUCCEEDED"
    withdrawn = ledger.get_run_item("cache_refresh", second)
    assert withdrawn is not None and (withdrawn.status, withdrawn.execution_arn) == ("ABORTED", None)
    assert slots_of(ledger).holders("cache_refresh") == set() and slots_of(ledger).queued("cache_refresh") == []


def test_a_cancel_that_loses_to_the_drain_stops_the_started_execution(
    endpoint: str,
    deployed: DeployedStack,
) -> None:
    session = boto3.Session(region_name=REGION)
    stops: list[str] = []
    session.events.register(
        "provide-client-params.stepfunctions.StopExecution", lambda params, **_: stops.append(params["executionArn"])
    )
    stack = StackRuns(STACK, session=session, endpoint_url=endpoint, cancel_wait_seconds=5)
    first, second, third = _refresh(deployed, "cancel-lost")
    ledger = RunLedger(stack.table, deployed.dynamodb)
    (head, _) = slots_of(ledger).queued("cache_refresh")
    assert head.run_id == second
    slow = json.loads(head.execution_input)
    slow["params"]["seconds"] = 5.0  # a refresh still going when the cancel comes
    deployed.dynamodb.update_item(
        TableName=stack.table,
        Key=encode(queue_key("cache_refresh", head.sk)),
        UpdateExpression="SET execution_input = :i",
        ExpressionAttributeValues={":i": {"S": json.dumps(slow)}},
    )
    real = stack.ledger.get_run

    def claimed_meanwhile(workflow: str, run_id: str, *, attempts: bool = True):  # type: ignore[no-untyped-def]
        """The cancel reads the run QUEUED; then the first run's end reaches the recorder, which starts it."""
        read = real(workflow, run_id, attempts=attempts)
        if run_id == second and read is not None and read.status == "QUEUED":
            current = ledger.get_run_item("cache_refresh", first)
            assert current is not None and current.execution_arn is not None
            deployed.wait(current.execution_arn)
            started = ledger.get_run_item("cache_refresh", second)
            assert started is not None and started.execution_arn is not None
            for _ in range(500):  # moto cannot stop an execution before its thread has started it
                if len(deployed.sfn.get_execution_history(executionArn=started.execution_arn)["events"]) > 2:
                    break
                time.sleep(0.01)
        return read

    stack.ledger.get_run = claimed_meanwhile  # type: ignore[method-assign]
    stack.cancel_wait_seconds = 0.5  # moto delivers no status change for the stop: the run stays RUNNING
    try:
        run = stack.cancel(second)
    finally:
        stack.ledger.get_run = real  # type: ignore[method-assign]
    assert run.execution_arn is not None and stops == [run.execution_arn]  # it stopped what the drain started
    assert deployed.wait(run.execution_arn)["status"] == "ABORTED"
    assert stack.get_run(second).status == "ABORTED"
    third_run = ledger.get_run_item("cache_refresh", third)
    assert third_run is not None and third_run.execution_arn is not None
    assert deployed.wait(third_run.execution_arn)["status"] == "SUCCEEDED"
    assert slots_of(ledger).holders("cache_refresh") == set()


def test_orch_pools_lists_slots_holders_and_waiters(
    endpoint: str,
    deployed: DeployedStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = StackRuns(STACK, region=REGION, endpoint_url=endpoint)
    pools = Pools(stack.table, deployed.dynamodb)
    assert pools.acquire("warehouse", 2, holder_id("warehouse_loads", "p-1", "load_orders", 0))
    assert pools.acquire("warehouse", 2, holder_id("warehouse_loads", "p-2", "load_items", 1, item=3))
    pools.enqueue("warehouse", holder_id("warehouse_loads", "p-3", "load_orders", 0), "token-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        code, out, err = invoke("pools", "--stack", STACK, "--region", REGION, "--json")
        assert code == 0, err
        (warehouse,) = [p for p in json.loads(out) if p["pool"] == "warehouse"]
        assert warehouse["slots"] == 2
        assert warehouse["in_use"] == [
            {"workflow": "warehouse_loads", "run_id": "p-1", "task": "load_orders", "repair": 0, "item": None},
            {"workflow": "warehouse_loads", "run_id": "p-2", "task": "load_items", "repair": 1, "item": 3},
        ]
        (waiting,) = warehouse["waiting"]
        assert (waiting["run_id"], waiting["task"]) == ("p-3", "load_orders") and waiting["since"] <= iso_now()
        code, out, _ = invoke("pools", "--stack", STACK, "--region", REGION)
        assert code == 0 and all(word in out for word in ("warehouse", "p-1", "p-2", "load_items[3]", "p-3", "since"))
    finally:
        pools.remove("warehouse", pools.state("warehouse").holders)  # type: ignore[union-attr]
        pools.drop_waiters("warehouse", "warehouse_loads")
    code, _, err = invoke("pools")
    assert code == 2 and "needs --stack NAME" in err and "local store" in err
