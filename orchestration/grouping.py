"""Which tasks of a workflow share one Lambda function on AWS (pure).

A function, its role, its policy and its log group per task put a 115-task workflow at
CloudFormation's 500 resources per stack. Tasks whose functions would be identical share one instead:
same kind (task or run_workflow), memory, timeout, ephemeral storage, environment, declared
permissions and child workflow (the grants), in the same workflow (same code asset, same ledger and
artifact grants). The task runtime reads which task to run from its event (`TaskEvent.task`) and
logs it in every line, so the tasks stay apart in the logs; tasks with different grants never share
a role.
The compiled definition names one placeholder per group (`function_placeholders`), so a state
machine's DefinitionSubstitutions hold one entry per function, not per task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestration.model import Task, Workflow
from orchestration.protocol import function_placeholder


def function_key(task: Task) -> str:
    """Everything the task's function is made of, as canonical JSON: equal keys, one function."""
    res = task.resources
    statements = [
        {
            "actions": list(s.actions),
            "resources": list(s.resources),
            "conditions": _plain(s.conditions) if s.conditions else None,
        }
        for p in task.permissions
        for s in p.statements
    ]
    key: dict[str, Any] = {
        "subflow": task.subflow.workflow.name if task.subflow is not None else None,
        "memory_mb": res.memory_mb,
        "timeout_seconds": res.timeout_seconds,
        "ephemeral_storage_mb": res.ephemeral_storage_mb,
        "env": dict(sorted(task.env.items())),
        "statements": statements,
    }
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def function_groups(workflow: Workflow) -> list[list[str]]:
    """The workflow's tasks grouped by function (names sorted; groups ordered by their first task)."""
    groups: dict[str, list[str]] = {}
    for name, task in sorted(workflow.tasks.items()):
        groups.setdefault(function_key(task), []).append(name)
    return sorted(groups.values())


def function_placeholders(workflow: Workflow) -> dict[str, str]:
    """Task -> the definition substitution holding its function's ARN: one per group, named after
    the group's first task (`protocol.function_placeholder`)."""
    return {task: function_placeholder(group[0]) for group in function_groups(workflow) for task in group}


def placeholder_tasks(workflow: Workflow) -> dict[str, list[str]]:
    """Each group's placeholder -> the tasks whose function it holds."""
    return {function_placeholder(group[0]): group for group in function_groups(workflow)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
