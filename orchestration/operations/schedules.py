"""A deployed stack's triggers: list them, pause and resume them (`orch schedule list|pause|resume`).

A workflow's triggers are its EventBridge Scheduler schedules and its EventBridge rules, both
targeting its trigger function. They are found in the stack's template (`stack_triggers`, pure):
a schedule's or rule's target is a function whose environment names the workflow (`ORCH_WORKFLOW`),
and the delivery it sends names the trigger (`{"trigger": NAME, ...}`); physical ids come from the
stack's resources. Pausing a schedule sets its State to DISABLED with UpdateSchedule, which replaces
the whole schedule, so every field GetSchedule returned is sent back; pausing a rule is DisableRule.
Runs already started are not affected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from orchestration.errors import StackError
from orchestration.operations.stack import StackRuns
from orchestration.runtime.registry import Env

SCHEDULE, RULE = "AWS::Scheduler::Schedule", "AWS::Events::Rule"
ENABLED, DISABLED = "ENABLED", "DISABLED"
# What GetSchedule returns that UpdateSchedule does not take.
_READ_ONLY = ("Arn", "CreationDate", "LastModificationDate", "ResponseMetadata")
_PLACEHOLDER = re.compile(r"<[A-Za-z0-9_.-]+>")


@dataclass(frozen=True)
class StackTrigger:
    """One trigger of a deployed workflow."""

    workflow: str
    trigger: str
    kind: Literal["schedule", "rule"]
    name: str  # the schedule's or rule's name
    group: str | None  # the schedule group (schedules), the event bus (rules)
    expression: str  # cron(...)/rate(...) and time zone, or the event pattern
    state: str = ""  # ENABLED or DISABLED, read from the stack

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stack_triggers(template: Mapping[str, Any], physical: Mapping[str, str]) -> list[StackTrigger]:
    """Every workflow schedule and rule of a stack's template, with its physical name (pure)."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    out: list[StackTrigger] = []
    for logical, res in resources.items():
        props = res.get("Properties") or {}
        name = physical.get(logical)
        if name is None:
            continue
        if res.get("Type") == SCHEDULE:
            target = props.get("Target") or {}
            workflow = _workflow_of(resources, target.get("Arn"))
            trigger = _trigger_of(target.get("Input"))
            if workflow and trigger:
                zone = props.get("ScheduleExpressionTimezone") or "UTC"
                expression = f"{props.get('ScheduleExpression')} {zone}"
                out.append(StackTrigger(workflow, trigger, "schedule", name, props.get("GroupName"), expression))
        elif res.get("Type") == RULE:
            bus, _, rule = name.rpartition("|")  # a rule of another bus: "<bus>|<name>"
            for target in props.get("Targets") or []:
                workflow = _workflow_of(resources, target.get("Arn"))
                trigger = _trigger_of(
                    (target.get("InputTransformer") or {}).get("InputTemplate") or target.get("Input")
                )
                if workflow and trigger:
                    pattern = json.dumps(props.get("EventPattern"), sort_keys=True)
                    out.append(StackTrigger(workflow, trigger, "rule", rule, bus or None, pattern))
                    break
    return sorted(out, key=lambda t: (t.workflow, t.trigger))


def _workflow_of(resources: Mapping[str, Any], arn: Any) -> str | None:
    """The workflow a target function serves: the ORCH_WORKFLOW of its environment."""
    if not (isinstance(arn, Mapping) and isinstance(arn.get("Fn::GetAtt"), list) and arn["Fn::GetAtt"]):
        return None
    function = resources.get(arn["Fn::GetAtt"][0]) or {}
    variables = ((function.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
    workflow = variables.get(Env.WORKFLOW)
    return workflow if isinstance(workflow, str) else None


def _trigger_of(template: Any) -> str | None:
    """The trigger a delivery names: `{"trigger": NAME, ...}` (placeholders such as <f1> aside)."""
    if not isinstance(template, str):
        return None
    try:
        value = json.loads(_PLACEHOLDER.sub("null", template))  # "<x>" becomes "null", <x> null
    except ValueError:
        return None
    trigger = value.get("trigger") if isinstance(value, dict) else None
    return trigger if isinstance(trigger, str) else None


class StackSchedules:
    """The triggers of the stack `source` reads, with their live state; pause and resume them."""

    def __init__(self, source: StackRuns) -> None:
        self.source = source
        self.scheduler = source.client("scheduler")
        self.events = source.client("events")
        cfn = source.client("cloudformation")
        with source.aws("read the template of"):
            body = cfn.get_template(StackName=source.stack_name)["TemplateBody"]
            physical: dict[str, str] = {}
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=source.stack_name):
                for res in page["StackResourceSummaries"]:
                    if res.get("PhysicalResourceId"):
                        physical[res["LogicalResourceId"]] = res["PhysicalResourceId"]
        self.triggers = stack_triggers(json.loads(body) if isinstance(body, str) else body, physical)

    def states(self) -> list[StackTrigger]:
        """Every workflow trigger of the stack with its state."""
        return [replace(t, state=self._state(t)) for t in self.triggers]

    def select(self, workflow: str, trigger: str | None = None) -> list[StackTrigger]:
        """The triggers of `workflow` (or its trigger named `trigger`); StackError naming the known ones."""
        where = self.source.where
        mine = [t for t in self.triggers if t.workflow == workflow]
        if not mine:
            known = sorted({t.workflow for t in self.triggers})
            deployed = workflow in self.source.state_machines
            why = "has no schedule or event trigger" if deployed else "is not deployed"
            raise StackError(
                f"workflow {workflow!r} {why} in {where}: the workflows with triggers are {', '.join(known) or 'none'}"
            )
        if trigger is None:
            return mine
        chosen = [t for t in mine if t.trigger == trigger]
        if not chosen:
            raise StackError(
                f"workflow {workflow!r} has no trigger named {trigger!r} in {where}: its triggers are "
                f"{', '.join(t.trigger for t in mine)}"
            )
        return chosen

    def set_state(self, trig: StackTrigger, enabled: bool) -> tuple[StackTrigger, bool]:
        """Enable or disable one trigger; returns it with its new state and whether it changed."""
        wanted = ENABLED if enabled else DISABLED
        with self.source.aws(f"{'resume' if enabled else 'pause'} {trig.kind} {trig.name} of"):
            if trig.kind == "schedule":
                current = self.scheduler.get_schedule(**self._schedule_id(trig))
                if current.get("State") == wanted:
                    return replace(trig, state=wanted), False
                fields = {k: v for k, v in current.items() if k not in _READ_ONLY and v is not None}
                self.scheduler.update_schedule(**{**fields, "State": wanted})
            else:
                if self._state(trig) == wanted:
                    return replace(trig, state=wanted), False
                call = self.events.enable_rule if enabled else self.events.disable_rule
                call(**self._rule_id(trig))
        return replace(trig, state=self._state(trig)), True

    def _state(self, trig: StackTrigger) -> str:
        with self.source.aws(f"read {trig.kind} {trig.name} of"):
            if trig.kind == "schedule":
                return str(self.scheduler.get_schedule(**self._schedule_id(trig)).get("State", ""))
            return str(self.events.describe_rule(**self._rule_id(trig)).get("State", ""))

    @staticmethod
    def _schedule_id(trig: StackTrigger) -> dict[str, str]:
        return {"Name": trig.name, **({"GroupName": trig.group} if trig.group else {})}

    @staticmethod
    def _rule_id(trig: StackTrigger) -> dict[str, str]:
        return {"Name": trig.name, **({"EventBusName": trig.group} if trig.group else {})}
