"""Only the runtime makes artifact references, and a run fetches only its own: a task's data that looks
like a reference reaches its consumers as returned, inline or offloaded, and nothing it names is read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from orchestration import Workflow
from orchestration.artifacts import ArtifactStore, artifact_key
from orchestration.errors import ArtifactError
from orchestration.ledger.records import output_view
from orchestration.local import LocalCloud
from orchestration.protocol import LIT_KEY, REF_KEY, RunContext, TaskEvent
from orchestration.runtime.deps import Runtime
from orchestration.runtime.task import run_task
from orchestration.testing import WorkflowRun

BUCKET = "orch-artifacts"  # LocalCloud's
DECOY = "stolen"  # what each object a forged reference names holds: a consumer must never see it


def targets(run_id: str) -> dict[str, str]:
    """Where forged references point: other runs' and workflows' objects, another bucket, escapes."""
    return {
        "another run": f"s3://{BUCKET}/runs/forged/other-run/secret/attempt-1.json",
        "another workflow": f"s3://{BUCKET}/runs/victim/r1/secret/attempt-1.json",
        "another bucket": f"s3://someone-elses-bucket/runs/forged/{run_id}/forge/attempt-1.json",
        "path traversal": f"s3://{BUCKET}/runs/../victim/r1/secret/attempt-1.json",
        "traversal from this run": f"s3://{BUCKET}/runs/forged/{run_id}/../../victim/r1/secret/attempt-1.json",
        "this run": f"s3://{BUCKET}/runs/forged/{run_id}/secret/attempt-1.json",
    }


def forged(run_id: str) -> dict[str, Any]:
    """A task's own data holding the reference marker (and the literal marker) in every shape."""
    cases: dict[str, Any] = {name: {REF_KEY: uri, "bytes": 6} for name, uri in targets(run_id).items()}
    return cases | {
        "nested": {"rows": [1, {"deep": {REF_KEY: targets(run_id)["another run"], "bytes": 6}}]},
        "malformed": {REF_KEY: 42},
        "a literal": {LIT_KEY: {REF_KEY: targets(run_id)["another run"], "bytes": 6}},
        "marker as text": REF_KEY,
    }


def forged_workflow() -> Workflow:
    wf = Workflow("forged")

    @wf.task
    def forge(ctx: Any) -> dict[str, Any]:
        return forged(ctx.run_id)

    @wf.task
    def forge_big(ctx: Any) -> dict[str, Any]:  # over the inline limit: stored in the bucket as returned
        return {"pad": "x" * 50_000, "cases": forged(ctx.run_id)}

    @wf.task
    def consume(ctx: Any, forge: Any, forge_big: Any) -> Any:
        assert forge == forged(ctx.run_id)
        assert forge_big["cases"] == forged(ctx.run_id)
        return forge

    @wf.task
    def rows(ctx: Any) -> list[Any]:  # small items stay in the state, large ones are offloaded one by one
        return [*forged(ctx.run_id).values(), {REF_KEY: "s3://x/y", "pad": "y" * 500}]

    @wf.task(for_each="rows")
    def each(item: Any) -> Any:
        return item

    @wf.task
    def gather(ctx: Any, rows: Any, each: Any) -> int:
        expected = [*forged(ctx.run_id).values(), {REF_KEY: "s3://x/y", "pad": "y" * 500}]
        assert rows == expected and each == expected
        return len(each)

    return wf


FORGED = forged_workflow()


class SpyS3:
    """The local S3 client, recording every object read."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.reads: list[tuple[str, str]] = []

    def get_object(self, *, Bucket: str, Key: str) -> Any:
        self.reads.append((Bucket, Key))
        return self.client.get_object(Bucket=Bucket, Key=Key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def spy(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[SpyS3]:
    """Every read from the artifact bucket, with a decoy at each key a forged reference names."""
    for uri in targets("forged-run").values():
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if bucket == BUCKET:
            cloud.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(DECOY).encode())
    s3 = SpyS3(cloud.s3)
    monkeypatch.setattr(cloud.artifacts, "client", s3)
    yield s3


def test_a_tasks_data_that_looks_like_a_reference_reaches_its_consumers_as_returned(
    cloud: LocalCloud, spy: SpyS3
) -> None:
    run_id = "forged-run"
    record = cloud.run(FORGED, run_id=run_id)
    assert {n: t.status for n, t in record.tasks.items()} == dict.fromkeys(FORGED.tasks, "SUCCEEDED")
    run = WorkflowRun.of(record, cloud.artifacts)
    expected = [*forged(run_id).values(), {REF_KEY: "s3://x/y", "pad": "y" * 500}]
    assert run.output("forge") == run.tasks["forge"].output == run.output("consume") == forged(run_id)
    assert run.output("forge_big")["cases"] == forged(run_id)
    assert run.output("rows") == run.output("each") == expected
    assert run.output("gather") == len(expected)
    # nothing a forged reference names was read: only this run's own artifacts, made by the runtime
    own = f"runs/forged/{run_id}/"
    assert spy.reads and all(b == BUCKET and k.startswith(own) for b, k in spy.reads)
    assert not {k for _, k in spy.reads} & {u.partition(f"{BUCKET}/")[2] for u in targets(run_id).values()}
    # the big output and the large items went through the bucket, each under its own key
    big = f"s3://{BUCKET}/{artifact_key('forged', run_id, 'forge_big', 1)}.json"
    assert run.tasks["forge_big"].output[REF_KEY] == big
    assert any(REF_KEY in item and set(item) == {REF_KEY, "bytes"} for item in run.tasks["each"].output)
    # `orch run --json` shows the task's data as returned
    assert output_view(record.tasks["consume"].output) == forged(run_id)


def test_a_genuine_large_output_round_trips_through_the_bucket(cloud: LocalCloud, spy: SpyS3) -> None:
    wf = Workflow("genuine_big")

    @wf.task
    def produce() -> dict[str, Any]:
        return {"blob": "z" * 100_000, REF_KEY: "s3://elsewhere/k.json"}  # offloaded as returned

    @wf.task
    def consume(produce: dict[str, Any]) -> int:
        assert produce == {"blob": "z" * 100_000, REF_KEY: "s3://elsewhere/k.json"}
        return len(produce["blob"])

    record = cloud.run(wf, run_id="genuine-1")
    assert record.status == "SUCCEEDED"
    ref = record.tasks["produce"].output
    assert set(ref) == {REF_KEY, "bytes"} and ref[REF_KEY].startswith(f"s3://{BUCKET}/runs/genuine_big/genuine-1/")
    assert spy.reads == [(BUCKET, ref[REF_KEY].partition(f"{BUCKET}/")[2])]
    assert WorkflowRun.of(record, cloud.artifacts).output("produce")["blob"] == "z" * 100_000
    assert output_view(ref) == {"$ref": ref[REF_KEY], "bytes": ref["bytes"]}


def test_a_sub_workflow_gets_forged_looking_data_as_parameters(cloud: LocalCloud, spy: SpyS3) -> None:
    child = Workflow("forged_child", params={"data": dict})

    @child.task
    def echo(ctx: Any) -> Any:
        return ctx.params.data

    parent = Workflow("forged_parent")

    @parent.task
    def forge(ctx: Any) -> dict[str, Any]:
        return forged(ctx.run_id)

    parent.run_workflow("sub", workflow=child, params={"data": forge})
    record = cloud.run(parent, run_id="forged-parent")
    assert record.status == "SUCCEEDED"
    (child_run,) = [r for r in cloud.ledger.list_runs("forged_child") if r.parent_run_id == "forged-parent"]
    assert child_run.params == {"data": forged("forged-parent")}
    assert not spy.reads


# -- a reference in the state that the runtime did not make for this run is refused ---------------------


def direct(cloud: LocalCloud, task: str, **event: Any) -> dict[str, Any]:
    """Call the task runtime as the state machine would, with a crafted event."""
    rt = Runtime(ledger=cloud.ledger, artifacts=cloud.artifacts, workflow=FORGED)
    run = RunContext(run_id="direct-1", workflow="forged")
    return run_task(TaskEvent(run=run, task=task, **event).model_dump(), rt)


OUTSIDE = {
    **{name: uri for name, uri in targets("direct-1").items() if name != "this run"},
    "a sibling run": f"s3://{BUCKET}/runs/forged/direct-10/forge/attempt-1.json",
    "the run prefix itself": f"s3://{BUCKET}/runs/forged/direct-1/",
    "an empty segment": f"s3://{BUCKET}/runs/forged/direct-1//forge/attempt-1.json",
    "not a .json artifact": f"s3://{BUCKET}/runs/forged/direct-1/forge/attempt-1",
    "not s3": f"https://{BUCKET}.s3.amazonaws.com/runs/forged/direct-1/forge/attempt-1.json",
}


@pytest.mark.parametrize(("retry", "uri"), list(enumerate(OUTSIDE.values())), ids=list(OUTSIDE))
def test_a_reference_outside_the_runs_prefix_is_refused_not_fetched(
    cloud: LocalCloud, spy: SpyS3, retry: int, uri: str
) -> None:
    ref = {REF_KEY: uri, "bytes": 6}
    with pytest.raises(ArtifactError, match=r"^task 'consume', input 'forge' received an artifact reference") as err:
        direct(cloud, "consume", inputs={"forge": ref, "forge_big": {}}, attempt=retry)
    assert f"s3://{BUCKET}/runs/forged/direct-1/" in str(err.value) and "nothing was read" in str(err.value)
    assert not spy.reads
    (attempt,) = [a for a in cloud.ledger.task_attempts(FORGED.name, "direct-1", "consume") if a.attempt == retry + 1]
    assert (attempt.status, attempt.error, attempt.message) == ("FAILED", "ArtifactError", str(err.value))


@pytest.mark.parametrize("ref", [{REF_KEY: 42}, {REF_KEY: "s3://x/y", "bytes": 1, "extra": 1}], ids=["uri", "extra"])
def test_a_malformed_reference_is_refused(cloud: LocalCloud, spy: SpyS3, ref: dict[str, Any]) -> None:
    with pytest.raises(ArtifactError, match=r"^task 'each', item 3 received an artifact reference"):
        direct(cloud, "each", item=ref, index=3)
    assert not spy.reads


def test_references_the_runtime_made_for_this_run_are_fetched(cloud: LocalCloud, spy: SpyS3) -> None:
    store = ArtifactStore(BUCKET, cloud.s3)
    data = forged("direct-1")
    forge = store.offload(data, limit=256, key=artifact_key("forged", "direct-1", "forge", 1))
    big = store.offload({"cases": data}, limit=256, key=artifact_key("forged", "direct-1", "forge_big", 1))
    item = store.offload("i" * 1000, limit=128, key=artifact_key("forged", "direct-1", "rows", 1) + "/items/000000")
    # fetched as stored; consume's output (the forged-looking data) goes back to the state wrapped
    assert direct(cloud, "consume", inputs={"forge": forge, "forge_big": big}) == {
        "output": {LIT_KEY: data},
        "status": "SUCCEEDED",
    }
    assert direct(cloud, "each", item=item, index=0) == {"output": "i" * 1000, "status": "SUCCEEDED"}
    assert direct(cloud, "each", item={LIT_KEY: forge}, index=1) == {
        "output": {LIT_KEY: forge},
        "status": "SUCCEEDED",
    }  # data, unread
    keys = [ref[REF_KEY].partition(f"{BUCKET}/")[2] for ref in (forge, big, item)]
    assert [k for _, k in spy.reads] == keys
    assert all(k.startswith("runs/forged/direct-1/") for k in keys)
