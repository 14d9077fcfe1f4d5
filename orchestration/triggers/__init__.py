"""Trigger declarations: what starts a workflow's runs on AWS (pure: no AWS SDK, no I/O).

Three kinds, all declared on the workflow (``Workflow(..., schedule=..., triggers=[...])``):

- `Schedule`: an EventBridge Scheduler schedule, ``cron`` (EventBridge's 6-field syntax, see
  `orchestration.triggers.cron`) or ``rate``, in a time zone, with a flexible window and a retry
  policy. A scheduled run gets the scheduled time as its logical date.
- `Continuous` (`continuous(min_interval=...)`): one run after another (see `continuous`).
- `EventTrigger`: an EventBridge rule with an event pattern; ``params`` maps workflow parameters to
  fields of the event (``"$.detail.object.key"``). `on_s3_object_created` builds one for file arrival;
  with ``batch=Batch(...)`` it starts one run per batch of files (`orchestration.triggers.batching`).
- `WorkflowTrigger`: a run starts when another workflow's run ends; build it with `on_workflow`.

`trigger_problems(wf)` validates the declarations (called by `orchestration.validation.problems`);
`next_fire_times` previews a schedule. The deployable stack (`infra/`) and the trigger function
(`functions/trigger.py`) read the same declarations.

Modules: `declarations` (the classes, naming), `cron` (EventBridge cron), `schedules` (rates, time
zones, preview), `patterns` (event patterns), `events` (event paths), `checks` (`trigger_problems`),
`runids` (run ids from what started a run), `batching` (file batches), `upstream` (`on_workflow`),
`chains` (unknown upstreams and cycles across a project's workflows), `backfill` (backfill plans:
`backfill_plan`, `select_runs`).
"""

from typing import TYPE_CHECKING

from orchestration.errors import TriggerError
from orchestration.lazy import exports

# `continuous` is also a submodule's name: imported here so the function, not the module, is the attribute
from orchestration.triggers.continuous import Continuous, continuous, parse_interval

if TYPE_CHECKING:
    from orchestration.triggers.batching import Batch
    from orchestration.triggers.chains import chain_problems, upstream_workflows
    from orchestration.triggers.checks import trigger_problems
    from orchestration.triggers.cron import Cron, parse_cron, to_croniter
    from orchestration.triggers.declarations import (
        EventTrigger,
        Schedule,
        Trigger,
        declared,
        describe,
        on_s3_object_created,
        triggers_of,
    )
    from orchestration.triggers.events import event_params, event_value
    from orchestration.triggers.patterns import pattern_problems
    from orchestration.triggers.schedules import next_fire_times, parse_rate, schedule_problems, zone
    from orchestration.triggers.upstream import WorkflowTrigger, on_workflow, upstream_params

# The rest on first use: the trigger and recorder functions need declarations, not checks (nor the graph).
__getattr__, __dir__ = exports(
    globals(),
    {
        "orchestration.triggers.batching": ("Batch",),
        "orchestration.triggers.chains": ("chain_problems", "upstream_workflows"),
        "orchestration.triggers.checks": ("trigger_problems",),
        "orchestration.triggers.cron": ("Cron", "parse_cron", "to_croniter"),
        "orchestration.triggers.declarations": (
            "EventTrigger",
            "Schedule",
            "Trigger",
            "declared",
            "describe",
            "on_s3_object_created",
            "triggers_of",
        ),
        "orchestration.triggers.events": ("event_params", "event_value"),
        "orchestration.triggers.patterns": ("pattern_problems",),
        "orchestration.triggers.schedules": ("next_fire_times", "parse_rate", "schedule_problems", "zone"),
        "orchestration.triggers.upstream": ("WorkflowTrigger", "on_workflow", "upstream_params"),
    },
)

__all__ = [
    "Batch",
    "Continuous",
    "Cron",
    "EventTrigger",
    "Schedule",
    "Trigger",
    "TriggerError",
    "WorkflowTrigger",
    "chain_problems",
    "continuous",
    "declared",
    "describe",
    "event_params",
    "event_value",
    "next_fire_times",
    "on_s3_object_created",
    "on_workflow",
    "parse_cron",
    "parse_interval",
    "parse_rate",
    "pattern_problems",
    "schedule_problems",
    "to_croniter",
    "trigger_problems",
    "triggers_of",
    "upstream_params",
    "upstream_workflows",
    "zone",
]
