"""Secrets and env in local runs: the task code path is AWS's (Powertools -> Secrets Manager on moto);
a secret's value reaches the task and nothing else (ledger, run JSON, state, logs, artifacts)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestration import SecretError, Workflow, load_workflow, secret
from orchestration.cli import main
from orchestration.local import LocalCloud
from orchestration.local.environ import TaskEnvironment
from orchestration.local.secrets import SECRETS_FILE_ENV, LocalSecrets
from orchestration.runtime.registry import SERVICE
from tests.samples import ROOT

ACCESS = ROOT / "tests" / "workflows" / "access.py"
PASSWORD = "pa55-Zq8#not-in-any-record"


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.json"
    path.write_text(json.dumps({"warehouse/password": PASSWORD, "shared/config": {"user": "etl"}}))
    return path


@pytest.fixture
def cloud(secrets_file: Path, quiet_logs: None) -> Iterator[LocalCloud]:
    """A local cloud with the secrets file (one per test: two local clouds cannot be open at once)."""
    with LocalCloud(secrets=secrets_file) as c:
        yield c


def _everything_recorded(cloud: LocalCloud, run_id: str) -> str:
    """The run's ledger items, execution history and stored artifacts, as one text."""
    items = cloud.dynamodb.scan(TableName=cloud.table_name)["Items"]
    history = cloud.execution_history(run_id)
    listed = cloud.s3.list_objects_v2(Bucket=cloud.bucket_name).get("Contents", [])
    objects = [cloud.s3.get_object(Bucket=cloud.bucket_name, Key=o["Key"])["Body"].read().decode() for o in listed]
    return json.dumps([items, history, objects], default=str)


def test_a_task_reads_its_secret_and_another_its_env_and_the_value_is_recorded_nowhere(
    cloud: LocalCloud, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    platform = logging.getLogger(SERVICE)
    level = platform.level
    platform.setLevel(logging.DEBUG)  # every log line the platform and moto write, captured
    try:
        with caplog.at_level(logging.DEBUG, logger="moto"), caplog.at_level(logging.DEBUG, logger=SERVICE):
            record = cloud.run(load_workflow(ACCESS))
    finally:
        platform.setLevel(level)
    assert record.status == "SUCCEEDED", record.as_dict()
    outputs = _task_outputs(cloud, record.run_id)
    extract = {"digest": hashlib.sha256(PASSWORD.encode()).hexdigest(), "mode": "prod", "env": {"MODE": "prod"}}
    assert extract in outputs  # the task got the secret's value (it returns only a digest of it)
    assert "warehouse:prod" in outputs  # load read its own env var; extract's env reached extract
    logs = capfd.readouterr()
    assert "extract" in logs.out + caplog.text  # the run did log
    for text in (json.dumps(record.as_dict()), _everything_recorded(cloud, record.run_id), logs.out, logs.err):
        assert PASSWORD not in text
    assert PASSWORD not in caplog.text


def _task_outputs(cloud: LocalCloud, run_id: str) -> list[Any]:
    """The outputs the run's task states returned (what the state machine carries)."""
    out = []
    for event in cloud.execution_history(run_id):
        details = event.get("taskSucceededEventDetails")
        if details:
            payload = json.loads(details["output"])["Payload"]
            if "output" in payload:
                out.append(payload["output"])
    return out


def test_undeclared_and_missing_secrets_fail_the_task_with_what_to_do(cloud: LocalCloud, secrets_file: Path) -> None:
    wf = Workflow("secret_mistakes")

    @wf.task
    def undeclared(ctx: Any) -> str:
        return str(ctx.secret("warehouse/password"))

    @wf.task(permissions=[secret("warehouse/missing")])
    def missing(ctx: Any) -> str:
        return str(ctx.secret("warehouse/missing"))

    @wf.task(permissions=[secret("shared/config")])
    def structured(ctx: Any) -> Any:
        return json.loads(ctx.secret("shared/config"))["user"]

    record = cloud.run(wf)
    tasks = record.tasks
    assert tasks["undeclared"].error == (
        "SecretError: task 'undeclared' did not declare secret 'warehouse/password' (it declares: none); add "
        "secret('warehouse/password') to its permissions=[...] so its function may read it"
    )
    assert tasks["missing"].error == (
        f"SecretError: task 'missing': secret 'warehouse/missing' was not found: the local secrets file "
        f"{str(secrets_file)!r} has no 'warehouse/missing': add it to that JSON object"
    )
    assert tasks["structured"].status == "SUCCEEDED"


def test_without_a_secrets_file_the_error_says_how_to_give_one(quiet_logs: None, monkeypatch: Any) -> None:
    monkeypatch.delenv(SECRETS_FILE_ENV, raising=False)
    wf = Workflow("no_secrets_file")

    @wf.task(permissions=[secret("warehouse/password")])
    def reads(ctx: Any) -> str:
        return str(ctx.secret("warehouse/password"))

    with LocalCloud() as cloud:
        record = cloud.run(wf)
    assert record.tasks["reads"].error == (
        "SecretError: task 'reads': secret 'warehouse/password' was not found: no local secrets file was given: "
        "pass `orch run --secrets FILE` (or set ORCH_SECRETS_FILE) naming a JSON object such as "
        '{"warehouse/password": "..."}'
    )


def test_a_new_local_cloud_never_serves_a_value_cached_by_the_last_one(quiet_logs: None) -> None:
    wf = Workflow("secret_cache")

    @wf.task(permissions=[secret("token")])
    def digest(ctx: Any) -> str:
        return hashlib.sha256(ctx.secret("token").encode()).hexdigest()

    seen = []
    for value in ("first", "second"):  # Powertools caches for 5 minutes, in the process
        with LocalCloud(secrets={"token": value}) as cloud:
            record = cloud.run(wf)
            assert record.status == "SUCCEEDED"
            seen.extend(_task_outputs(cloud, record.run_id))
    assert seen == [hashlib.sha256(v.encode()).hexdigest() for v in ("first", "second")]


def test_tasks_giving_one_key_different_values_each_see_their_own(quiet_logs: None, monkeypatch: Any) -> None:
    monkeypatch.setenv("MODE", "from-the-shell")
    wf = Workflow("env_values")
    seen: dict[str, str] = {}
    lock = threading.Lock()

    def reader(name: str) -> Any:
        def read(ctx: Any) -> str:
            with lock:
                seen[name] = os.environ["MODE"]
            return str(ctx.env["MODE"])

        return read

    for name, value in [("a", "prod"), ("b", "dev"), ("c", "prod")]:
        wf.task(name=name, env={"MODE": value, "SHARED": "same"})(reader(name))

    @wf.task
    def shared() -> str:
        return os.environ["SHARED"]  # a key every declaring task gives one value is set for the whole run

    with LocalCloud() as cloud:
        record = cloud.run(wf)
        assert os.environ["MODE"] == "from-the-shell"  # contested: set only while a declaring task runs
    assert record.status == "SUCCEEDED"
    assert seen == {"a": "prod", "b": "dev", "c": "prod"}
    assert os.environ["MODE"] == "from-the-shell" and "SHARED" not in os.environ


def test_task_environment_restores_what_it_changed(monkeypatch: Any) -> None:
    monkeypatch.setenv("KEEP", "before")
    monkeypatch.delenv("NEW_ONE", raising=False)
    wf = Workflow("e")
    wf.task(name="t", env={"KEEP": "during", "NEW_ONE": "1"})(lambda: None)
    env = TaskEnvironment()
    env.add(wf)
    assert (os.environ["KEEP"], os.environ["NEW_ONE"]) == ("during", "1")
    env.restore()
    assert os.environ["KEEP"] == "before" and "NEW_ONE" not in os.environ


# -- the secrets file --------------------------------------------------------------------------


def test_secrets_file_errors_name_the_file_and_never_the_value(tmp_path: Path, monkeypatch: Any) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SecretError, match=f"cannot read the secrets file {str(missing)!r}"):
        LocalSecrets.load(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{'a': 1}")
    with pytest.raises(SecretError, match="is not valid JSON"):
        LocalSecrets.load(bad)
    bad.write_text('["a"]')
    with pytest.raises(SecretError, match="holds a list; write one JSON object"):
        LocalSecrets.load(bad)
    bad.write_text('{"pin": 123456789}')
    with pytest.raises(SecretError) as info:
        LocalSecrets.load(bad)
    assert "secret 'pin' must be a string" in str(info.value) and "123456789" not in str(info.value)
    good = tmp_path / "good.json"
    good.write_text('{"a": "1"}')
    monkeypatch.setenv(SECRETS_FILE_ENV, str(good))
    assert LocalSecrets.load() == LocalSecrets({"a": "1"}, str(good))
    monkeypatch.delenv(SECRETS_FILE_ENV)
    assert LocalSecrets.load() == LocalSecrets({})


# -- the CLI -----------------------------------------------------------------------------------


def test_orch_run_takes_a_secrets_file_or_the_environment(secrets_file: Path, monkeypatch: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(ACCESS), "--json", "--secrets", str(secrets_file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "SUCCEEDED"
    assert PASSWORD not in result.output
    monkeypatch.setenv(SECRETS_FILE_ENV, str(secrets_file))
    result = runner.invoke(main, ["run", str(ACCESS), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "SUCCEEDED"
    monkeypatch.delenv(SECRETS_FILE_ENV)
    result = runner.invoke(main, ["run", str(ACCESS), "--json", "--secrets", str(secrets_file.parent / "x.json")])
    assert result.exit_code == 2
    assert "cannot read the secrets file" in result.output


def test_orch_validate_and_compile_show_warnings_without_failing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", str(ACCESS)])
    assert result.exit_code == 0
    assert "✓ access: 4 tasks, valid" in result.stdout
    assert "access: warning: task 'audit': statement(actions=['s3:*'], resources=['*']) uses the wildcard action" in (
        " ".join(result.stderr.split())
    )
    result = runner.invoke(main, ["compile", str(ACCESS), "-o", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "access.asl.json").exists()
    assert result.stderr.count("warning:") == 4
