"""The Lambda runtime, simulated: a fresh virtualenv holding only what Lambda's Python runtime and the
Powertools layer provide (boto3, aws-lambda-powertools, pydantic), `PYTHONPATH` = the synthesized code
asset alone, and moto's server for DynamoDB and S3. The task handler imports the user's workflow and
runs a task that uses a bundled pure-Python package. (This machine has no Python 3.13: the compiled
package is checked by its wheel tags in test_bundling.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from orchestration.ledger import RunLedger, table_spec
from orchestration.ledger.records import RunRecord
from orchestration.protocol import RunContext, TaskEvent
from orchestration.runtime.registry import Env
from orchestration.status import RunStatus, TaskStatus
from orchestration.times import now_iso
from tests.infra.conftest import UserSynth

pytestmark = pytest.mark.infra

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
# The Powertools layer carries the Tracer's aws-xray-sdk (its publish canary constructs a Tracer).
RUNTIME_PACKAGES = ("boto3", "aws-lambda-powertools[tracer]", "pydantic")
INVOKE = """
import importlib.util, json, sys, types
from functions.task import handler
context = types.SimpleNamespace(
    function_name="task-size", memory_limit_in_mb=256, aws_request_id="req-1",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:task-size",
)
response = handler(json.loads(sys.argv[1]), context)
origins = {m: importlib.import_module(m).__file__ for m in ("humanize", "boto3", "pydantic", "orchestration")}
absent = [m for m in ("moto", "click", "rich", "orchestration.local") if importlib.util.find_spec(m) is not None]
print("RESULT " + json.dumps({"response": response, "origins": origins, "importable": absent}))
"""


@pytest.fixture(scope="session")
def lambda_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python of a fresh virtualenv with only the packages the Lambda runtime and the layer provide."""
    venv = tmp_path_factory.mktemp("lambda-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-compile", *RUNTIME_PACKAGES]
    proc = subprocess.run(pip, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return python


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def test_a_task_runs_from_the_asset_alone_in_a_lambda_like_runtime(
    user_synth: UserSynth, lambda_python: Path, moto_endpoint: str, tmp_path: Path
) -> None:
    dynamodb = _client("dynamodb", moto_endpoint)
    dynamodb.create_table(**table_spec("ledger"))
    _client("s3", moto_endpoint).create_bucket(Bucket="artifacts")
    ledger = RunLedger("ledger", dynamodb)
    ledger.create_run(RunRecord(run_id="r1", workflow="report", status=RunStatus.RUNNING, created_at=now_iso()))

    asset = user_synth.asset_of("WfreportTaskpacked")  # the function of size and packed
    deployed = user_synth.function("WfreportTaskpacked")["Properties"]["Environment"]["Variables"]
    refs = {Env.LEDGER_TABLE: "ledger", Env.ARTIFACT_BUCKET: "artifacts"}
    env = {
        **{k: v if isinstance(v, str) else refs[k] for k, v in deployed.items()},
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "PYTHONPATH": str(asset),
        Env.TASK_ROOT: str(asset),
        "HOME": str(tmp_path),  # no ~/.aws, no dependency cache
        Env.LOG_LEVEL: "DEBUG",  # the task logs its attempt's end at DEBUG
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here (the Tracer is still built)
    }
    event = TaskEvent(run=RunContext(run_id="r1", workflow="report"), task="size").model_dump(
        mode="json", by_alias=True
    )
    proc = subprocess.run(
        [str(lambda_python), "-c", INVOKE, json.dumps(event)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["response"] == {"output": "3.0 MB", "status": "SUCCEEDED"}
    origins = result["origins"]
    assert origins["humanize"].startswith(str(asset)) and origins["orchestration"].startswith(str(asset))
    assert origins["boto3"].startswith(str(lambda_python.parent.parent))  # the "runtime", not the asset
    assert origins["pydantic"].startswith(str(lambda_python.parent.parent))
    assert result["importable"] == []
    # Powertools on Lambda: the log lines carry the Lambda context and the run id; the metrics are EMF
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    (emf,) = [x for x in lines if "_aws" in x]
    assert (emf["workflow"], emf["task"], emf["TaskSucceeded"]) == ("report", "size", [1.0])
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == deployed["POWERTOOLS_METRICS_NAMESPACE"]
    logged = [x for x in lines if "_aws" not in x and x.get("service") == "orchestration"]
    assert any(x["message"] == "task attempt ended" for x in logged), proc.stdout[-2000:]
    for line in logged:
        assert (line["correlation_id"], line["function_request_id"], line["cold_start"]) == ("r1", "req-1", True)

    run = ledger.get_run_by_id("r1")
    assert run is not None
    ((attempt),) = run.attempts
    assert (attempt.task, attempt.attempt, attempt.status) == ("size", 1, TaskStatus.SUCCEEDED)
