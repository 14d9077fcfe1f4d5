"""A one-task `orch run` as a user meets it: a fresh process (`python -m orchestration run FILE -q`)
in a fresh project folder, wall time and CPU time (user + system) of the whole process, median of
several runs. Everything counts: interpreter start, CLI imports, moto, the local cloud's setup,
deploying, the run, the recorder and saving the run in the local store. Wall time depends on what
else the machine runs: the report gives the load average (1 minute) before the samples, with the
number of cores."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5
WORKFLOW = """from orchestration import Workflow

wf = Workflow("one")


@wf.task
def hello() -> str:
    return "hi"
"""


def run(samples: int = 5, log: Any = None) -> dict[str, Any]:
    walls, cpus = [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCH_LOCAL_DEPS": "0"}
    # the library's bytecode, as an install writes it (with PYTHONDONTWRITEBYTECODE set, as here, every
    # run would compile the library's sources again: about 0.3 s)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "orchestration")], check=True, env=env)
    load = os.getloadavg()[0]
    for _ in range(samples):
        with tempfile.TemporaryDirectory(prefix="bench-one-") as tmp:
            Path(tmp, "one.py").write_text(WORKFLOW)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "orchestration", "run", "one.py", "-q"],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if proc.returncode != 0:
                raise RuntimeError(f"orch run failed: {proc.stderr[-1000:]}")
    out = {
        "samples": samples,
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "target_s": TARGET_S,
        "target_met": statistics.median(walls) <= TARGET_S,
        "load_avg": round(load, 2),
        "cores": os.cpu_count(),
    }
    if log:
        log(
            f"  one-task orch run: {out['wall_s']:.2f} s wall, {out['cpu_s']:.2f} s CPU (median of {samples}; "
            f"load average {load:.2f})"
        )
    return out


def render(o: dict[str, Any]) -> str:
    met = "MET" if o["target_met"] else "MISSED"
    return (
        f"== One-task `orch run` (fresh process, median of {o['samples']}) ==\n"
        f"wall {o['wall_s']:.2f} s, CPU {o['cpu_s']:.2f} s; target <= {o['target_s']:.1f} s wall: {met} "
        f"(load average {o.get('load_avg', '?')} on {o.get('cores', '?')} cores before the samples; "
        "CPU is steadier than wall time on a shared machine)"
    )
