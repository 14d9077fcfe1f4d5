"""The queue depth and pool usage metrics (EMF) of runs on the local cloud: emitted where those values
change (a workflow's run queue drained; a pool's slots taken or given back), by workflow and by pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from orchestration import Pool
from orchestration.local import LocalCloud
from orchestration.runtime import metrics
from orchestration.status import RunStatus
from tests.functional.test_concurrency import deliver_at_once, limited
from tests.functional.test_pools import three_pooled, wait_until


def _of(documents: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [
        d for d in list(documents) if any(m["Name"] == metric for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"])
    ]


def _dimension_sets(doc: dict[str, Any]) -> list[list[str]]:
    sets: list[list[str]] = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return sets


def test_queue_depth_follows_a_limited_workflow_s_queue(cloud: LocalCloud) -> None:
    wf = limited("metric_queue", 1)
    with metrics.capture() as documents:
        ids = [r["run_id"] for r in deliver_at_once(cloud, wf, 3)]
        with ThreadPoolExecutor(3) as waiting:  # (a run's end reaches the recorder while it is waited for)
            assert [r.status for r in waiting.map(lambda i: cloud.wait(i, workflow=wf.name), ids)] == [
                RunStatus.SUCCEEDED
            ] * 3
        wait_until(lambda: [d[metrics.QUEUE_DEPTH][0] for d in _of(documents, metrics.QUEUE_DEPTH)][-1:] == [0])
    depth = _of(documents, metrics.QUEUE_DEPTH)
    assert {d["workflow"] for d in depth} == {"metric_queue"}
    assert all(_dimension_sets(d) == [["service", "workflow"]] for d in depth)
    values = [d[metrics.QUEUE_DEPTH][0] for d in depth]
    # two runs waited behind the first; then one behind the second; the queue ends empty
    assert set(values) <= {0, 1, 2} and 1 in values and values[-1] == 0


def test_pool_usage_follows_the_slots_taken_and_given_back(cloud: LocalCloud) -> None:
    pool = Pool("metered", slots=2)
    wf = three_pooled("metered_three", "metered", pool)
    with metrics.capture() as documents:
        ids = [cloud.start(wf) for _ in range(4)]
        with ThreadPoolExecutor(4) as waiting:
            assert [r.status for r in waiting.map(lambda i: cloud.wait(i, workflow=wf.name), ids)] == [
                RunStatus.SUCCEEDED
            ] * 4
        wait_until(lambda: [d[metrics.POOL_USAGE][0] for d in _of(documents, metrics.POOL_USAGE)][-1:] == [0])
    usage = _of(documents, metrics.POOL_USAGE)
    assert {d["pool"] for d in usage} == {"metered"}
    assert all(_dimension_sets(d) == [["service", "pool"]] for d in usage)
    values = [d[metrics.POOL_USAGE][0] for d in usage]
    assert set(values) == {0, 1, 2}  # both slots used, never more; all given back at the end
    assert values[-1] == 0
