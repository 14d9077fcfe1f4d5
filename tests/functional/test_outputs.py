"""Task outputs recorded in the run ledger and returned by LocalCloud.wait, on moto with real task code."""

from __future__ import annotations

import pytest

from orchestration import Workflow
from orchestration.artifacts import REF_KEY
from orchestration.local import LocalCloud
from orchestration.protocol import PAYLOAD_LIMIT_BYTES
from orchestration.runtime import finalize


def outputs_workflow() -> Workflow:
    wf = Workflow("outputs")

    @wf.task
    def small() -> dict[str, int]:
        return {"b": 2, "a": 1}

    @wf.task
    def big() -> str:
        return "x" * 100_000  # over any task's inline limit: stored in the artifact bucket

    @wf.task
    def names() -> list[str]:
        return ["a", "b" * 500, "c"]  # the long item is stored in the bucket, the list stays in the state

    @wf.task(for_each="names")
    def upper(item: str) -> str:
        return item.upper()[:3]

    @wf.task
    def broken() -> None:
        raise RuntimeError("no output")

    @wf.task(after=["broken"], run_if="ALL_DONE")  # handles the failure: the execution succeeds
    def cleanup() -> None:
        return None

    return wf


OUTPUTS = outputs_workflow()


def check_outputs(cloud: LocalCloud, run_id: str) -> None:
    record = cloud.ledger.get_run_by_id(run_id)
    assert record is not None
    tasks = record.tasks
    assert tasks["small"].output == {"b": 2, "a": 1}
    assert list(tasks["small"].output) == ["b", "a"]
    assert tasks["big"].output[REF_KEY].endswith(f"/{run_id}/big/attempt-1.json")
    scope = {"workflow": "outputs", "run_id": run_id, "consumer": "test"}
    assert cloud.artifacts.resolve(tasks["big"].output, **scope) == "x" * 100_000
    names = tasks["names"].output
    assert names[0] == "a" and names[2] == "c" and REF_KEY in names[1]
    assert cloud.artifacts.resolve(names, **scope) == ["a", "b" * 500, "c"]
    assert tasks["upper"].output == ["A", "BBB", "C"]
    assert tasks["broken"].output is None
    assert tasks["cleanup"].output is None and tasks["cleanup"].status == "SUCCEEDED"


@pytest.mark.parametrize("carried", [True, False], ids=["carried-by-finalize", "read-from-attempts"])
def test_wait_returns_what_the_ledger_records(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch, carried: bool
) -> None:
    if not carried:  # outputs too large to come with Finalize's result: wait reads the attempt items
        monkeypatch.setattr(finalize, "CARRIED_OUTPUTS_BYTES", 100)
    run_id = f"outputs-{carried}"
    record = cloud.run(OUTPUTS, run_id=run_id)
    assert record.status == "SUCCEEDED_WITH_FAILURES"
    assert record.attempts == ([] if carried else cloud.ledger.get_run_by_id(run_id).attempts)  # type: ignore[union-attr]
    assert {name: t.output for name, t in record.tasks.items()} == {
        name: t.output
        for name, t in cloud.ledger.get_run_by_id(run_id).tasks.items()  # type: ignore[union-attr]
    }
    check_outputs(cloud, run_id)


@pytest.mark.parametrize("mode", ["inline", "auto"])
def test_a_for_each_list_too_long_for_the_state_fails_inline_and_goes_to_s3_in_auto(
    cloud: LocalCloud, mode: str
) -> None:
    wf = Workflow(f"too_many_items_{mode}")

    @wf.task
    def rows() -> list[str]:
        return ["r" * 100] * (PAYLOAD_LIMIT_BYTES // 100)

    @wf.task(for_each="rows", mode=mode)
    def each(item: str) -> int:
        return len(item)

    record = cloud.run(wf)
    if mode == "auto":  # a Distributed Map read the list from the artifact bucket
        assert record.tasks["each"].status == "SUCCEEDED" and record.tasks["each"].items == 2621
        return
    assert record.tasks["rows"].status == "FAILED"
    error = record.tasks["rows"].error or ""
    assert error.startswith("ForEachQuotaError: task 'rows' returned 2621 items for the inline for-each 'each'")
    assert "262,144-byte state" in error
    assert record.tasks["each"].status == "UPSTREAM_FAILED"
