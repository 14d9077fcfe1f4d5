"""One-time timers (`orchestration.runtime.timers`): a schedule group for the ``at()`` schedules the
platform functions set, and the role EventBridge Scheduler assumes to invoke their targets."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from orchestration.runtime.registry import Env


class Timers(Construct):
    """The stack's timer schedule group and invoke role. `setter(fn)` lets a function set and cancel
    timers in the group (nothing else of Scheduler); `target(fn)` lets timers invoke `fn`."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        # Schedule group names: 1-64 of [0-9A-Za-z_.-]; the stack's name keeps two stacks apart.
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=f"{stack.stack_name}-timers"[:64])
        self.group_name = self.group.ref
        self.role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="EventBridge Scheduler invokes the platform functions a one-time timer targets",
        )
        self.schedules_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group.name}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.setters: list[lambda_.Function] = []  # for infra/nag.py
        self.targets: list[lambda_.IFunction] = []

    def setter(self, fn: lambda_.Function) -> None:
        """`fn` may create and delete schedules in the timer group, passing the invoke role only."""
        fn.add_environment(Env.TIMER_GROUP, self.group_name)
        fn.add_environment(Env.TIMER_ROLE_ARN, self.role.role_arn)
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule", "scheduler:DeleteSchedule"],
                resources=[self.schedules_arn],
            )
        )
        self.role.grant_pass_role(fn.grant_principal)
        self.setters.append(fn)

    def target(self, fn: lambda_.IFunction) -> None:
        """Timers may invoke `fn`."""
        fn.grant_invoke(self.role)
        self.targets.append(fn)
