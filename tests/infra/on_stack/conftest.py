"""One examples stack per test process for the `--stack` tests of this package (StackRuns, the CLI and
`orch ui` on a deployed stack): deployed into the in-process moto (DeployedStack) and served over HTTP
by moto's server, started in the same process, on 127.0.0.1. The fixtures are package-scoped: the
package's modules share the stack, and it is gone before any other package's test runs."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns
from orchestration.operations.stack_template import resolve
from orchestration.runtime.log import logger as runtime_logger
from orchestration.runtime.registry import SERVICE
from tests.infra.conftest import STACK, Synth

REGION = "us-east-1"


class Shipped(logging.Handler):
    """What the task functions log, formatted as Powertools writes it to stdout (the lines Lambda
    sends to the function's log group): moto runs no function code, so it writes no log events."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(runtime_logger.registered_formatter)
        self.lines: list[tuple[int, str]] = []  # (epoch ms, line)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((int(record.created * 1000), self.format(record)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="package")
def deployed(synth: Synth) -> Iterator[DeployedStack]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
    with DeployedStack(synth.assembly, STACK, region=REGION) as stack:
        yield stack


@pytest.fixture(scope="package")
def endpoint(deployed: DeployedStack) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _start(deployed: DeployedStack, workflow: str, run_id: str, params: dict[str, Any]) -> str:
    resp = deployed.sfn.start_execution(
        stateMachineArn=deployed.state_machine_arn(workflow),
        name=run_id,
        input=json.dumps({"params": params, "logical_date": None}),
    )
    return str(resp["executionArn"])


def _log_group(deployed: DeployedStack, workflow: str, task: str) -> str:
    """The log group of the function the state machine invokes for the task (its substitutions: one
    per function, a shared function's tasks in its metadata)."""
    found = resolve(deployed.template, deployed.resources).tasks[(workflow, task)].log_group
    assert found is not None
    return found


@pytest.fixture(scope="package")
def history(deployed: DeployedStack) -> dict[str, str]:
    """Finished runs, oldest first (run id -> workflow); their task logs shipped to the log groups."""
    shipped = Shipped()
    powertools = logging.getLogger(SERVICE)
    level = powertools.level
    powertools.setLevel(logging.INFO)
    powertools.addHandler(shipped)
    runs: dict[str, tuple[str, dict[str, Any]]] = {
        "sr-etl-ok": ("daily_etl", {"rows": 40}),
        "sr-etl-ok-2": ("daily_etl", {"rows": 20}),  # its id extends the first one's: its lines are not the first's
        "sr-n-ok": ("n_shape", {"scale": 0.0}),
        "sr-etl-fail": ("daily_etl", {"rows": 3, "min_rows": 50}),
        "sr-twin": ("daily_etl", {"rows": 15}),
    }
    try:
        for run_id, (workflow, params) in runs.items():
            deployed.wait(_start(deployed, workflow, run_id, params))
            time.sleep(0.002)  # distinct creation times
        deployed.wait(_start(deployed, "n_shape", "sr-twin", {"scale": 0.0}))  # a second workflow, same id
    finally:
        powertools.removeHandler(shipped)
        powertools.setLevel(level)
    logs = deployed.session.client("logs")
    by_group: dict[str, list[dict[str, Any]]] = {}
    for at, line in shipped.lines:
        record = json.loads(line)
        group = _log_group(deployed, record["workflow"], record["task"])
        by_group.setdefault(group, []).append({"timestamp": at, "message": line + "\n"})
    extract = _log_group(deployed, "daily_etl", "extract")
    plain = [(0, "START RequestId: 1f0e Version: $LATEST"), (1, "print: rows ready for sr-etl-ok"), (2, "done")]
    by_group[extract] += [{"timestamp": by_group[extract][0]["timestamp"] + d, "message": m} for d, m in plain]
    for group, events in by_group.items():
        logs.create_log_stream(logGroupName=group, logStreamName="2026/11/21/[$LATEST]abc")
        events.sort(key=lambda e: e["timestamp"])
        logs.put_log_events(logGroupName=group, logStreamName="2026/11/21/[$LATEST]abc", logEvents=events)
    return {run_id: workflow for run_id, (workflow, _) in runs.items()}


@pytest.fixture(scope="package")
def stack(endpoint: str, history: dict[str, str]) -> StackRuns:
    return StackRuns(STACK, region=REGION, endpoint_url=endpoint, cancel_wait_seconds=10)


def _running(deployed: DeployedStack, run_id: str) -> str:
    """A slow n_shape run, started as from the console and recorded RUNNING by the recorder."""
    execution = _start(deployed, "n_shape", run_id, {"scale": 0.5})
    deployed.emit_status_change(execution)
    for _ in range(500):  # moto cannot stop an execution before its thread has started it
        if len(deployed.sfn.get_execution_history(executionArn=execution)["events"]) > 2:
            break
        time.sleep(0.01)
    return execution
