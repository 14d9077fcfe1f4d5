"""For-each at scale on LocalCloud: a list of N items squared one item per task call, in the mode the
for-each declares ("auto" picks inline or distributed per run). Per size: the wall time of the run,
the events in the run's own execution history (Step Functions stops a Standard execution at 25,000),
which Map ran, and whether the results reached the downstream task complete and in item order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.report import table
from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow

FULL = [(1_000, "auto"), (5_000, "auto"), (10_000, "distributed")]
QUICK = [(200, "auto"), (1_000, "distributed")]
HISTORY_LIMIT = 25_000


def _workflow(n: int, mode: str) -> tuple[Workflow, dict[str, bool]]:
    wf = Workflow(f"bench_foreach_{mode}_{n}")
    seen: dict[str, bool] = {}

    @wf.task
    def items() -> list[int]:
        return list(range(n))

    @wf.task(for_each="items", mode=mode, max_concurrency=10_000 if mode != "inline" else 40, timeout_seconds=60)
    def square(item: int) -> int:
        return item * item

    @wf.task
    def total(square: list[int]) -> int:
        seen["ordered"] = square == [i * i for i in range(n)]
        return len(square)

    return wf, seen


def run(sizes: list[tuple[int, str]], log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    rows = []
    with LocalCloud() as cloud:
        for n, mode in sizes:
            wf, seen = _workflow(n, mode)
            t0 = time.perf_counter()
            record = cloud.run(wf)
            seconds = time.perf_counter() - t0
            history = cloud.execution_history(record.run_id)
            states = {e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e}
            ran = "distributed" if "square.distributed" in states else "inline"
            row = {
                "items": n,
                "mode": mode,
                "ran": ran,
                "status": str(record.status),
                "seconds": round(seconds, 2),
                "ms_per_item": round(1000 * seconds / n, 2),
                "history_events": len(history),
                "within_history_quota": len(history) <= HISTORY_LIMIT,
                "results_in_order": seen.get("ordered", False),
            }
            log(f"for-each {n} items ({mode} -> {ran}): {seconds:.1f} s, {len(history)} history events")
            rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    headers = ["items", "mode", "ran", "status", "wall s", "ms/item", "history events", "in order"]
    body = [
        [
            r["items"],
            r["mode"],
            r["ran"],
            r["status"],
            r["seconds"],
            r["ms_per_item"],
            r["history_events"],
            r["results_in_order"],
        ]
        for r in rows
    ]
    return "For-each at scale (LocalCloud, Distributed Map on moto)\n" + table(headers, body)
