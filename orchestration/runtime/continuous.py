"""Continuous workflows (`triggers.continuous`): keeping the chain of runs going, serverlessly.

Nothing runs between two runs. Three deliveries move the chain, each through the chain item
(`ledger.chain`), whose head only moves with a conditional write:

- the **recorder** hears that the head run ended (any status): it moves the head to the next run,
  whose id derives from the ended run's (`chain_run_id`), due at `next_start`, and sets a one-time
  timer (`runtime.timers`, keyed by that id) invoking the workflow's trigger function then. A
  duplicated end finds the head moved and does nothing (or sets the same timer again: one timer).
- the **timer** reaches the trigger function (`ChainDelivery`): it starts the run if it is still
  the head and the watchdog schedule is not paused (`scheduler:GetSchedule` on that one schedule).
- the **watchdog**, a rate schedule of the trigger function, starts a chain when there is none or
  it broke: no head run going, none due, and the recorder did not move an ended head within
  `GRACE` (a first deploy, a start that failed, a resume after a pause). Otherwise it does nothing.

Runs start through `starter.start_run`, so a workflow's `max_concurrent_runs` holds (a chain run
may wait QUEUED behind manual runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration.ledger import RunRecord
from orchestration.ledger.chain import Chain, Chains
from orchestration.model import Workflow
from orchestration.protocol import ChainDelivery, ScheduleDelivery, TriggerResult
from orchestration.runtime.deps import Runtime
from orchestration.runtime.log import logger
from orchestration.runtime.starter import start_triggered
from orchestration.runtime.timers import Timer, set_timer
from orchestration.status import is_ok_run, is_terminal
from orchestration.times import iso, parse_iso
from orchestration.triggers.continuous import RUN_ID_PREFIX, Continuous, chain_run_id, next_start

GRACE = timedelta(minutes=2)  # how long the watchdog leaves an ended or due head to the recorder and its timer
DISABLED = "DISABLED"


def chains_of(rt: Runtime) -> Chains:
    return Chains(rt.ledger.table, rt.ledger.client)


def _time(value: str | None) -> datetime | None:
    moment = parse_iso(value) if value else None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def chain_alive(chain: Chain | None, head: RunRecord | None, now: datetime) -> bool:
    """Whether the chain will go on without the watchdog: its head run is going, or due (its timer
    pending), or ended so recently that the recorder is still moving the chain on."""
    if chain is None:
        return False
    if head is None:  # not started yet
        due = _time(chain.next_at)
        return due is None or now < due + GRACE
    if not is_terminal(head.status):
        return True
    ended = _time(head.ended_at or head.started_at or head.created_at)
    return ended is not None and now < ended + GRACE


def run_continuous(payload: Mapping[str, Any], rt: Runtime, name: str, trig: Continuous) -> dict[str, Any]:
    """The trigger function's part: a watchdog firing (`ScheduleDelivery`) or a chain timer (`ChainDelivery`)."""
    wf = rt.need_workflow()
    if "run_id" in payload:
        delivery = ChainDelivery.model_validate(payload)
        chain = chains_of(rt).get(wf.name)
        if chain is None or chain.head != delivery.run_id:  # the watchdog restarted the chain meanwhile
            return _result("duplicate", wf, delivery.run_id)
        if paused(rt):
            logger.info("continuous chain paused: next run not started", extra={"run_id": chain.head})
            return _result("paused", wf, chain.head)
        return _start(rt, wf, trig, chain)
    return _watchdog(rt, wf, name, trig, ScheduleDelivery.model_validate(payload))


def _watchdog(rt: Runtime, wf: Workflow, name: str, trig: Continuous, delivery: ScheduleDelivery) -> dict[str, Any]:
    now = datetime.now(UTC)
    chains = chains_of(rt)
    chain = chains.get(wf.name)
    head = rt.ledger.get_run_item(wf.name, chain.head) if chain else None
    seq = chain.seq + 1 if chain else 1
    run_id = chain_run_id(wf.name, name, seq, f"watchdog:{delivery.scheduled_time or iso(now)}")
    if chain is not None and chain.head == chain_run_id(
        wf.name, name, chain.seq, f"watchdog:{delivery.scheduled_time}"
    ):
        return _start(rt, wf, trig, chain)  # this firing started the chain: a retried delivery resumes the start
    if chain_alive(chain, head, now):
        assert chain is not None
        return _result("waiting", wf, chain.head)
    new = Chain(
        workflow=wf.name,
        trigger=name,
        head=run_id,
        seq=seq,
        next_at=iso(now),
        failures=chain.failures if chain else 0,
        interval_s=int(trig.interval.total_seconds()),
        backoff_cap_s=int(trig.backoff_cap.total_seconds()),
        target_arn=rt.function_arn,
        updated_at=iso(now),
    )
    if not chains.advance(new, expected_head=chain.head if chain else None):
        return _result("waiting", wf, None)  # the recorder moved the chain on first
    logger.info("continuous chain (re)started by the watchdog", extra={"run_id": run_id, "seq": seq})
    return _start(rt, wf, trig, new)


def _start(rt: Runtime, wf: Workflow, trig: Continuous, chain: Chain) -> dict[str, Any]:
    if chain.target_arn != rt.function_arn and rt.function_arn:  # e.g. a stack deployed again
        chains_of(rt).advance(replace(chain, target_arn=rt.function_arn), expected_head=chain.head)
    started = start_triggered(
        rt,
        run_id=chain.head,
        params=dict(trig.params),
        logical_date=chain.next_at,
        trigger={
            "type": "continuous",
            "name": chain.trigger,
            "seq": chain.seq,
            "previous_run_id": chain.previous,
            "consecutive_failures": chain.failures,
            "due": chain.next_at,
            "by": "watchdog" if chain.previous is None else "chain",
        },
    )
    return TriggerResult(
        status=started.status, workflow=wf.name, run_id=started.run_id, execution_arn=started.execution_arn
    ).model_dump(exclude_none=True)


def _result(status: str, wf: Workflow, run_id: str | None) -> dict[str, Any]:
    return TriggerResult.model_validate({"status": status, "workflow": wf.name, "run_id": run_id}).model_dump(
        exclude_none=True
    )


def paused(rt: Runtime) -> bool:
    """The workflow's watchdog schedule is DISABLED (`orch schedule pause`): the chain stops."""
    if not rt.watchdog_schedule or rt.scheduler is None:
        return False
    return bool(rt.scheduler.get_schedule(Name=rt.watchdog_schedule)["State"] == DISABLED)


def chain_next(rt: Runtime, workflow: str, run_id: str) -> dict[str, Any]:
    """The recorder's part: run `run_id` of `workflow` ended; if it is its chain's head, move the
    chain to the next run and set the timer that starts it."""
    if not run_id.startswith(RUN_ID_PREFIX):
        return {}
    chains = chains_of(rt)
    chain = chains.get(workflow)
    if chain is None:
        return {}
    if chain.head != run_id:
        if chain.previous == run_id and rt.ledger.get_run_item(workflow, chain.head) is None:
            _set_timer(rt, chain)  # a retried end: the timer may not have been set the first time
            return {"chained": chain.head}
        return {}
    run = rt.ledger.get_run_item(workflow, run_id)
    if run is None or not is_terminal(run.status):
        return {}
    failures = 0 if is_ok_run(run.status) else chain.failures + 1
    now = datetime.now(UTC)
    due = next_start(
        now=now,
        started_at=_time(run.started_at),
        interval=timedelta(seconds=chain.interval_s),
        failures=failures,
        cap=timedelta(seconds=chain.backoff_cap_s),
    )
    nxt = replace(
        chain,
        head=chain_run_id(workflow, chain.trigger, chain.seq + 1, run_id),
        seq=chain.seq + 1,
        next_at=iso(due),
        failures=failures,
        previous=run_id,
        updated_at=iso(now),
    )
    if not chains.advance(nxt, expected_head=run_id):
        return {}  # a concurrent delivery of this end moved it
    _set_timer(rt, nxt)
    logger.info("continuous chain: next run due", extra={"run_id": nxt.head, "due": nxt.next_at})
    return {"chained": nxt.head, "next_at": nxt.next_at}


def _set_timer(rt: Runtime, chain: Chain) -> None:
    if chain.target_arn is None:
        logger.warning("continuous chain without a trigger function to call: the watchdog restarts it")
        return
    # at() has whole seconds: round up, and never in the past
    due = max(_time(chain.next_at) or datetime.now(UTC), datetime.now(UTC) + timedelta(seconds=1))
    at = due.replace(microsecond=0) + (timedelta(seconds=1) if due.microsecond else timedelta(0))
    payload = ChainDelivery(trigger=chain.trigger, run_id=chain.head).model_dump()
    set_timer(rt, Timer(f"chain:{chain.workflow}:{chain.head}", at, chain.target_arn, payload))
