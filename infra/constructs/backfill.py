"""The stack's backfill runner: one state machine that runs a backfill's planned runs on the
workflows' own state machines (`orchestration.compiler.backfill`), so a backfill needs nothing to
keep running (`orch backfill --stack`)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.functions import PlatformFunctions
from infra.constructs.workflow import (
    CHILD_EXECUTION_ACTIONS,
    CHILD_START_ACTIONS,
    SYNC_RULE,
    SYNC_RULE_ACTIONS,
    WorkflowDeployment,
)
from orchestration.compiler import to_json
from orchestration.compiler.backfill import BACKFILL_OUTPUT, backfill_definition


def backfill_machine_name(stack_name: str) -> str:
    """`<stack>--backfill`: a workflow's is `<stack>-<workflow>`, and workflow names start with a letter."""
    return f"{stack_name}--backfill"


class BackfillRunner(Construct):
    """The backfill state machine and its execution log group (errors only, without data). Its role
    may start the given workflows' state machines, follow and stop their executions, and nothing
    else: it does not touch the ledger (the workflows' functions and the recorder record the runs)."""

    def __init__(
        self, scope: Construct, id: str, *, functions: PlatformFunctions, workflows: Sequence[WorkflowDeployment]
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.name = backfill_machine_name(stack.stack_name)
        log_group = functions.log_group(self, "ExecutionLogs", name=f"/aws/vendedlogs/states/{self.name}")
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_string(to_json(backfill_definition())),
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False),
            tracing_enabled=True,
        )
        deployments = sorted(workflows, key=lambda dep: dep.name)
        self.machines = [dep.name for dep in deployments]
        rule = stack.format_arn(
            service="events", resource="rule", resource_name=SYNC_RULE, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )
        for actions, resources in (
            (CHILD_START_ACTIONS, [dep.arn_literal for dep in deployments]),
            (CHILD_EXECUTION_ACTIONS, [self.executions(name) for name in self.machines]),
            (SYNC_RULE_ACTIONS, [rule]),
        ):
            self.state_machine.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
        cdk.CfnOutput(
            stack,
            BACKFILL_OUTPUT,
            value=self.state_machine.state_machine_arn,
            description="orch backfill --stack: the backfill state machine",
        )

    def executions(self, machine: str) -> str:
        return cdk.Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{machine}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
