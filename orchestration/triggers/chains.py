"""Checks over a project's `on_workflow` triggers together: unknown upstream workflows and cycles (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from orchestration.graph import find_cycle
from orchestration.triggers.declarations import named_declarations
from orchestration.triggers.upstream import WorkflowTrigger

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow


def upstream_workflows(wf: Workflow) -> list[str]:
    """The workflows whose runs' ends `wf`'s `on_workflow` triggers listen to, sorted."""
    return sorted({t.upstream for _, t in named_declarations(wf) if isinstance(t, WorkflowTrigger)})


def chain_problems(workflows: Iterable[Workflow]) -> list[str]:
    """Every `on_workflow` trigger naming no workflow of `workflows` or an EXPRESS one, and a cycle of them."""
    listed = list(workflows)
    known = sorted(wf.name for wf in listed)
    express = {wf.name for wf in listed if wf.type == "EXPRESS"}
    out: list[str] = []
    listens: dict[str, set[str]] = {}
    for wf in listed:
        for name, trig in named_declarations(wf):
            if not isinstance(trig, WorkflowTrigger):
                continue
            if trig.upstream not in known:
                out.append(
                    f"workflow {wf.name!r}, trigger {name!r}: on_workflow({trig.upstream!r}) names no workflow of "
                    f"this project (its workflows: {', '.join(known)}): fix the name or add the workflow"
                )
            elif trig.upstream in express:
                out.append(
                    f"workflow {wf.name!r}, trigger {name!r}: on_workflow({trig.upstream!r}) listens to an EXPRESS "
                    "workflow, whose executions send no status-change event (its runs' ends are never seen): "
                    "make it type='STANDARD'"
                )
            elif trig.upstream != wf.name:  # a workflow starting itself is refused on its own (trigger_problems)
                listens.setdefault(wf.name, set()).add(trig.upstream)
    cycle = find_cycle({name: listens.get(name, set()) for name in known})
    if cycle:
        out.append(
            f"on_workflow triggers form a cycle: {' -> '.join(cycle)} (each run would start the next forever): "
            "remove one of these triggers"
        )
    return out
