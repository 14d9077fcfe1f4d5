"""Deployable at scale: one in-process synth (without cdk-nag) of a project with a wide workflow of
`tasks` tasks (two configurations) and `workflows` small two-task workflows; per template (the stack
and its nested stacks) the resources and bytes against CloudFormation's 500 and 1 MB, and the
recorder's status-change pattern size. Also `orch plan`'s figures of the wide workflow."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from orchestration.loader import load_file
from orchestration.planning import plan_workflow

WIDE = """
from orchestration import Resources, Workflow

wf = Workflow("wide")


def _noop() -> None:
    return None


for i in range({tasks}):
    wf.task(name=f"t{{i:05d}}", resources=Resources(memory_mb=1024) if i % 100 == 0 else Resources())(_noop)
"""
SMALL = """
from orchestration import Workflow

wf = Workflow("{name}")


@wf.task
def a() -> int:
    return 1


@wf.task
def b(a: int) -> int:
    return a + 1
"""


def write_project(project: Path, tasks: int, workflows: int) -> None:
    """A project folder: `workflows/wide.py` (`tasks` tasks, two configurations) and `workflows` small ones."""
    (project / "workflows").mkdir()
    (project / "workflows" / "wide.py").write_text(WIDE.format(tasks=tasks))
    for i in range(workflows):
        (project / "workflows" / f"w{i:03d}.py").write_text(SMALL.format(name=f"w{i:03d}"))


def run(tasks: int, workflows: int, log: Any = None) -> dict[str, Any]:
    from infra.quotas import check_template
    from infra.settings import Settings
    from infra.stack import build_app

    if log:
        log(f"deploy at scale: a {tasks}-task workflow and {workflows} small ones, one synth")
    with tempfile.TemporaryDirectory(prefix="orch-bench-scale-") as tmp:
        project = Path(tmp)
        write_project(project, tasks, workflows)
        (wide,) = load_file(project / "workflows" / "wide.py").values()
        plan = plan_workflow(wide)
        t0 = time.perf_counter()
        app, stack = build_app(
            Settings(stack_name="scale", workflows="workflows", nag=False, nested_workflows=True),
            outdir=str(project / "out"),
            root=project,
        )
        app.synth()
        seconds = time.perf_counter() - t0
        templates = {p.name: json.loads(p.read_text()) for p in (project / "out").glob("*.template.json")}
    rows: list[dict[str, Any]] = [
        {
            "template": name.removesuffix(".template.json"),
            "resources": len(t.get("Resources", {})),
            "bytes": len(json.dumps(t, separators=(",", ":")).encode()),
            "problems": check_template(t),
        }
        for name, t in sorted(templates.items())
    ]
    rule = next(
        r
        for t in templates.values()
        for r in t.get("Resources", {}).values()
        if r["Type"] == "AWS::Events::Rule" and "stateMachineArn" in json.dumps(r["Properties"].get("EventPattern"))
    )
    return {
        "tasks": tasks,
        "workflows": workflows + 1,
        "synth_seconds": round(seconds, 1),
        "wide_task_functions": len(stack.workflows["wide"].functions),
        "templates": rows,
        "within_quotas": all(not r["problems"] and r["resources"] <= 500 and r["bytes"] < 1_000_000 for r in rows),
        "recorder_pattern_chars": len(json.dumps(rule["Properties"]["EventPattern"])),
        "wide_plan": plan.as_dict(),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"## Deployable at scale: a {result['tasks']}-task workflow and {result['workflows']} workflows in one stack",
        "",
        f"synth {result['synth_seconds']} s (no cdk-nag); the wide workflow: {result['wide_task_functions']} task "
        f"functions for {result['tasks']} tasks; recorder pattern {result['recorder_pattern_chars']} characters; "
        f"within quotas: {result['within_quotas']}",
        "",
        "| template | resources (of 500) | bytes (of 1,000,000) |",
        "|---|---|---|",
    ]
    lines += [f"| {r['template']} | {r['resources']} | {r['bytes']:,} |" for r in result["templates"]]
    machines = result["wide_plan"]["state_machines"]
    cost = result["wide_plan"]["cost_per_run_usd"]
    largest = max(machines, key=lambda m: m["definition_bytes"])
    lines += [
        "",
        f"orch plan of the wide workflow: {len(machines)} state machine(s) ({max(0, len(machines) - 1)} parts), "
        f"{sum(m['states'] for m in machines):,} states; the largest {largest['definition_bytes']:,} "
        f"definition bytes and {largest['events']:,} history events ({largest['events_worst']:,} with retries); "
        f"{sum(m['transitions'] for m in machines):,} transitions, ${cost['total']:.4f} per run at task timeouts",
    ]
    return "\n".join(lines)
