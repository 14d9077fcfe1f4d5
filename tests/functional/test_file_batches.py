"""Batched file arrival on the local cloud: files delivered to the trigger function go into batches; each
batch closes (quiet, full, max wait) and starts one run with its keys, through the trigger's timers."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestration import Param, Workflow
from orchestration.ledger.batches import Batches
from orchestration.ledger.records import RunRecord
from orchestration.local import LocalCloud
from orchestration.local.triggering import complete_event, deliver
from orchestration.triggers import on_s3_object_created
from orchestration.triggers.batching import Batch
from tests.samples import s3_object_created

NAMES = itertools.count()


def batched(batch: Batch, *, pause: float = 0.0, **options: Any) -> Workflow:
    """A workflow whose `files` trigger batches the CSV files of s3://landing/in/."""
    wf = Workflow(
        f"batched_{next(NAMES)}",
        params={"keys": list[str], "tag": Param(str, default="t")},
        triggers=[on_s3_object_created("landing", prefix="in/", batch=batch, constants={"tag": "b"}, name="files")],
        **options,
    )

    @wf.task
    def count(ctx: Any) -> int:
        time.sleep(pause)
        return len(ctx.params.keys)

    return wf


@pytest.fixture()
def deployed(cloud: LocalCloud) -> Any:
    """Deploys a batched workflow before files arrive (a first delivery would deploy it: slow)."""

    def make(batch: Batch, **kwargs: Any) -> Workflow:
        wf = batched(batch, **kwargs)
        cloud.deploy(wf)
        return wf

    return make


def drop(cloud: LocalCloud, wf: Workflow, key: str, event_id: str | None = None) -> dict[str, Any]:
    event = complete_event(s3_object_created(key, bucket="landing", event_id=event_id or f"ev-{key}", time=None))
    return deliver(cloud, wf, "files", event)


def runs_of(cloud: LocalCloud, wf: Workflow, count: int, timeout: float = 15.0) -> list[RunRecord]:
    """The workflow's runs once there are `count` of them, oldest first, each waited for."""
    deadline = time.monotonic() + timeout
    while len(found := cloud.ledger.list_runs(wf.name)) < count:
        assert time.monotonic() < deadline, f"{len(found)} runs of {wf.name}, expected {count}"
        time.sleep(0.05)
    return [cloud.wait(run.run_id, workflow=wf.name) for run in reversed(found)]


def test_files_within_the_quiet_window_make_one_run_with_their_keys(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=2, max_files=10, max_wait_seconds=30))
    results = [drop(cloud, wf, key) for key in ("in/b.csv", "in/a.csv", "in/c.csv")]
    assert [r["status"] for r in results] == ["batched"] * 3
    assert len({r["batch"] for r in results}) == 1
    assert cloud.ledger.list_runs(wf.name) == []  # nothing starts before the window is quiet
    (run,) = runs_of(cloud, wf, 1)
    assert run.run_id == results[0]["batch"] and run.run_id.startswith("b-")
    assert run.status == "SUCCEEDED" and run.tasks["count"].output == 3
    assert run.params == {"keys": ["in/a.csv", "in/b.csv", "in/c.csv"], "tag": "b"}
    assert run.trigger["type"] == "file_batch" and run.trigger["name"] == "files"
    assert (run.trigger["files"], run.trigger["reason"]) == (3, "quiet")
    assert run.trigger["first"] <= run.trigger["last"]
    time.sleep(2.5)  # the batch's timer does nothing more
    assert len(cloud.ledger.list_runs(wf.name)) == 1
    assert Batches(cloud.table_name, cloud.dynamodb).open_batch(wf.name, "files") is None


def test_a_full_batch_starts_its_run_at_once_from_the_delivery_that_filled_it(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=60, max_files=3, max_wait_seconds=600))
    first = [drop(cloud, wf, f"in/{n}.csv") for n in range(2)]
    third = drop(cloud, wf, "in/2.csv")
    assert [r["status"] for r in first] == ["batched", "batched"]
    assert third["status"] == "started" and third["run_id"] == first[0]["batch"]
    run = cloud.wait(third["run_id"], workflow=wf.name)
    assert run.params["keys"] == ["in/0.csv", "in/1.csv", "in/2.csv"]
    assert (run.trigger["files"], run.trigger["reason"]) == (3, "full")
    fourth = drop(cloud, wf, "in/3.csv")  # the next file opens the next batch
    assert fourth["status"] == "batched" and fourth["batch"] != third["run_id"]


def test_a_repeated_delivery_counts_once_even_after_its_batch_closed(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=2, max_files=10, max_wait_seconds=30))
    statuses = [drop(cloud, wf, key, event_id)["status"] for key, event_id in [("in/x.csv", "e1")] * 3]
    assert statuses == ["batched", "duplicate", "duplicate"]
    assert drop(cloud, wf, "in/x.csv", "e2")["status"] == "batched"  # the same key again: one file
    assert drop(cloud, wf, "in/y.csv", "e3")["status"] == "batched"
    (run,) = runs_of(cloud, wf, 1)
    assert run.params["keys"] == ["in/x.csv", "in/y.csv"] and run.trigger["files"] == 2
    late = drop(cloud, wf, "in/x.csv", "e1")  # long after its batch closed
    assert late["status"] == "duplicate" and late["batch"] == run.run_id
    assert Batches(cloud.table_name, cloud.dynamodb).open_batch(wf.name, "files") is None


def test_concurrent_deliveries_lose_and_double_no_file(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=2, max_files=100, max_wait_seconds=30))
    keys = [f"in/{n:02d}.csv" for n in range(12)]
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda k=k, i=i: results.append(drop(cloud, wf, k, f"c-{i % 12}")))
        for i, k in enumerate(keys + keys[:6])  # six of them delivered twice, at once
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["status"] for r in results) == ["batched"] * 12 + ["duplicate"] * 6
    (run,) = runs_of(cloud, wf, 1)
    assert run.params["keys"] == keys and run.trigger["files"] == 12


def test_files_arriving_while_a_batchs_run_goes_make_the_next_batch(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=60, max_files=2, max_wait_seconds=600), pause=1.5)
    drop(cloud, wf, "in/1.csv")
    started = drop(cloud, wf, "in/2.csv")
    assert started["status"] == "started"
    assert cloud.ledger.get_run_item(wf.name, started["run_id"]).status == "RUNNING"  # type: ignore[union-attr]
    later = drop(cloud, wf, "in/3.csv")
    assert later["status"] == "batched" and later["batch"] != started["run_id"]
    assert drop(cloud, wf, "in/4.csv")["status"] == "started"
    first, second = runs_of(cloud, wf, 2)
    assert first.params["keys"] == ["in/1.csv", "in/2.csv"] and second.params["keys"] == ["in/3.csv", "in/4.csv"]
    assert first.ended_at is not None and second.created_at < first.ended_at  # while the first one went


def test_max_wait_bounds_a_trickle(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=3, max_files=100, max_wait_seconds=4))
    keys = [f"in/{n}.csv" for n in range(10)]
    for key in keys:  # a file every 0.5 s: never quiet for 3 s
        drop(cloud, wf, key)
        time.sleep(0.5)
    first, second = runs_of(cloud, wf, 2)
    assert first.trigger["reason"] == "max_wait" and second.trigger["reason"] in ("quiet", "max_wait")
    assert 2 <= len(first.params["keys"]) <= 9
    assert sorted(first.params["keys"] + second.params["keys"]) == keys  # no file lost, none twice


def test_batched_runs_respect_max_concurrent_runs(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=60, max_files=1, max_wait_seconds=600), pause=1.0, max_concurrent_runs=1)
    first, second = drop(cloud, wf, "in/1.csv"), drop(cloud, wf, "in/2.csv")
    assert (first["status"], second["status"]) == ("started", "queued")
    assert [r.status for r in runs_of(cloud, wf, 2)] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_bad_event_is_rejected_and_batches_nothing(cloud: LocalCloud, deployed: Any) -> None:
    wf = deployed(Batch(quiet_seconds=1))
    event = complete_event({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}})
    result = deliver(cloud, wf, "files", event)
    assert result["status"] == "rejected" and "no object key at $.detail.object.key" in result["error"]
    long_key = drop(cloud, wf, "in/" + "k" * 7000)
    assert long_key["status"] == "rejected" and "exceeds a batch's 6144" in long_key["error"]


def test_the_batch_trigger_shows_in_runs_show(
    cloud: LocalCloud, deployed: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.cli import main
    from orchestration.operations.local_store import HOME_ENV, LocalStore

    monkeypatch.setenv(HOME_ENV, str(tmp_path / ".orch"))
    wf = deployed(Batch(quiet_seconds=60, max_files=2))
    monkeypatch.setattr(cloud, "store", LocalStore())
    drop(cloud, wf, "in/a.csv")
    run_id = drop(cloud, wf, "in/b.csv")["run_id"]
    cloud.wait(run_id, workflow=wf.name)  # saves the run in the store
    result = CliRunner().invoke(main, ["runs", "show", run_id])
    assert result.exit_code == 0, result.output
    assert "file batch of 2 files (trigger files, full)" in result.output
