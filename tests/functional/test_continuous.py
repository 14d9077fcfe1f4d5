"""Continuous workflows on the local cloud: the watchdog starts the chain, then each run's end
(heard by the recorder) sets the timer that starts the next; one run at a time, `min_interval`
apart, backed off after a failure, exactly one next run per end however often the end is heard."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orchestration import Workflow, continuous
from orchestration.ledger import RunRecord
from orchestration.ledger.chain import Chains
from orchestration.local import LocalCloud
from orchestration.local.aws import status_change_event
from orchestration.local.triggering import fire, start_chain
from orchestration.runtime import continuous as continuous_runtime
from orchestration.runtime.recorder import record_status
from orchestration.status import RunStatus, is_terminal
from orchestration.times import parse_iso
from orchestration.triggers import Continuous, triggers_of

FAIL_RUNS = {2}  # the chain's second run fails


def chained(name: str, fail: set[int]) -> Workflow:
    wf = Workflow(name, triggers=[continuous(min_interval="1 second", max_backoff="3 seconds")])

    @wf.task()
    def work(ctx: Any) -> int:
        seq = int(ctx.run_id.split("-")[1])
        time.sleep(0.2)
        if seq in fail:
            raise RuntimeError(f"run {seq} fails")
        return seq

    return wf


@pytest.fixture()
def local() -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        yield c


def chain_runs(cloud: LocalCloud, wf: str) -> list[RunRecord]:
    runs = [r for r in cloud.ledger.list_runs(wf, limit=100) if r.run_id.startswith("c-")]
    return sorted(runs, key=lambda r: r.run_id)


def wait_for(cloud: LocalCloud, wf: str, ended: int, timeout: float = 120.0) -> list[RunRecord]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = chain_runs(cloud, wf)
        if sum(is_terminal(r.status) for r in runs) >= ended:
            return runs
        time.sleep(0.05)
    raise AssertionError(f"{ended} runs of {wf} did not end in {timeout} s: {[(r.run_id, r.status) for r in runs]}")


def at(value: str | None) -> datetime:
    moment = parse_iso(value)
    assert moment is not None
    return moment


def test_the_watchdog_starts_a_chain_of_runs_one_at_a_time_min_interval_apart(local: LocalCloud) -> None:
    wf = chained("looping", FAIL_RUNS)
    first = start_chain(local, wf)
    assert first["status"] == "started" and first["run_id"].startswith("c-000001-")
    later = datetime.now(UTC) + timedelta(minutes=5)  # a later watchdog firing
    assert start_chain(local, wf, at=later)["status"] == "waiting"  # a run of the chain is going: no second one

    runs = wait_for(local, wf.name, ended=4)[:4]
    assert [r.trigger["seq"] for r in runs] == [1, 2, 3, 4]
    assert [r.status for r in runs[:3]] == [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUCCEEDED]
    for before, after in itertools.pairwise(runs):
        assert after.trigger["previous_run_id"] == before.run_id
        assert at(after.started_at) >= at(before.ended_at)  # never two at once
        assert at(after.started_at) - at(before.started_at) >= timedelta(seconds=1)  # min_interval
    # after the failed run: at least min_interval * 2 after its end (backoff), then back to normal
    assert at(runs[2].started_at) - at(runs[1].ended_at) >= timedelta(seconds=2)
    assert runs[2].trigger["consecutive_failures"] == 1 and runs[3].trigger["consecutive_failures"] == 0
    assert runs[0].trigger["by"] == "watchdog" and runs[1].trigger["by"] == "chain"


def test_an_end_heard_twice_starts_one_next_run(local: LocalCloud) -> None:
    wf = chained("looping_twice", set())
    run_id = fire(local, wf, "continuous", datetime.now(UTC))["run_id"]  # as `orch dev` fires schedules
    run = local.wait(run_id, workflow=wf.name)  # the recorder heard the end: the next run is due
    chains = Chains(local.ledger.table, local.ledger.client)
    chain = chains.get(wf.name)
    assert chain is not None and chain.previous == run_id
    assert run.execution_arn is not None
    desc = local.sfn.describe_execution(executionArn=run.execution_arn)
    pending = local.timers.pending()
    again = record_status(status_change_event(run.execution_arn, desc), local._recorder_runtime())
    assert again.get("chained") == chain.head  # the same next run (its timer set again: one timer)
    assert chains.get(wf.name) == chain
    assert local.timers.pending() == pending
    runs = wait_for(local, wf.name, ended=2)
    seconds = [r for r in runs if r.trigger["seq"] == 2]
    assert len(seconds) == 1 and seconds[0].run_id == chain.head


def test_a_broken_chain_is_restarted_by_the_watchdog_once_overdue(
    local: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf = chained("looping_broken", set())
    run_id = start_chain(local, wf)["run_id"]
    local.wait(run_id, workflow=wf.name)
    for name, _ in local.timers.pending():  # the chain breaks: its next run's timer is lost
        local.scheduler.delete_schedule(Name=name, GroupName=local.timers.group)
    chains = Chains(local.ledger.table, local.ledger.client)
    lost = chains.get(wf.name)
    assert lost is not None and lost.seq == 2
    assert (
        start_chain(local, wf, at=datetime.now(UTC) + timedelta(minutes=5))["status"] == "waiting"
    )  # in the grace: the timer may still come
    monkeypatch.setattr(continuous_runtime, "GRACE", timedelta(0))
    time.sleep(1.1)  # the lost run is overdue
    restarted = start_chain(local, wf, at=datetime.now(UTC) + timedelta(minutes=10))
    assert restarted["status"] == "started" and restarted["run_id"].startswith("c-000003-")
    # the lost run's timer, had it come late, starts nothing: the chain moved on
    late = local.adapter.handlers[local.deploy(wf).trigger.function_arn or ""](
        {"trigger": "continuous", "run_id": lost.head}
    )
    assert late["status"] == "duplicate"
    runs = wait_for(local, wf.name, ended=2)
    assert lost.head not in [r.run_id for r in runs]


def test_a_disabled_watchdog_schedule_pauses_the_chain(local: LocalCloud) -> None:
    wf = chained("looping_paused", set())
    dep = local.deploy(wf)
    name = "looping_paused-watchdog"
    local.scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": dep.trigger.function_arn, "RoleArn": local.role_arn},
        State="DISABLED",  # orch schedule pause
    )
    run_id = start_chain(local, wf)["run_id"]
    local.wait(run_id, workflow=wf.name)
    for timer, _ in local.timers.pending():  # the next run's timer: delivered by hand below
        local.scheduler.delete_schedule(Name=timer, GroupName=local.timers.group)
    chain = Chains(local.ledger.table, local.ledger.client).get(wf.name)
    assert chain is not None
    rt = replace(dep.trigger, watchdog_schedule=name)
    trig = triggers_of(wf)["continuous"]
    assert isinstance(trig, Continuous)
    delivery = {"trigger": "continuous", "run_id": chain.head}
    assert continuous_runtime.run_continuous(delivery, rt, "continuous", trig)["status"] == "paused"
    assert local.ledger.get_run_item(wf.name, chain.head) is None  # the chain stopped
    local.scheduler.update_schedule(
        Name=name,
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": dep.trigger.function_arn, "RoleArn": local.role_arn},
        State="ENABLED",  # orch schedule resume
    )
    resumed = continuous_runtime.run_continuous(delivery, rt, "continuous", trig)
    assert resumed["status"] == "started" and resumed["run_id"] == chain.head
    assert local.wait(chain.head, workflow=wf.name).status == RunStatus.SUCCEEDED
