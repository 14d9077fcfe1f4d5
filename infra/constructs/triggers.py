"""A workflow's triggers: the trigger function, its Scheduler schedules and its EventBridge rules."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.functions import PlatformFunctions
from infra.constructs.ledger import Ledger
from orchestration.protocol import EventDelivery, ScheduleDelivery
from orchestration.runtime.registry import TRIGGER, Env
from orchestration.triggers import Continuous, EventTrigger, Schedule, Trigger, WorkflowTrigger

WATCHDOG_RETRIES, WATCHDOG_EVENT_AGE = 2, 300  # a missed watchdog firing is made up by the next one


def watchdog_name(stack: str, workflow: str) -> str:
    """The name of a continuous workflow's watchdog schedule (64 characters at most)."""
    name = f"{stack}-{workflow}-watchdog"
    return name if len(name) <= 64 else f"{name[:47]}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _cid(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


class WorkflowTriggers(Construct):
    """One trigger function starting `state_machine` (at most one run per firing or event), fed by a
    Scheduler schedule per `Schedule` and an EventBridge rule per `EventTrigger` and `WorkflowTrigger`
    (all disabled when `enabled` is False). A `WorkflowTrigger`'s rule matches the recorder's run-end
    events of its upstream's state machine in `upstreams` (workflow -> ARN): this stack's only."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: str,
        triggers: Mapping[str, Trigger],
        state_machine: sfn.StateMachine,
        environment: Mapping[str, str],
        functions: PlatformFunctions,
        ledger: Ledger,
        enabled: bool = True,
        upstreams: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.workflow = workflow
        self.upstreams = dict(upstreams or {})
        self.enabled = enabled  # False: schedules and rules are deployed disabled
        self.function = functions.function(
            self,
            "Trigger",
            runs=TRIGGER,
            description=f"Starts exactly one {workflow} run per schedule firing or matching event",
            environment=environment,
            asynchronous=True,
            reserved_concurrency=functions.trigger_reserved_concurrency,
        )
        ledger.grant_run_writes(self.function, workflow)  # its own workflow's runs only
        # Batched file arrival: its own workflow's batches, and timers (the stack's `Timers`) that invoke it.
        self.batched = any(isinstance(t, EventTrigger) and t.batch is not None for t in triggers.values())
        if self.batched:
            ledger.grant_batch_writes(self.function, workflow)
        state_machine.grant_start_execution(self.function)
        self.schedule_role: iam.Role | None = None
        if any(isinstance(t, Schedule | Continuous) for t in triggers.values()):
            self.schedule_role = iam.Role(
                self,
                "ScheduleRole",
                assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                description=f"EventBridge Scheduler invokes the {workflow} trigger function",
            )
        self.schedules: dict[str, scheduler.Schedule] = {}
        self.rules: dict[str, events.Rule] = {}
        for name, trig in triggers.items():
            if isinstance(trig, Schedule):
                self.schedules[name] = self._schedule(name, trig, functions)
            elif isinstance(trig, Continuous):
                self.schedules[name] = self._watchdog(name, trig, functions, ledger)
            else:
                self.rules[name] = self._rule(name, trig, functions)
        self.continuous = any(isinstance(t, Continuous) for t in triggers.values())

    def _schedule(self, name: str, trig: Schedule, functions: PlatformFunctions) -> scheduler.Schedule:
        window = (
            scheduler.TimeWindow.flexible(cdk.Duration.minutes(trig.flexible_window_minutes))
            if trig.flexible_window_minutes
            else scheduler.TimeWindow.off()
        )
        delivery = ScheduleDelivery.template(
            trigger=name,
            scheduled_time=scheduler.ContextAttribute.scheduled_time,
            execution_id=scheduler.ContextAttribute.execution_id,
            attempt=scheduler.ContextAttribute.attempt_number,
        )
        return scheduler.Schedule(
            self,
            f"Schedule_{_cid(name)}",
            schedule=scheduler.ScheduleExpression.expression(trig.expression, cdk.TimeZone.of(trig.timezone)),
            description=(trig.description or f"{self.workflow}: {trig.expression} {trig.timezone}")[:512],
            enabled=trig.enabled and self.enabled,
            time_window=window,
            target=scheduler_targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object(delivery),
                dead_letter_queue=functions.delivery_dlq,
                retry_attempts=trig.retry_attempts,
                max_event_age=cdk.Duration.seconds(trig.max_event_age_seconds),
                role=self.schedule_role,
            ),
        )

    def _watchdog(
        self, name: str, trig: Continuous, functions: PlatformFunctions, ledger: Ledger
    ) -> scheduler.Schedule:
        """A continuous workflow's watchdog: a rate schedule starting the chain when it has none going
        or due (`runtime.continuous`). The trigger function reads its state (paused when DISABLED)."""
        stack = cdk.Stack.of(self)
        schedule_name = watchdog_name(stack.stack_name, self.workflow)
        delivery = ScheduleDelivery.template(
            trigger=name,
            scheduled_time=scheduler.ContextAttribute.scheduled_time,
            execution_id=scheduler.ContextAttribute.execution_id,
            attempt=scheduler.ContextAttribute.attempt_number,
        )
        schedule = scheduler.Schedule(
            self,
            f"Watchdog_{_cid(name)}",
            schedule_name=schedule_name,
            schedule=scheduler.ScheduleExpression.expression(trig.watchdog_expression, cdk.TimeZone.ETC_UTC),
            description=(trig.description or f"{self.workflow}: continuous, min_interval {trig.min_interval}")[:512],
            enabled=self.enabled,
            time_window=scheduler.TimeWindow.off(),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object(delivery),
                dead_letter_queue=functions.delivery_dlq,
                retry_attempts=WATCHDOG_RETRIES,
                max_event_age=cdk.Duration.seconds(WATCHDOG_EVENT_AGE),
                role=self.schedule_role,
            ),
        )
        self.function.add_environment(Env.WATCHDOG_SCHEDULE, schedule_name)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["scheduler:GetSchedule"],
                resources=[
                    stack.format_arn(
                        service="scheduler",
                        resource="schedule",
                        resource_name=f"default/{schedule_name}",
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        ledger.grant_chain_writes(self.function, self.workflow)
        return schedule

    def _rule(self, name: str, trig: EventTrigger | WorkflowTrigger, functions: PlatformFunctions) -> events.Rule:
        cid = _cid(name)
        bus = (
            None
            if trig.event_bus == "default"
            else events.EventBus.from_event_bus_name(self, f"Bus_{cid}", trig.event_bus)
        )
        delivery = EventDelivery.template(trigger=name, event=events.EventField.from_path("$"))
        rule = events.Rule(
            self,
            f"Rule_{cid}",
            description=(trig.description or f"{self.workflow}: event trigger {name}")[:512],
            event_bus=bus,
            enabled=self.enabled,
            event_pattern=events.EventPattern(source=["placeholder"]),  # replaced below, verbatim
            targets=[functions.event_target(self.function, event=events.RuleTargetInput.from_object(delivery))],
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        pattern = dict(trig.pattern)
        if isinstance(trig, WorkflowTrigger):  # the upstream's runs in this stack, not another's
            pattern["resources"] = [self.upstreams[trig.upstream]]
        cfn_rule.add_property_override("EventPattern", pattern)
        return rule
