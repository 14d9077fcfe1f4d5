"""Operating runs on the local store: what keeping runs costs and how fast later commands read them.

- store overhead: the same small workflow run 10 times on one LocalCloud with and without a store
  (`.orch/` in a temporary folder), wall time per run;
- history reads: `runs list` (20 newest) and `runs show` (one run with its attempts) over a store
  of 1,000 runs (one real run's folder, copied under new run ids and creation times);
- backfill: 30 daily intervals of a two-task workflow at --max-concurrent 4, wall time and the most
  runs seen going at once (from the ledger's timestamps).
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow
from orchestration.operations.backfill import run_backfill
from orchestration.operations.local_store import LEDGER, LocalStore
from orchestration.operations.source import RunFilter
from orchestration.triggers import Schedule
from orchestration.triggers.backfill import backfill_plan

RUNS = 10
STORED_RUNS = 1_000


def _small() -> Workflow:
    wf = Workflow("bench_ops", schedule=Schedule(cron="0 2 * * ? *", name="nightly"))
    wf.task(name="extract")(lambda: list(range(100)))

    @wf.task
    def load(extract: list[int]) -> int:
        return sum(extract)

    return wf


def _per_run_ms(store: LocalStore | None) -> float:
    wf = _small()
    with LocalCloud(store=store, echo_task_output=False) as cloud:
        cloud.run(wf)  # deploy and warm up
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            cloud.run(wf)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _best_ms(fn: Callable[[], Any], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def _fill(store: LocalStore, template: Path, count: int) -> None:
    """Copies of one stored run under new ids, one minute apart."""
    lines = (template / LEDGER).read_text().splitlines()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        run_id = f"copy-{i:05d}"
        created = (base + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        folder = store.run_dir("bench_ops", run_id)
        folder.mkdir(parents=True)
        items = [json.loads(line) for line in lines]
        items[0]["run_id"] = {"S": run_id}
        items[0]["created_at"] = {"S": created}
        (folder / LEDGER).write_text("".join(json.dumps(i) + "\n" for i in items))


def _max_going(runs: list[Any]) -> int:
    events = sorted([(r.started_at, 1) for r in runs] + [(r.ended_at, -1) for r in runs], key=lambda e: (e[0], e[1]))
    going = peak = 0
    for _, step in events:
        going += step
        peak = max(peak, going)
    return peak


def run(log: Callable[[str], None]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log("operations: store overhead")
        without = _per_run_ms(None)
        store = LocalStore(root / "overhead")
        with_store = _per_run_ms(store)
        log(f"operations: history reads over {STORED_RUNS} runs")
        template = next((root / "overhead" / "runs" / "bench_ops").iterdir())
        big = LocalStore(root / "big")
        _fill(big, template, STORED_RUNS)
        list_ms = _best_ms(lambda: big.list_runs(RunFilter(limit=20)))
        show_ms = _best_ms(lambda: big.get_run("copy-00500"))
        log("operations: backfill of 30 days, 4 at once")
        wf = _small()
        plan = backfill_plan(wf, start=datetime(2026, 10, 1), end=datetime(2026, 10, 31))
        with LocalCloud(store=LocalStore(root / "backfill"), echo_task_output=False) as cloud:
            t0 = time.perf_counter()
            progress = run_backfill(cloud, wf, plan, max_concurrent=4)
            backfill_s = time.perf_counter() - t0
        shutil.rmtree(root, ignore_errors=True)
    return {
        "run_ms_without_store": without,
        "run_ms_with_store": with_store,
        "store_overhead_ms_per_run": with_store - without,
        "stored_runs": STORED_RUNS,
        "runs_list_ms": list_ms,
        "runs_show_ms": show_ms,
        "backfill_runs": len(progress.finished),
        "backfill_seconds": backfill_s,
        "backfill_max_going": _max_going(progress.finished),
    }


def render(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "Operations on the local store",
            f"  a run (2 tasks), median of {RUNS}: {result['run_ms_without_store']:.0f} ms without a store, "
            f"{result['run_ms_with_store']:.0f} ms with one (+{result['store_overhead_ms_per_run']:.0f} ms)",
            f"  over {result['stored_runs']} stored runs: runs list {result['runs_list_ms']:.0f} ms, "
            f"runs show {result['runs_show_ms']:.1f} ms",
            f"  backfill: {result['backfill_runs']} runs in {result['backfill_seconds']:.1f} s, "
            f"at most {result['backfill_max_going']} going at once (limit 4)",
        ]
    )
