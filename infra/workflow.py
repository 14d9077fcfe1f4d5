"""One workflow on AWS: a Lambda function per task, the state machine running the compiled
definition (placeholders filled by DefinitionSubstitutions), and its triggers."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.discovery import Discovered
from infra.shared import Platform, _retention
from orchestration.compiler import FINALIZE_FUNCTION, JOIN_FUNCTION, placeholders
from orchestration.triggers import EventTrigger, Schedule, triggers_of

EVENT_RETRY_ATTEMPTS = 185
EVENT_MAX_AGE_HOURS = 24


def state_machine_name(stack_name: str, workflow: str) -> str:
    return f"{stack_name}-{workflow}"


class WorkflowDeployment(Construct):
    def __init__(self, scope: Construct, id: str, *, item: Discovered, platform: Platform) -> None:
        super().__init__(scope, id)
        wf = item.workflow
        stack = cdk.Stack.of(self)
        settings = platform.settings
        self.workflow = wf
        self.name = state_machine_name(settings.stack_name, wf.name)
        env = {"ORCH_WORKFLOW_FILE": item.file, "ORCH_WORKFLOW": wf.name}
        self.task_functions: dict[str, lambda_.Function] = {}
        for name, task in sorted(wf.tasks.items()):
            res = task.resources
            fn = platform.function(
                f"Task_{name}",
                "functions.task.handler",
                description=f"{wf.name}.{name}: {task.description}" if task.description else f"{wf.name}.{name}",
                memory=res.memory_mb,
                timeout=res.timeout_seconds,
                storage=res.ephemeral_storage_mb,
                env=env,
                scope=self,
            )
            platform.grant_ledger(fn)
            platform.grant_artifacts(fn)
            self.task_functions[name] = fn
        subs: dict[str, str] = {}
        for placeholder, role in placeholders(wf).items():
            if placeholder == JOIN_FUNCTION:
                subs[placeholder] = platform.join.function_arn
            elif placeholder == FINALIZE_FUNCTION:
                subs[placeholder] = platform.finalize.function_arn
            else:
                subs[placeholder] = self.task_functions[role].function_arn
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{self.name}",
            retention=_retention(settings.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_string(item.definition),
            definition_substitutions=subs,
            state_machine_type=sfn.StateMachineType.EXPRESS if wf.type == "EXPRESS" else sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        invoked = [*self.task_functions.values(), platform.finalize]
        if JOIN_FUNCTION in item.definition:
            invoked.append(platform.join)
        # Exactly the functions the definition names, unqualified (the ARNs the substitutions hold).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[fn.function_arn for fn in invoked],
            )
        )
        self.arn_literal = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        if "${" + JOIN_FUNCTION + "}" in item.definition:
            # The join releases waiting tasks: SendTaskSuccess on this state machine's tasks. The ARN is
            # built from the known name, not referenced, to keep the join function out of a cycle.
            platform.join.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[self.arn_literal],
                )
            )
        self.trigger_function: lambda_.Function | None = None
        self.schedule_role: iam.Role | None = None
        self.schedules: dict[str, scheduler.Schedule] = {}
        self.rules: dict[str, events.Rule] = {}
        found = triggers_of(wf)
        if found:
            self._triggers(item, platform, env, found)

    def _triggers(self, item: Discovered, platform: Platform, env: dict[str, str], found: dict[str, Any]) -> None:
        wf = item.workflow
        fn = platform.function(
            "Trigger",
            "functions.trigger.handler",
            description=f"Starts exactly one {wf.name} run per schedule firing or matching event",
            env={**env, "ORCH_STATE_MACHINE_ARN": self.state_machine.state_machine_arn},
            scope=self,
        )
        platform.grant_ledger(fn)
        self.state_machine.grant_start_execution(fn)
        self.trigger_function = fn
        if any(isinstance(t, Schedule) for t in found.values()):
            self.schedule_role = iam.Role(
                self,
                "ScheduleRole",
                assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                description=f"EventBridge Scheduler invokes the {wf.name} trigger function",
            )
        for name, trig in found.items():
            cid = "".join(ch if ch.isalnum() else "_" for ch in name)
            if isinstance(trig, Schedule):
                window = (
                    scheduler.TimeWindow.flexible(cdk.Duration.minutes(trig.flexible_window_minutes))
                    if trig.flexible_window_minutes
                    else scheduler.TimeWindow.off()
                )
                self.schedules[name] = scheduler.Schedule(
                    self,
                    f"Schedule_{cid}",
                    schedule=scheduler.ScheduleExpression.expression(trig.expression, cdk.TimeZone.of(trig.timezone)),
                    description=(trig.description or f"{wf.name}: {trig.expression} {trig.timezone}")[:512],
                    enabled=trig.enabled,
                    time_window=window,
                    target=scheduler_targets.LambdaInvoke(
                        fn,
                        input=scheduler.ScheduleTargetInput.from_object(
                            {
                                "trigger": name,
                                "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                                "execution_id": scheduler.ContextAttribute.execution_id,
                                "attempt": scheduler.ContextAttribute.attempt_number,
                            }
                        ),
                        dead_letter_queue=platform.dlq,
                        retry_attempts=trig.retry_attempts,
                        max_event_age=cdk.Duration.seconds(trig.max_event_age_seconds),
                        role=self.schedule_role,
                    ),
                )
            elif isinstance(trig, EventTrigger):
                bus = (
                    None
                    if trig.event_bus == "default"
                    else events.EventBus.from_event_bus_name(self, f"Bus_{cid}", trig.event_bus)
                )
                rule = events.Rule(
                    self,
                    f"Rule_{cid}",
                    description=(trig.description or f"{wf.name}: event trigger {name}")[:512],
                    event_bus=bus,
                    event_pattern=events.EventPattern(source=["placeholder"]),  # replaced below, verbatim
                    targets=[
                        targets.LambdaFunction(
                            fn,
                            event=events.RuleTargetInput.from_object(
                                {"trigger": name, "event": events.EventField.from_path("$")}
                            ),
                            dead_letter_queue=platform.dlq,
                            retry_attempts=EVENT_RETRY_ATTEMPTS,
                            max_event_age=cdk.Duration.hours(EVENT_MAX_AGE_HOURS),
                        )
                    ],
                )
                cfn_rule = rule.node.default_child
                assert isinstance(cfn_rule, events.CfnRule)
                cfn_rule.add_property_override("EventPattern", dict(trig.pattern))
                self.rules[name] = rule
