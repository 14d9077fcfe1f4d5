"""Peers measured side by side with the local runtime: Prefect 3 and Dagster in-process, and the local
test runner of AWS Lambda durable functions (time skipped), on the same shapes as the overhead section
(a chain of N no-op tasks, N independent no-op tasks).

Each peer runs in a fresh interpreter (`python -m bench.peers PEER SHAPE N` prints one JSON line): a
small warm-up workflow first (the peer's own start-up is not counted, as deploying is not counted for
the local runtime), then the timed workflow of N tasks; per task = wall time / N. The interpreter is
this one, or `BENCH_PEERS_PYTHON` (a virtualenv holding the peers, kept apart from the project's); a
peer importable in neither is reported as not installed, with the command that installs it.
This module imports nothing from the project: it runs in the peers' virtualenv too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 5

# peer -> (distribution, pip command, what is measured)
PEERS: dict[str, tuple[str, str, str]] = {
    "prefect": (
        "prefect",
        'pip install "prefect>=3,<4" "fastapi==0.139.*"',
        "Prefect 3 flow in-process (tasks called in order; fan-out: submit + wait)",
    ),
    "dagster": ("dagster", "pip install dagster", "Dagster job, execute_in_process (one op per task)"),
    "durable": (
        "aws-durable-execution-sdk-python-testing",
        "pip install aws-durable-execution-sdk-python-testing",
        "Lambda durable functions, DurableFunctionTestRunner (skip_time; one step per task; fan-out: map)",
    ),
}


def noop() -> None:
    return None


def _prefect(shape: str, n: int) -> Callable[[], None]:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # its ephemeral server's shutdown noise
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")  # a loaded machine
    from prefect import flow, task

    step = task(noop, name="noop", persist_result=False)

    def body(count: int) -> None:
        if shape == "chain":
            for _ in range(count):
                step()
        else:
            for future in [step.submit() for _ in range(count)]:
                future.result()

    run: Any = flow(name=f"bench-{shape}", persist_result=False)(body)

    run(WARM_UP)
    return lambda: run(n)


def _dagster(shape: str, n: int) -> Callable[[], None]:
    from dagster import In, Nothing, job, op

    def build(count: int) -> Any:
        ops = [
            op(name=f"t{i}", ins={"after": In(Nothing)} if shape == "chain" and i else {})(noop) for i in range(count)
        ]

        def wire() -> None:
            previous = None
            for o in ops:
                previous = o(after=previous) if shape == "chain" and previous is not None else o()

        return job(name=f"bench_{shape}_{count}")(wire)

    build(WARM_UP).execute_in_process()
    timed = build(n)
    return lambda: _ok(timed.execute_in_process().success)


def _durable(shape: str, n: int) -> Callable[[], None]:
    from aws_durable_execution_sdk_python.execution import durable_execution
    from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

    def body(event: Any, context: Any) -> None:
        count = int(event["n"])
        if shape == "chain":
            for i in range(count):
                context.step(lambda _step: None, name=f"t{i}")
        else:
            context.map(list(range(count)), lambda _ctx, _item, _i, _items: None, name="fan_out")

    handler: Any = durable_execution(body)

    def run(count: int) -> None:
        with DurableFunctionTestRunner(handler=handler) as runner:
            result = runner.run(input=json.dumps({"n": count}), execution_timeout=600)
            _ok(str(result.status).endswith("SUCCEEDED"))

    run(WARM_UP)
    return lambda: run(n)


def _ok(success: bool) -> None:
    if not success:
        raise RuntimeError("the peer's run did not succeed")


RUNNERS = {"prefect": _prefect, "dagster": _dagster, "durable": _durable}


def measure_here(peer: str, shape: str, n: int) -> dict[str, Any]:
    timed = RUNNERS[peer](shape, n)
    t0 = time.perf_counter()
    timed()
    seconds = time.perf_counter() - t0
    return {"run_s": seconds, "ms_per_task": seconds / n * 1000}


def _installed(python: str, distribution: str) -> str | None:
    """The distribution's version in `python`'s environment, or None."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def run(ns: list[int], log: Any = None) -> dict[str, Any]:
    """Every peer at every N and shape, where some interpreter has it; the rest: how to install it."""
    candidates = [sys.executable, *filter(None, [os.environ.get("BENCH_PEERS_PYTHON")])]
    out: dict[str, Any] = {}
    for peer, (distribution, pip, what) in PEERS.items():
        found = [(py, v) for py in candidates if (v := _installed(py, distribution))]
        if not found:
            out[peer] = {"installed": False, "pip": pip, "what": what}
            if log:
                log(f"  peer {peer}: not installed ({pip}; then BENCH_PEERS_PYTHON=<its python>)")
            continue
        python, version = found[-1]
        rows = []
        for shape in ("chain", "fan_out"):
            for n in ns:
                proc = subprocess.run(
                    [python, "-m", "bench.peers", peer, shape, str(n)],
                    capture_output=True,
                    text=True,
                    check=False,
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                )
                lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
                if proc.returncode != 0 or not lines:
                    rows.append({"shape": shape, "n": n, "error": proc.stderr.strip()[-300:]})
                    continue
                rows.append({"shape": shape, "n": n, **json.loads(lines[-1])})
                if log:
                    log(f"  peer {peer:8s} {shape:8s} N={n:4d}: {rows[-1]['ms_per_task']:.2f} ms/task")
        out[peer] = {"installed": True, "version": version, "python": python, "what": what, "rows": rows}
    return out


def render(p: dict[str, Any], n: int, ours: dict[str, Any]) -> str:
    """Our headline, the floor and each peer at N, ms per task."""
    from bench.report import table

    rows: list[list[Any]] = []
    for label, key in (("this project, local run", "ms_per_task"), ("floor: its ASL on moto", "floor_ms_per_task")):
        by_shape = {r["shape"]: r.get(key) for r in ours.get("rows", []) if r["n"] == n}
        cells = [f"{by_shape[s]:.2f}" if by_shape.get(s) is not None else "-" for s in ("chain", "fan_out")]
        rows.append([label, *cells])
    for peer, info in p.items():
        if not info["installed"]:
            rows.append([f"{peer}: not installed ({info['pip']})", "-", "-"])
            continue
        by_shape = {r["shape"]: r for r in info["rows"] if r["n"] == n}
        cells = []
        for s in ("chain", "fan_out"):
            r = by_shape.get(s)
            cells.append("error" if r is None or "error" in r else f"{r['ms_per_task']:.2f}")
        rows.append([f"{peer} {info['version']}", *cells])
    notes = [f"{peer}: {info['what']}" for peer, info in p.items()]
    return "\n".join(
        [
            f"== Local cost per task side by side, N={n} (ms per task, first run) ==",
            table(["runner", "chain", "fan-out"], rows),
            *notes,
        ]
    )


if __name__ == "__main__":
    peer_name, shape_name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(measure_here(peer_name, shape_name, count)))
