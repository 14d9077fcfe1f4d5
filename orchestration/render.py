"""Render a workflow's DAG as text, Mermaid or Graphviz dot (pure)."""

from __future__ import annotations

from orchestration.graph import build_plan, describe, topological_order
from orchestration.model import RunIf, Task, Workflow


def _label(task: Task) -> str:
    notes = []
    if task.condition:
        notes.append("condition")
    if task.for_each:
        notes.append(f"for each item of {task.for_each}, {task.max_concurrency} at a time")
    if task.run_if != RunIf.ALL_SUCCESS:
        notes.append(f"run if {task.run_if.value}")
    if task.retry.max_attempts:
        notes.append(f"retry x{task.retry.max_attempts}")
    if task.timeout_seconds:
        notes.append(f"timeout {task.timeout_seconds}s")
    return f"{task.name} [{', '.join(notes)}]" if notes else task.name


def render_graph(workflow: Workflow, fmt: str = "text") -> str:
    deps = workflow.dependencies()
    order = topological_order({t: [d.upstream for d in ds] for t, ds in deps.items()})
    if fmt == "mermaid":
        lines = ["flowchart TD"]
        for name in order:
            task = workflow.tasks[name]
            label = _label(task).replace('"', "'")
            shape = ('{{"%s"}}' if task.condition else '[["%s"]]' if task.for_each else '["%s"]') % label
            lines.append(f"    {name}{shape}")
        for name in order:
            for d in deps[name]:
                arrow = f"-- {str(d.outcome).lower()} -->" if d.outcome is not None else ("-->" if d.data else "-.->")
                lines.append(f"    {d.upstream} {arrow} {name}")
        return "\n".join(lines)
    if fmt == "dot":
        lines = [f'digraph "{workflow.name}" {{', "  rankdir=LR;", "  node [shape=box];"]
        for name in order:
            task = workflow.tasks[name]
            shape = ", shape=diamond" if task.condition else ", shape=box3d" if task.for_each else ""
            lines.append(f'  "{name}" [label="{_label(task)}"{shape}];')
        for name in order:
            for d in deps[name]:
                attrs = []
                if d.outcome is not None:
                    attrs.append(f'label="{str(d.outcome).lower()}"')
                if not d.data and d.outcome is None:
                    attrs.append("style=dashed")
                suffix = f" [{', '.join(attrs)}]" if attrs else ""
                lines.append(f'  "{d.upstream}" -> "{name}"{suffix};')
        lines.append("}")
        return "\n".join(lines)
    lines = [f"workflow {workflow.name}: {len(order)} tasks"]
    for name in order:
        ups = ", ".join(
            f"{d.upstream}.{str(d.outcome).lower()}" if d.outcome is not None else d.upstream for d in deps[name]
        )
        lines.append(f"  {_label(workflow.tasks[name])}" + (f"  <- {ups}" if ups else ""))
    plan = build_plan({t: [d.upstream for d in ds] for t, ds in deps.items()})
    lines.append("compiled plan:")
    lines += ["  " + line for line in describe(plan.block)]
    for waiting, awaited in plan.joins.items():
        lines.append(f"  join: {waiting} waits for {', '.join(awaited)} (across parallel branches)")
    return "\n".join(lines)
