"""`python -m bench`: the benchmark (see docs/benchmarks.md). `--quick` for a fast smoke run."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import coldstart, deploy_scale, foreach, makespan, onetask, operations, overhead, peers, scale, transitions
from bench.corpus import SEED, generate_corpus
from bench.report import render

HERE = Path(__file__).resolve().parent
OVERHEAD_TARGET_MS = 2.0


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small N, one executed DAG per shape, no repeat runs")
    p.add_argument("--n", type=int, default=None, help="headline N for the overhead runs (default 500; quick 50)")
    p.add_argument(
        "--scaling",
        type=_ints,
        default=None,
        help="smaller N values for the scaling rows, comma-separated (default 50,100,200; quick 10,20)",
    )
    p.add_argument(
        "--subset-per-shape",
        type=int,
        default=None,
        help="corpus DAGs per shape executed on LocalCloud (default 5 = 45 DAGs; quick 1)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="extra runs of each overhead workflow after the first (default 1; quick 0)",
    )
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[
            *("makespan", "overhead", "transitions", "operations", "coldstart"),
            *("onetask", "peers", "deploy", "foreach", "scale"),
        ],
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON output (default bench/results.json; quick bench/results-quick.json)",
    )
    args = p.parse_args(argv)
    if args.n is None:
        args.n = 50 if args.quick else 500
    if args.scaling is None:
        args.scaling = [10, 20] if args.quick else [50, 100, 200]
    if args.subset_per_shape is None:
        args.subset_per_shape = 1 if args.quick else 5
    if args.repeats is None:
        args.repeats = 0 if args.quick else 1
    if args.out is None:
        args.out = HERE / ("results-quick.json" if args.quick else "results.json")
    return args


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def environment() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "moto": version("moto"),
        "boto3": version("boto3"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    corpus = generate_corpus(args.seed)
    results: dict[str, Any] = {
        "config": {
            "seed": args.seed,
            "quick": args.quick,
            "n": args.n,
            "scaling": args.scaling,
            "subset_per_shape": args.subset_per_shape,
            "repeats": args.repeats,
            "overhead_target_ms_per_task": OVERHEAD_TARGET_MS,
            "price_per_1000_transitions_usd": transitions.PRICE_PER_1000_TRANSITIONS,
        },
        "environment": environment(),
    }
    if "makespan" not in args.skip:
        _log(f"makespan: {len(corpus)} DAGs")
        results["makespan"] = makespan.run(corpus)
    if "transitions" not in args.skip:
        _log(f"transitions: static on {len(corpus)} DAGs, executed on {args.subset_per_shape} per shape")
        results["transitions"] = transitions.run(corpus, args.subset_per_shape, log=_log)
    if "overhead" not in args.skip:
        ns = sorted({*args.scaling, args.n})
        _log(f"overhead: N in {ns}")
        rows = overhead.run(ns, args.repeats, log=_log)
        results["overhead"] = {
            "rows": rows,
            "headline": {r["shape"]: r["ms_per_task"] for r in rows if r["n"] == args.n},
            "headline_x_floor": {r["shape"]: r["x_floor"] for r in rows if r["n"] == args.n and "x_floor" in r},
            "target_met": all(r["ms_per_task"] < OVERHEAD_TARGET_MS for r in rows if r["n"] == args.n),
        }
    if "operations" not in args.skip:
        results["operations"] = operations.run(log=_log)
    if "coldstart" not in args.skip:
        _log("cold start: each Lambda entry point's import over boto3")
        results["coldstart"] = coldstart.run(3 if args.quick else 7, log=_log)
    if "onetask" not in args.skip:
        _log("one-task orch run")
        results["onetask"] = onetask.run(3 if args.quick else 5, log=_log)
    if "peers" not in args.skip:
        _log(f"peers at N={args.n}")
        results["peers"] = peers.run([args.n], log=_log)
    if "deploy" not in args.skip:  # quick: a 100-task workflow and 40 small ones (two nested stacks)
        results["deploy"] = deploy_scale.run(100 if args.quick else 10_000, 40 if args.quick else 200, log=_log)
    if "foreach" not in args.skip:
        results["foreach"] = foreach.run(foreach.QUICK if args.quick else foreach.FULL, log=_log)
    if "scale" not in args.skip:
        results["scale"] = scale.run(args.quick, log=_log)
    results["seconds"] = time.perf_counter() - started
    failures = check(results)
    results["correctness_failures"] = failures
    print(render(results))
    sections: dict[str, Callable[[Any], str]] = {
        "operations": operations.render,
        "coldstart": coldstart.render,
        "onetask": onetask.render,
        "peers": lambda result: peers.render(result, args.n, results.get("overhead", {})),
        "deploy": deploy_scale.render,
        "foreach": foreach.render,
        "scale": scale.render,
    }
    for name, render_section in sections.items():
        if name in results:
            print("\n" + render_section(results[name]))
    args.out.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    _log(f"wrote {args.out}")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def check(results: dict[str, Any]) -> list[str]:
    """Correctness targets (the overhead target is a performance goal: reported, not enforced)."""
    failures = []
    if "makespan" in results:
        s = results["makespan"]["summary"]
        if not s["all_ratio_one"]:
            failures.append(f"compiled makespan / critical path reached {s['ratio']['max']:.4f} (target 1.00)")
        if not s["all_exact"]:
            failures.append("build_plan is not exact on every corpus DAG")
        if s["joins"]["sp_dags_with_joins"]:
            failures.append("the planner added joins to series-parallel DAGs")
    if "deploy" in results and not results["deploy"]["within_quotas"]:
        failures.append("a template of the scale stack is over a CloudFormation quota")
    if "transitions" in results and not results["transitions"]["subset"]["static_equals_executed"]:
        failures.append(
            "static transition counts differ from executed ones: "
            + "; ".join(results["transitions"]["subset"]["mismatches"][:3])
        )
    for row in results.get("foreach", []):
        if not (row["status"] == "SUCCEEDED" and row["results_in_order"] and row["within_history_quota"]):
            failures.append(f"for-each of {row['items']} items ({row['mode']}): {row}")
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
