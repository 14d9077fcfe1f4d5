"""Operations on a compiled definition: canonical JSON, its hash, its substitutions, pruning (pure)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from orchestration.compiler.states import substitution
from orchestration.grouping import placeholder_tasks
from orchestration.model import Workflow
from orchestration.pools import POOL_FUNCTION
from orchestration.protocol import FINALIZE_FUNCTION, JOIN_FUNCTION, workflow_placeholder


def to_json(definition: Mapping[str, Any], *, indent: int | None = None) -> str:
    """Canonical serialisation: byte-identical for the same workflow. Compact by default: that is
    what deploys (deeply nested Parallel states would pay the 1 MB definition limit for indentation);
    `indent=2` for people."""
    if indent is None:
        # a definition is a tree (built by `to_dict`): no cycle to look for in megabytes of it
        return json.dumps(definition, separators=(",", ":"), ensure_ascii=False, check_circular=False)
    return json.dumps(definition, indent=indent, ensure_ascii=False) + "\n"


def definition_hash(definition: Mapping[str, Any] | str) -> str:
    text = definition if isinstance(definition, str) else to_json(definition)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def placeholders(workflow: Workflow) -> dict[str, str]:
    """Every substitution a compiled definition needs: placeholder -> the first task of its function's
    group (one per task configuration: `grouping`), a platform role, or a child workflow's name (its
    state machine)."""
    subs = {placeholder: tasks[0] for placeholder, tasks in placeholder_tasks(workflow).items()}
    subs[JOIN_FUNCTION] = "join"
    subs[FINALIZE_FUNCTION] = "finalize"
    if any(t.pool is not None for t in workflow.tasks.values()):
        subs[POOL_FUNCTION] = "pool"
    subs.update({workflow_placeholder(name): name for name in child_workflows(workflow)})
    return subs


def child_workflows(workflow: Workflow) -> dict[str, Workflow]:
    """The workflows the workflow's run_workflow tasks run, by name."""
    subs = [t.subflow for _, t in sorted(workflow.tasks.items()) if t.subflow is not None]
    return {sub.workflow.name: sub.workflow for sub in subs}


def render(definition: Mapping[str, Any] | str, arns: Mapping[str, str]) -> str:
    """Fill `${placeholder}` substitutions (what CloudFormation's DefinitionSubstitutions does)."""
    text = definition if isinstance(definition, str) else to_json(definition)
    for key, value in arns.items():
        text = text.replace(substitution(key), value)
    return text


def prune_unreachable(definition: dict[str, Any]) -> None:
    """Drop states no transition reaches (Step Functions rejects them), e.g. the SKIPPED path of a
    task whose only upstream can never be skipped; in Parallel branches and Map processors too."""
    scopes = [definition]
    while scopes:
        scope = scopes.pop()
        states: dict[str, dict[str, Any]] = scope["States"]
        seen: set[str] = set()
        todo = [scope["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            state = states[name]
            todo += [state[k] for k in ("Next", "Default") if k in state]
            todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        for name in [n for n in states if n not in seen]:
            del states[name]
        for state in states.values():
            scopes += state.get("Branches", [])
            if "ItemProcessor" in state:
                scopes.append(state["ItemProcessor"])
