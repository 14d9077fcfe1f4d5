"""For-each at scale, run locally on moto with real task code: Distributed Map (ItemReader,
ResultWriter, tolerated failures), auto switching, inline refusals and nesting."""

from __future__ import annotations

import json
from typing import Any

from orchestration import Retry, RunIf, Workflow
from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud

received: dict[str, Any] = {}  # workflow -> what its downstream task received


def statuses(record: RunRecord) -> dict[str, str]:
    return {name: t.status for name, t in record.tasks.items()}


def entered(cloud: LocalCloud, record: RunRecord) -> list[str]:
    """The states the run's execution entered, in order."""
    history = cloud.execution_history(record.run_id)
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def squares(name: str, count: int, **options: Any) -> Workflow:
    wf = Workflow(name)

    @wf.task
    def items() -> list[int]:
        return list(range(count))

    @wf.task(for_each="items", **options)
    def square(item: int) -> int:
        return item * item

    @wf.task
    def total(square: list[int]) -> int:
        received[name] = square
        return sum(square)

    return wf


def test_a_distributed_for_each_reads_its_items_from_s3_and_gives_results_in_item_order(cloud: LocalCloud) -> None:
    record = cloud.run(squares("dist_order", 40, mode="distributed", max_concurrency=100))
    assert statuses(record) == dict.fromkeys(["items", "square", "total"], "SUCCEEDED")
    assert received["dist_order"] == [i * i for i in range(40)]
    assert record.tasks["square"].items == 40
    states = entered(cloud, record)
    assert "square.distributed" in states and "square.results" in states and "square.inline" not in states
    history = cloud.execution_history(record.run_id)
    assert sum(1 for e in history if e["type"] == "MapRunStarted") == 1
    assert len(history) < 60  # the items' events are in their child executions, not in the run's history


def test_the_result_writer_writes_aws_shaped_results(cloud: LocalCloud) -> None:
    record = cloud.run(squares("dist_shape", 5, mode="distributed"))
    prefix = f"runs/dist_shape/{record.run_id}/square/results-r0/"
    keys = [o["Key"] for o in cloud.s3.list_objects_v2(Bucket=cloud.bucket_name, Prefix=prefix)["Contents"]]
    manifest_key = next(k for k in keys if k.endswith("/manifest.json"))
    manifest = cloud.artifacts.get(manifest_key)
    assert manifest["DestinationBucket"] == cloud.bucket_name and ":mapRun:" in manifest["MapRunArn"]
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    assert succeeded["Key"].endswith("/SUCCEEDED_0.json") and succeeded["Size"] > 0
    executions = cloud.artifacts.get(succeeded["Key"])
    assert {e["Status"] for e in executions} == {"SUCCEEDED"}
    by_index = {json.loads(e["Input"])["index"]: json.loads(e["Output"]) for e in executions}
    assert by_index == {i: i * i for i in range(5)}


def test_auto_runs_a_small_list_inline_and_a_large_one_distributed(cloud: LocalCloud) -> None:
    # 99 retries per item: the history quota leaves an inline Map room for a few dozen items only
    small = cloud.run(squares("auto_small", 10, retry=Retry(max_attempts=99)))
    large = cloud.run(squares("auto_large", 200, retry=Retry(max_attempts=99)))
    assert received["auto_small"] == [i * i for i in range(10)]
    assert received["auto_large"] == [i * i for i in range(200)]
    assert "square.inline" in entered(cloud, small) and "square.distributed" not in entered(cloud, small)
    assert "square.distributed" in entered(cloud, large) and "square.inline" not in entered(cloud, large)


def test_an_inline_for_each_refuses_a_list_beyond_the_quotas_before_its_map_starts(cloud: LocalCloud) -> None:
    wf = squares("inline_refused", 200, mode="inline", retry=Retry(max_attempts=99))
    record = cloud.run(wf)
    assert statuses(record) == {"items": "FAILED", "square": "UPSTREAM_FAILED", "total": "UPSTREAM_FAILED"}
    error = record.tasks["items"].error or ""
    assert error.startswith("ForEachQuotaError: task 'items' returned 200 items for the inline for-each 'square'")
    assert "25,000 history events" in error and "declare mode='distributed'" in error
    assert not {"square", "square.inline", "square.item"} & set(entered(cloud, record))  # no Map started


def failing(name: str, **options: Any) -> Workflow:
    wf = Workflow(name)

    @wf.task
    def items() -> list[int]:
        return list(range(10))

    @wf.task(for_each="items", mode="distributed", **options)
    def check(item: int) -> int:
        if item in (3, 7):
            raise ValueError(f"bad item {item}")
        return item

    @wf.task(after=["check"], run_if=RunIf.ALL_DONE)
    def report(ctx: Any, check: Any = None) -> None:
        received[name] = check

    return wf


def test_tolerated_item_failures_leave_none_at_their_index(cloud: LocalCloud) -> None:
    record = cloud.run(failing("tolerates", tolerated_failure_count=2))
    assert statuses(record) == dict.fromkeys(["items", "check", "report"], "SUCCEEDED")
    assert received["tolerates"] == [0, 1, 2, None, 4, 5, 6, None, 8, 9]


def test_item_failures_past_the_tolerance_fail_the_task(cloud: LocalCloud) -> None:
    by_count = cloud.run(failing("tolerates_one", tolerated_failure_count=1))
    by_percent = cloud.run(failing("tolerates_pct", tolerated_failure_percentage=10))
    none = cloud.run(failing("tolerates_none"))
    for record in (by_count, by_percent, none):
        assert statuses(record) == {"items": "SUCCEEDED", "check": "FAILED", "report": "SUCCEEDED"}
        assert record.tasks["check"].error in ("ValueError: bad item 3", "ValueError: bad item 7")  # an item's
        history = cloud.execution_history(record.run_id)
        (failed,) = [e["mapRunFailedEventDetails"] for e in history if e["type"] == "MapRunFailed"]
        assert failed["error"] == "States.ExceedToleratedFailureThreshold"


def test_a_for_each_over_a_for_each_and_a_child_workflows_for_each(cloud: LocalCloud) -> None:
    child = Workflow("nested_child")

    @child.task
    def words() -> list[str]:
        return ["a", "bb", "ccc"]

    @child.task(for_each="words", mode="distributed")
    def length(item: str) -> int:
        return len(item)

    @child.task
    def lengths(length: list[int]) -> list[int]:
        return length

    wf = Workflow("nested")

    @wf.task
    def rows() -> list[int]:
        return list(range(12))

    @wf.task(for_each="rows", mode="distributed")
    def doubled(item: int) -> int:
        return 2 * item

    @wf.task(for_each="doubled")  # auto: over the first for-each's results
    def plus_one(item: int) -> int:
        return item + 1

    @wf.task(for_each="plus_one", mode="inline")
    def negated(item: int) -> int:
        return -item

    @wf.task
    def collect(negated: list[int]) -> None:
        received["nested"] = negated

    wf.run_workflow("sub", workflow=child, after=["collect"])

    record = cloud.run(wf)
    assert set(statuses(record).values()) == {"SUCCEEDED"}, statuses(record)
    assert received["nested"] == [-(2 * i + 1) for i in range(12)]
    child_run = cloud.ledger.get_run_by_id(record.tasks["sub"].output["run_id"])  # type: ignore[index]
    assert child_run is not None and child_run.status == "SUCCEEDED"
    assert child_run.tasks["lengths"].output == [1, 2, 3]


def test_a_thousand_item_distributed_for_each(cloud: LocalCloud) -> None:
    # items with a 30 s timeout run as Express child executions; one at a time, all 1,000 items run on
    # one worker (moto's worker recursed per item: the adapter loops)
    record = cloud.run(squares("dist_thousand", 1000, mode="distributed", max_concurrency=1, timeout_seconds=30))
    assert record.status == "SUCCEEDED"
    assert received["dist_thousand"] == [i * i for i in range(1000)]
    assert len(cloud.execution_history(record.run_id)) < 60  # bench/foreach.py times it
