"""Plan analysis only the benchmark needs: completion times and the naive level-by-level plan."""

from __future__ import annotations

from collections.abc import Mapping

from orchestration.graph import Edges, Node, Par, Plan, Seq, effective_predecessors, topological_order


def longest_path(preds: Edges, durations: Mapping[str, float]) -> float:
    finish: dict[str, float] = {}
    for n in topological_order(preds):
        finish[n] = max((finish[u] for u in preds[n]), default=0.0) + durations[n]
    return max(finish.values(), default=0.0)


def makespan(plan: Plan, durations: Mapping[str, float]) -> float:
    """Completion time of the compiled plan when each task takes its known duration."""
    return longest_path(effective_predecessors(plan), durations)


def level_plan(preds: Edges) -> Plan:
    """The naive compilation: one Parallel per topological level, levels in sequence."""
    level: dict[str, int] = {}
    for n in topological_order(preds):
        level[n] = max((level[u] + 1 for u in preds[n]), default=0)
    depth = max(level.values(), default=-1) + 1
    layers = [sorted(n for n in level if level[n] == d) for d in range(depth)]
    items = tuple(Node(layer[0]) if len(layer) == 1 else Par(tuple(Node(n) for n in layer)) for layer in layers)
    return Plan(Seq(items), {})
