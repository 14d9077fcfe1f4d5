"""What a `run_workflow` task passes to the workflow it runs (pure).

A child's parameter value is a JSON literal, the value of one of the parent's parameters at run
time (`ParamRef`, made by `Workflow.param`), or the output of an upstream task of the parent
(`OutputRef`, made from the `Task` given as the value). The task's function computes the values
for one run; its signature names the upstream tasks, so they become the task's data inputs like
the parameters of any task function.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamRef:
    """The value of the parent workflow's parameter `name` in the running parent run."""

    name: str


@dataclass(frozen=True)
class OutputRef:
    """The output of the parent's task `task` (which becomes a dependency of the run_workflow task)."""

    task: str


def is_ref(value: Any) -> bool:
    return isinstance(value, ParamRef | OutputRef)


def upstream_tasks(params: Mapping[str, Any]) -> list[str]:
    """The parent tasks whose outputs the child's parameters take, sorted."""
    return sorted({v.task for v in params.values() if isinstance(v, OutputRef)})


def child_params_function(task: str, child: str, params: Mapping[str, Any]) -> Callable[..., dict[str, Any]]:
    """The function of a run_workflow task: (ctx, <upstream outputs>) -> the child's parameter values."""
    values = dict(params)

    def child_params(ctx: Any, **outputs: Any) -> dict[str, Any]:
        given = ctx.params.model_dump(mode="json")
        return {
            key: given[v.name] if isinstance(v, ParamRef) else outputs.get(v.task) if isinstance(v, OutputRef) else v
            for key, v in values.items()
        }

    upstream = [inspect.Parameter(t, inspect.Parameter.KEYWORD_ONLY, default=None) for t in upstream_tasks(values)]
    # A default for each: validation reports an unknown upstream task in run_workflow's own terms.
    child_params.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD), *upstream]
    )
    child_params.__name__ = child_params.__qualname__ = task
    child_params.__doc__ = f"Runs workflow {child}."
    return child_params
