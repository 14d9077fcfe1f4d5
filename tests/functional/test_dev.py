"""`orch dev`'s loop (operations.dev.DevSession) on a virtual clock: schedules fire at the times and
with the run ids a backfill plans, limits hold, and a file dropped into the watched folder starts
the runs its S3 "Object Created" event matches."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestration import Workflow
from orchestration.local import LocalCloud
from orchestration.operations.dev import Arrived, DevSession, Ended, Fired, FolderWatch, Note, object_created
from orchestration.status import RunStatus
from orchestration.triggers import Schedule, on_s3_object_created
from orchestration.triggers.backfill import backfill_plan

pytestmark = pytest.mark.usefixtures("quiet_logs")
START = datetime(2026, 11, 21, 10, 0, 30, tzinfo=UTC)


class VirtualClock:
    """Time that passes only when the loop sleeps."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.slept = 0.0

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.at += timedelta(seconds=seconds)


def _ticker(name: str, schedule: Schedule, hold: threading.Event | None = None, **options: Any) -> Workflow:
    """A workflow whose task returns its logical date, once `hold` is set (if given)."""
    wf = Workflow(name, schedule=schedule, **options)

    @wf.task
    def tick(ctx: Any) -> str:
        if hold is not None:
            assert hold.wait(30)
        return ctx.logical_date.isoformat()

    return wf


def _session(workflows: list[Workflow], clock: VirtualClock, **kw: Any) -> tuple[DevSession, list[Note], LocalCloud]:
    notes: list[Note] = []
    cloud = LocalCloud(echo_task_output=False).__enter__()
    return DevSession(cloud, workflows, on_note=notes.append, clock=clock, **kw), notes, cloud


@pytest.mark.parametrize(
    ("schedule", "minutes", "count"),
    [
        (Schedule(rate="1 minute"), 5, 5),
        (Schedule(cron="*/15 * * * ? *", timezone="America/New_York"), 60, 4),
    ],
    ids=["rate", "cron"],
)
def test_schedules_fire_at_the_backfill_times_with_the_backfill_run_ids(
    schedule: Schedule, minutes: int, count: int
) -> None:
    wf = _ticker("ticker", schedule)
    clock = VirtualClock(START)
    session, notes, cloud = _session([wf], clock)
    last_fired = 0.0

    def note(n: Note) -> None:
        nonlocal last_fired
        notes.append(n)
        last_fired = time.perf_counter() if isinstance(n, Fired) else last_fired

    session.on_note = note
    try:
        began = time.perf_counter()
        summary = session.run(timedelta(minutes=minutes))
    finally:
        cloud.__exit__(None, None, None)
    plan = backfill_plan(wf, start=START, end=START + timedelta(minutes=minutes))
    fired = [n for n in notes if isinstance(n, Fired)]
    assert len(plan) == count
    assert [(f.scheduled_time, f.result["run_id"]) for f in fired] == [(p.scheduled_time, p.run_id) for p in plan]
    assert all(f.result["status"] == "started" and f.missed == 0 for f in fired)
    ended = {r.run_id: r for r in summary.ended}
    assert {p.run_id: p.logical_date for p in plan} == {i: r.logical_date for i, r in ended.items()}
    assert {r.status for r in ended.values()} == {RunStatus.SUCCEEDED}
    assert clock.slept == pytest.approx(minutes * 60)
    assert last_fired - began < 5.0  # virtual minutes in wall seconds (under 1 s unloaded: starting the runs)


@pytest.mark.parametrize(("on_limit", "statuses"), [("skip", ["SUCCEEDED", "SKIPPED", "SKIPPED"]), ("queue", None)])
def test_a_schedule_firing_while_its_run_goes_meets_the_workflow_limit(on_limit: str, statuses: Any) -> None:
    release = threading.Event()
    wf = _ticker("limited", Schedule(rate="1 minute"), release, max_concurrent_runs=1, on_limit=on_limit)
    session, notes, cloud = _session([wf], VirtualClock(START))

    def note(n: Note) -> None:
        notes.append(n)
        if sum(isinstance(x, Fired) for x in notes) == 3:
            release.set()  # the first run goes until all three have fired

    session.on_note = note
    try:
        summary = session.run(timedelta(minutes=3))  # three firings in a few ms of wall time
        results = [n.result for n in notes if isinstance(n, Fired)]
        recorded = [cloud.ledger.get_run_item("limited", r["run_id"]) for r in results]
    finally:
        cloud.__exit__(None, None, None)
    fired = [r["status"] for r in results]
    by_date = sorted(summary.ended, key=lambda r: r.logical_date or "")
    if on_limit == "skip":
        assert fired == ["started", "skipped", "skipped"]
        assert [r.status for r in recorded if r] == statuses
        assert [r.status for r in by_date] == ["SUCCEEDED"]  # a skipped run has nothing to follow
        return
    assert fired == ["started", "queued", "queued"]
    assert [r.status for r in by_date] == ["SUCCEEDED"] * 3
    starts = [r.started_at or "" for r in by_date]
    assert starts == sorted(starts)  # in arrival order
    for before, after in itertools.pairwise(by_date):
        assert (after.started_at or "") >= (before.ended_at or "")  # one at a time


def test_a_long_sleep_fires_only_the_latest_missed_firing() -> None:
    wf = _ticker("sleeper", Schedule(rate="1 minute"))

    class Suspending(VirtualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds + 600)  # the laptop slept 10 minutes

    session, notes, cloud = _session([wf], Suspending(START))
    try:
        session.run(timedelta(minutes=20))  # it wakes at 10:11:00, then after the end
    finally:
        cloud.__exit__(None, None, None)
    (fired,) = [n for n in notes if isinstance(n, Fired)]
    assert fired.scheduled_time == START + timedelta(seconds=30 + 600) and fired.missed == 10  # 10:01 to 10:10


def test_a_file_dropped_into_a_bucket_folder_starts_the_matching_run(tmp_path: Path) -> None:
    wf = Workflow(
        "ingest",
        params={"bucket": str, "key": str},
        triggers=[
            on_s3_object_created(
                "landing", prefix="in/", params={"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
            )
        ],
    )

    @wf.task
    def read(ctx: Any) -> str:
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        return str(s3.get_object(Bucket=ctx.params.bucket, Key=ctx.params.key)["Body"].read().decode())

    (tmp_path / "landing" / "in").mkdir(parents=True)
    (tmp_path / "landing" / "in" / "old.csv").write_text("there before")
    session, notes, cloud = _session([wf], VirtualClock(START), files=tmp_path)
    (tmp_path / "landing" / "in" / "sub").mkdir()
    (tmp_path / "landing" / "in" / "sub" / "a.csv").write_text("a,b\n1,2\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "in").mkdir()
    (tmp_path / "other" / "in" / "b.csv").write_text("x")
    (tmp_path / "Bad_Bucket").mkdir()
    try:
        summary = session.run(timedelta(seconds=3))
        old = cloud.s3.get_object(Bucket="landing", Key="in/old.csv")["Body"].read()
    finally:
        cloud.__exit__(None, None, None)
    arrived = {(n.bucket, n.key): n for n in notes if isinstance(n, Arrived)}
    assert set(arrived) == {("landing", "in/sub/a.csv"), ("other", "in/b.csv")}  # old.csv was there already
    assert arrived[("other", "in/b.csv")].deliveries == []
    ((workflow, trigger, result),) = arrived[("landing", "in/sub/a.csv")].deliveries
    assert (workflow, trigger, result["status"]) == ("ingest", "event", "started")
    (run,) = summary.ended
    assert run.run_id == result["run_id"] and run.status == RunStatus.SUCCEEDED
    assert run.tasks["read"].output == "a,b\n1,2\n"  # the task read the file from the local S3
    assert run.trigger["source"] == "aws.s3" and run.params == {"bucket": "landing", "key": "in/sub/a.csv"}
    assert old == b"there before"
    assert any("Bad_Bucket" in n.message for n in notes if not isinstance(n, Arrived | Ended | Fired))


def test_the_watch_reports_a_file_once_it_holds_still_and_again_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "b-1").mkdir()
    watch = FolderWatch(tmp_path)
    path = tmp_path / "b-1" / "k.txt"
    path.write_text("half")
    assert watch.poll() == []  # seen once: maybe still being written
    assert [(f.bucket, f.key, f.size) for f in watch.poll()] == [("b-1", "k.txt", 4)]
    assert watch.poll() == []
    path.write_text("now whole")
    assert watch.poll() == [] and [f.size for f in watch.poll()] == [9]


def test_the_event_has_the_shape_s3_sends_eventbridge() -> None:
    event = object_created("bkt", "a/b.csv", 12, "abc", START, "eu-west-1")
    assert (event["source"], event["detail-type"], event["region"]) == ("aws.s3", "Object Created", "eu-west-1")
    assert event["detail"]["bucket"] == {"name": "bkt"} and event["resources"] == ["arn:aws:s3:::bkt"]
    assert {k: event["detail"]["object"][k] for k in ("key", "size", "etag")} == {
        "key": "a/b.csv",
        "size": 12,
        "etag": "abc",
    }
    assert event["time"] == "2026-11-21T10:00:30Z"
    assert event["id"] != object_created("bkt", "k", 1, "", START, "r")["id"]


def test_a_continuous_workflow_starts_its_chain_and_the_chain_goes_on() -> None:
    from orchestration import continuous

    wf = Workflow("looping", triggers=[continuous(min_interval="1 second")])

    @wf.task
    def work() -> int:
        return 1

    notes: list[Note] = []
    with LocalCloud(echo_task_output=False) as cloud:
        session = DevSession(cloud, [wf], on_note=notes.append)
        session.run(timedelta(seconds=3.5))
        runs = [r for r in cloud.ledger.list_runs("looping", limit=50) if r.run_id.startswith("c-")]
    (fired,) = [n for n in notes if isinstance(n, Fired)]
    assert fired.trigger == "continuous" and fired.result["status"] == "started"
    assert len(runs) >= 2  # the first run, then at least one more a second later, with nothing but the cloud
    assert sorted(r.trigger["seq"] for r in runs)[:2] == [1, 2]
