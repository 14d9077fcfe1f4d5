"""Cancelling a QUEUED run on the local cloud (`concurrency.cancel_queued`): it leaves the queue by a
conditional delete and is closed ABORTED, or, when a drain claimed it first, its execution is found
(the caller stops that); a withdrawn run is never started."""

from __future__ import annotations

from orchestration.ledger import RunRecord
from orchestration.local import LocalCloud
from orchestration.runtime.concurrency import cancel_queued, drain, slots_of
from orchestration.status import RunStatus
from tests.functional.test_concurrency import limited


def _item(cloud: LocalCloud, workflow: str, run_id: str) -> RunRecord:
    run = cloud.ledger.get_run_item(workflow, run_id)
    assert run is not None
    return run


def test_a_withdrawn_run_is_closed_aborted_and_never_started(cloud: LocalCloud) -> None:
    wf = limited("cancel_won", 1)
    first = cloud.start(wf, {"seconds": 0.3})
    second, third = cloud.start(wf), cloud.start(wf)
    queued = _item(cloud, wf.name, second)
    assert (queued.status, queued.execution_arn) == (RunStatus.QUEUED, None)

    run = cancel_queued(cloud.ledger, queued, "ann@laptop")
    assert run.status == RunStatus.ABORTED and run.execution_arn is None
    assert run.error == "Cancelled: cancelled while queued by ann@laptop" and run.ended_at
    assert [q.run_id for q in slots_of(cloud.ledger).queued(wf.name)] == [third]
    assert slots_of(cloud.ledger).withdraw(wf.name, second, queued.created_at) is False  # once only

    assert cloud.wait(first, workflow=wf.name).status == RunStatus.SUCCEEDED  # its end drains the queue
    assert cloud.wait(third, workflow=wf.name).status == RunStatus.SUCCEEDED
    assert drain(cloud.ledger, cloud.sfn, wf.name) == {}
    after = _item(cloud, wf.name, second)
    assert (after.status, after.execution_arn) == (RunStatus.ABORTED, None)  # the drains passed it by
    assert slots_of(cloud.ledger).holders(wf.name) == set()


def test_a_cancel_that_loses_to_a_drain_finds_the_execution_to_stop(cloud: LocalCloud) -> None:
    wf = limited("cancel_lost", 1)
    first = cloud.start(wf, {"seconds": 0.2})
    second = cloud.start(wf, {"seconds": 0.2})
    stale = _item(cloud, wf.name, second)  # read QUEUED by the cancel ...
    slots_of(cloud.ledger).release(wf.name, first)  # ... then a slot frees and a drain claims it first
    assert set(drain(cloud.ledger, cloud.sfn, wf.name)) == {second}

    run = cancel_queued(cloud.ledger, stale, "ann@laptop", wait_seconds=1.0)
    assert run.status == RunStatus.RUNNING and run.execution_arn is not None  # the caller stops this one
    assert cloud.wait(first, workflow=wf.name).status == RunStatus.SUCCEEDED
    assert cloud.wait(second, workflow=wf.name).status == RunStatus.SUCCEEDED


def test_a_run_queued_outside_the_queue_is_returned_as_it_stands(cloud: LocalCloud) -> None:
    wf = limited("cancel_orphan", 1)
    first = cloud.start(wf, {"seconds": 0.2})
    second = cloud.start(wf)
    stale = _item(cloud, wf.name, second)
    (queued,) = slots_of(cloud.ledger).queued(wf.name)
    slots_of(cloud.ledger).withdraw(wf.name, second, queued.arrival)  # as if its start died before queueing
    run = cancel_queued(cloud.ledger, stale, "ann@laptop", wait_seconds=0.2)
    assert (run.status, run.execution_arn) == (RunStatus.QUEUED, None)
    assert cloud.wait(first, workflow=wf.name).status == RunStatus.SUCCEEDED
