"""Cold start: what importing each Lambda entry point costs over `import boto3`, measured as Lambda would.

The code asset is staged the way infra/asset.py stages it (the library without the CLI and the local
runtime, `functions/`, the examples as workflows) into a temporary folder, without bytecode: Lambda
unpacks the asset read-only and without `__pycache__`, so every cold start compiles our modules.
Each sample is a fresh interpreter (`PYTHONPATH` = the asset, no bytecode written) timing
`import boto3` and then `import functions.<name>` with `time.perf_counter`; the figure is the median
over the samples. The task function's first invocation also imports the user's workflow file and
makes the clients it uses (`build_runtime`: each client on first use, so the ledger's DynamoDB
client): both are reported beside it (examples/etl.py).

`python` defaults to this interpreter; a virtualenv holding only boto3, aws-lambda-powertools[tracer]
and pydantic (what the Lambda runtime and the Powertools layer provide) is closer to Lambda:
`BENCH_LAMBDA_PYTHON=/path/to/venv/bin/python python -m bench`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra.asset import source_files
from orchestration.runtime.registry import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0
HEAVY = ("orchestration.compiler", "orchestration.validation", "orchestration.triggers", "orchestration.graph")
PROBE = """
import sys, time, json
clocks = (time.perf_counter, time.process_time)  # wall, CPU (the CPU time is steadier on a shared machine)
t0 = [c() for c in clocks]
import boto3
t1 = [c() for c in clocks]
import importlib
module = importlib.import_module(sys.argv[1])
t2 = [c() for c in clocks]
load = setup = None
if sys.argv[2]:
    from orchestration.loader import load_workflow
    name = load_workflow(sys.argv[2]).name
    t3 = [c() for c in clocks]
    load = [(b - a) * 1000 for a, b in zip(t2, t3)]
    from orchestration.runtime.entry import build_runtime
    from orchestration.runtime.registry import by_handler
    env = {"ORCH_LEDGER_TABLE": "t", "ORCH_ARTIFACT_BUCKET": "b", "ORCH_WORKFLOW_FILE": sys.argv[2]}
    env["ORCH_WORKFLOW"] = name
    build_runtime(by_handler(sys.argv[1] + ".handler"), env, boto3.client)  # the first invocation's set-up
    setup = [(c() - t) * 1000 for c, t in zip(clocks, t3)]
heavy = sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[3].split(","))))
print(json.dumps({"boto3": [(b - a) * 1000 for a, b in zip(t0, t1)], "over": [(b - a) * 1000 for a, b in zip(t1, t2)],
                  "load": load, "setup": setup, "heavy": heavy, "file": module.__file__,
                  "xray": "aws_xray_sdk" in sys.modules}))
"""


def stage_asset(into: Path) -> Path:
    """The code asset (as infra/asset.py lays it out) copied into `into`, without bytecode."""
    for rel, path in source_files(ROOT, ROOT / "examples").items():
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, into / rel)
    return into


def sample(python: str, asset: Path, module: str, workflow: str = "") -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "POWERTOOLS_", "ORCH_"))}
    env.update(PYTHONPATH=str(asset), PYTHONDONTWRITEBYTECODE="1", LAMBDA_TASK_ROOT=str(asset))
    env.update(AWS_DEFAULT_REGION="us-east-1")  # clients are made (set-up), never called
    out = subprocess.run(
        [python, "-c", PROBE, module, workflow, ",".join(HEAVY)],
        env=env,
        cwd=asset,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["file"].startswith(str(asset)):
        raise RuntimeError(f"{module} was imported from {result['file']}, not from the staged asset")
    return result


def _median(runs: list[dict[str, Any]], key: str, clock: int) -> float:
    return float(statistics.median(r[key][clock] for r in runs))


def measure(python: str, asset: Path, samples: int) -> list[dict[str, Any]]:
    rows = []
    for fn in FUNCTIONS:
        workflow = "examples/etl.py" if fn.name == "task" else ""
        runs = [sample(python, asset, f"functions.{fn.name}", workflow) for _ in range(samples)]
        rows.append(
            {
                "function": fn.name,
                "boto3_ms": _median(runs, "boto3", 0),
                "import_over_boto3_ms": _median(runs, "over", 0),
                "import_over_boto3_cpu_ms": _median(runs, "over", 1),
                "workflow_load_cpu_ms": _median(runs, "load", 1) if workflow else None,
                "first_setup_cpu_ms": _median(runs, "setup", 1) if workflow else None,
                "heavy_modules": runs[0]["heavy"],
                "xray_imported": runs[0]["xray"],
            }
        )
    return rows


def run(samples: int = 5, python: str | None = None, log: Any = None) -> dict[str, Any]:
    """Both asset layouts: without bytecode (what deploys today) and compiled (`compileall`) for comparison."""
    python = python or os.environ.get("BENCH_LAMBDA_PYTHON") or sys.executable
    out: dict[str, Any] = {"python": python, "samples": samples, "target_ms": TARGET_MS}
    with tempfile.TemporaryDirectory(prefix="bench-asset-") as tmp:
        asset = stage_asset(Path(tmp))
        out["source"] = measure(python, asset, samples)
        subprocess.run([python, "-m", "compileall", "-q", str(asset)], check=True, capture_output=True)
        out["bytecode"] = measure(python, asset, samples)
    for layout in ("source", "bytecode"):
        for row in out[layout]:
            if log:
                log(
                    f"  cold start {layout:8s} {row['function']:9s}: {row['import_over_boto3_cpu_ms']:6.1f} ms CPU "
                    f"({row['import_over_boto3_ms']:.1f} ms wall) over boto3"
                )
    task = next(r for r in out["source"] if r["function"] == "task")
    out["task_path_clean"] = not task["heavy_modules"] and not task["xray_imported"]
    out["target_met"] = out["task_path_clean"] and all(
        r["import_over_boto3_cpu_ms"] <= TARGET_MS for r in out["source"]
    )
    return out


def render(c: dict[str, Any]) -> str:
    from bench.report import table

    compiled = {r["function"]: r for r in c["bytecode"]}
    rows = [
        [
            r["function"],
            f"{r['boto3_ms']:.0f}",
            f"{r['import_over_boto3_cpu_ms']:.1f}",
            f"{r['import_over_boto3_ms']:.1f}",
            f"{compiled[r['function']]['import_over_boto3_cpu_ms']:.1f}",
            "-" if r["workflow_load_cpu_ms"] is None else f"{r['workflow_load_cpu_ms']:.1f}",
            "-" if r.get("first_setup_cpu_ms") is None else f"{r['first_setup_cpu_ms']:.1f}",
            ", ".join(m.removeprefix("orchestration.") for m in r["heavy_modules"] if m.count(".") == 1) or "none",
        ]
        for r in c["source"]
    ]
    met = "MET" if c["target_met"] else "MISSED"
    return "\n".join(
        [
            f"== Cold start: importing each Lambda entry point over `import boto3` (median of {c['samples']} "
            "fresh interpreters) ==",
            table(
                [
                    "function",
                    "boto3 ms",
                    "ms CPU",
                    "ms wall",
                    "ms CPU (asset compiled)",
                    "+ workflow load ms CPU",
                    "+ first set-up ms CPU",
                    "compiler/validation/triggers/graph",
                ],
                rows,
            ),
            "the asset as deployed (no bytecode); first set-up: the clients a first invocation makes (each on "
            "first use: the task's S3 client only for an output in S3); task path free of compiler, validation, "
            f"triggers, graph and X-Ray: {'yes' if c['task_path_clean'] else 'NO'}; target <= {c['target_ms']:.0f} ms "
            f"CPU over boto3 for every function: {met} (python: {c['python']})",
        ]
    )
