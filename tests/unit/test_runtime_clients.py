"""A function's clients are made on first use: the task function's first invocation makes its
DynamoDB client (every task writes the ledger) but not its S3 client unless an output goes to S3."""

from __future__ import annotations

import threading
from typing import Any

from orchestration.runtime.entry import LazyClient, build_runtime
from orchestration.runtime.registry import FINALIZE, TASK, Env
from tests.samples import EXAMPLES


class Fake:
    def __init__(self, service: str) -> None:
        self.service = service
        self.exceptions = type("Exceptions", (), {"ConditionalCheckFailedException": KeyError})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_object", kwargs))
        return {}


def test_a_task_runtime_makes_its_s3_client_only_when_it_writes_an_artifact() -> None:
    made: list[str] = []

    def factory(service: str) -> Fake:
        made.append(service)
        return Fake(service)

    env = {
        Env.LEDGER_TABLE: "ledger",
        Env.ARTIFACT_BUCKET: "bucket",
        Env.WORKFLOW_FILE: str(EXAMPLES / "etl.py"),
        Env.WORKFLOW: "daily_etl",
    }
    rt = build_runtime(TASK, env, factory)
    assert set(TASK.clients) == {"dynamodb", "s3"}
    assert made == ["dynamodb"]  # the ledger reads its client's exceptions at once
    assert rt.workflow is not None and rt.workflow.name == "daily_etl"
    rt.need_artifacts().put("wf/run/task/output.json", '{"rows": 3}')
    assert made == ["dynamodb", "s3"]
    rt.need_artifacts().put("wf/run/task/output2.json", "[]")
    assert made == ["dynamodb", "s3"]  # made once
    assert build_runtime(FINALIZE, {Env.LEDGER_TABLE: "ledger"}, factory).artifacts is None


def test_a_lazy_client_is_made_once_across_threads() -> None:
    made: list[str] = []
    gate = threading.Barrier(8)

    def factory(service: str) -> Fake:
        made.append(service)
        return Fake(service)

    client = LazyClient(factory, "s3")

    def use() -> None:
        gate.wait()
        client.put_object(Bucket="b", Key="k", Body=b"")

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert made == ["s3"]
    assert len(client._client.calls) == 8
