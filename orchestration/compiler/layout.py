"""What the emitters share: the workflow's plan and dependency facts, and emitted fragments (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestration.compiler.quotas import inline_output_limit
from orchestration.compiler.states import State
from orchestration.graph import Plan, build_plan
from orchestration.grouping import function_placeholders
from orchestration.model import Dependency, Workflow
from orchestration.pools import Pool, task_pools
from orchestration.status import TaskStatus

# An open exit: a state whose Next is not set yet, with the status of the task it ends (None: any).
Exit = tuple[State, TaskStatus | None]
Entry = str | Mapping[TaskStatus, str]  # a state name, or one per status of the task before it
Scope = Mapping[str, str]  # task -> JSONPath of its result, as seen from where a state reads it


@dataclass
class Fragment:
    """The states of one plan block: where it is entered, its open exits, and the results it adds."""

    entry: Entry
    exits: list[Exit]
    produced: dict[str, str] = field(default_factory=dict)  # task -> JSONPath of its result


def entry_for(target: Entry, status: TaskStatus | None) -> str:
    """The state entered after a task that ended in `status` (None: whatever it ended with)."""
    return target if isinstance(target, str) else target[status or TaskStatus.SUCCEEDED]


def connect(exits: list[Exit], target: Entry) -> None:
    for state, status in exits:
        state.next = entry_for(target, status)


class Layout:
    """The workflow, its dependencies and its plan, as the emitters read them."""

    def __init__(
        self,
        workflow: Workflow,
        *,
        deps: dict[str, list[Dependency]] | None = None,
        plan: Plan | None = None,
        limit: int | None = None,
        pools: dict[str, Pool] | None = None,
        functions: dict[str, str] | None = None,
    ) -> None:
        """`deps`, `plan`, `limit`, `pools`, `functions`: given for one part of a split workflow
        (`compiler.split`), or computed once per compile."""
        self.workflow = workflow
        self.deps: dict[str, list[Dependency]] = deps if deps is not None else workflow.dependencies()
        self.plan: Plan = plan or build_plan({t: [d.upstream for d in ds] for t, ds in self.deps.items()})
        # task -> the tasks whose join waits for it (it signals them when it ends)
        self.signals: dict[str, list[str]] = {}
        for task, ups in self.plan.joins.items():
            for up in ups:
                self.signals.setdefault(up, []).append(task)
        # tasks whose exits carry no status (a join signal ends them, or they decide their run-if
        # themselves): what follows them is not routed by their status; emit_task adds the latter
        self.unrouted: set[str] = set(self.signals)
        self.for_each_sources = {t.for_each for t in workflow.tasks.values() if t.for_each}
        self.limit = limit or inline_output_limit(workflow)
        self.pools = pools if pools is not None else task_pools(workflow.tasks)  # pooled task -> its pool
        # task -> the placeholder of its function: one per configuration (`grouping`)
        self.functions = functions if functions is not None else function_placeholders(workflow)

    def joined(self, task: str) -> tuple[str, ...]:
        """The dependencies `task` awaits through a join (those the plan's structure does not order)."""
        return self.plan.joins.get(task, ())

    def routes_by_status(self, task: str) -> bool:
        """Do the task's exits (emitted already) carry the status it ended with?"""
        return task not in self.unrouted

    def leaves(self) -> list[str]:
        """Tasks nothing depends on."""
        ups = {d.upstream for ds in self.deps.values() for d in ds}
        return sorted(t for t in self.workflow.tasks if t not in ups)
