"""A deployed stack's workflows as its templates say (pure): each workflow's state machine, by its
`orch:workflow` tag, and each task's function, by the machine's DefinitionSubstitutions (tasks of one
configuration share a function and its one substitution, `orchestration.grouping`; the function's
`orch:tasks` metadata names them), with their physical ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestration.protocol import TASKS_METADATA, WORKFLOW_TAG, task_of_placeholder

NESTED_STACK = "AWS::CloudFormation::Stack"  # a stack of many workflows holds them in nested stacks


@dataclass(frozen=True)
class TaskFunction:
    """A deployed task's Lambda function and the log group it writes to."""

    workflow: str
    task: str
    function: str
    log_group: str | None


@dataclass(frozen=True)
class StackResources:
    """What the stack's template and resources say about its workflows."""

    state_machines: dict[str, str]  # workflow -> state machine ARN
    tasks: dict[tuple[str, str], TaskFunction]  # (workflow, task) -> its function
    outputs: dict[str, str]  # the template's Outputs whose value is a resolvable Ref


def resolve(template: Mapping[str, Any], physical: Mapping[str, str]) -> StackResources:
    """The workflows' resources from the template and the resources' physical ids: each state machine
    by its workflow tag, each task's function by the machine's DefinitionSubstitutions (one per
    function; a function several tasks share lists them in its `orch:tasks` metadata)."""
    machines: dict[str, str] = {}
    tasks: dict[tuple[str, str], TaskFunction] = {}
    resources: Mapping[str, Any] = template.get("Resources") or {}
    for logical, res in resources.items():
        props = res.get("Properties") or {}
        tags = {t.get("Key"): t.get("Value") for t in props.get("Tags") or [] if isinstance(t, Mapping)}
        workflow, ident = tags.get(WORKFLOW_TAG), physical.get(logical)
        if not isinstance(workflow, str) or ident is None or res.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        machines[workflow] = ident
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            target = value.get("Fn::GetAtt", [None])[0] if isinstance(value, Mapping) else None
            first = task_of_placeholder(key)
            if first is None or not isinstance(target, str) or target not in physical:
                continue
            fn = physical[target]
            function = resources.get(target) or {}
            config = function.get("Properties") or {}
            group = _ref((config.get("LoggingConfig") or {}).get("LogGroup"), physical)
            # one substitution per function: the tasks it stands for are in its metadata when several
            shared = (function.get("Metadata") or {}).get(TASKS_METADATA)
            for task in shared if isinstance(shared, list) else [first]:
                tasks[(workflow, task)] = TaskFunction(workflow, task, fn, group or f"/aws/lambda/{fn}")
    outputs = {}
    for key, out in (template.get("Outputs") or {}).items():
        value = _ref(out.get("Value"), physical)
        if value is not None:
            outputs[key] = value
    return StackResources(machines, tasks, outputs)


def _ref(value: Any, physical: Mapping[str, str]) -> str | None:
    """A literal, or a `Ref` to a resource: its physical id."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("Ref"), str):
        return physical.get(value["Ref"])
    return None
