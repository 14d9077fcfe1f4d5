"""What every workflow shares, composed and wired: ledger, artifacts, alerts, platform functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.alerts import Alerts
from infra.constructs.artifacts import Artifacts
from infra.constructs.functions import FunctionCode, PlatformFunctions
from infra.constructs.ledger import Ledger
from infra.constructs.timers import Timers
from infra.constructs.workflow import WorkflowDeployment, policy_statement, state_machine_name
from orchestration.permissions import secret
from orchestration.pools import stack_pools
from orchestration.runtime.registry import SERVICE, Env
from orchestration.triggers import upstream_workflows


class Platform(Construct):
    """The run ledger and artifact bucket (kept on stack deletion when `retain_data`), the failure
    alerts, and the platform functions, whose base environment names the ledger and the bucket."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code: FunctionCode,
        retain_data: bool,
        artifact_retention_days: int,
        alert_email: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        removal = cdk.RemovalPolicy.RETAIN if retain_data else cdk.RemovalPolicy.DESTROY
        self.ledger = Ledger(self, "Ledger", removal_policy=removal)
        self.artifacts = Artifacts(self, "Artifacts", expiration_days=artifact_retention_days, removal_policy=removal)
        self.alerts = Alerts(self, "FailureAlerts", email=alert_email)
        # CDK leaves an id "Default" out of logical ids: the functions keep those they had as children of Platform.
        self.functions = PlatformFunctions(
            self,
            "Default",
            code=code,
            environment={
                Env.LEDGER_TABLE: self.ledger.table_name,
                Env.ARTIFACT_BUCKET: self.artifacts.bucket_name,
                Env.SERVICE_NAME: SERVICE,
            },
        )
        self.dead_letter_alarm = self.alerts.alarm_on_messages(
            self.functions.delivery_dlq,
            "DeadLetterAlarm",
            what="A trigger or recorder delivery failed for good and waits in the delivery dead-letter queue",
        )
        self.ledger.grant_read_write(self.functions.join)
        self.ledger.grant_read_write(self.functions.finalize)

    @property
    def timers(self) -> Timers:
        """The stack's one-time timers, made on first use (a stack that sets none has none)."""
        found = self.node.try_find_child("Timers")
        return found if isinstance(found, Timers) else Timers(self, "Timers")

    def add_recorder(
        self, workflows: Sequence[WorkflowDeployment], lineage: Mapping[str, str] | None = None
    ) -> lambda_.Function:
        """The recorder, following the state machines of `workflows`; it may use the ledger and alert,
        and send OpenLineage events as `lineage` (its environment variables) says."""
        fn = self.functions.add_recorder(
            lineage=lineage,
            workflows=[dep.workflow.name for dep in workflows],
            state_machine_prefix=state_machine_name(cdk.Stack.of(self).stack_name, ""),
            alert_topic_arn=self.alerts.topic_arn,
            pools=stack_pools(dep.workflow for dep in workflows),
            upstreams=sorted({u for dep in workflows for u in upstream_workflows(dep.workflow)}),
        )
        self.ledger.grant_read_write(fn)
        pooled = [dep for dep in workflows if dep.uses_pool]
        if pooled:  # a run that ends holding slots: the recorder frees them and wakes waiters
            self.ledger.grant_pool_writes(fn)
        for dep in pooled:
            dep.grant_task_response(fn)
        self.alerts.grant_publish(fn)
        api_key = (lineage or {}).get(Env.LINEAGE_API_KEY_SECRET)
        for statement in secret(api_key).statements if api_key else ():  # read by name, at run time
            fn.add_to_role_policy(policy_statement(statement))
        for dep in workflows:
            if dep.workflow.max_concurrent_runs is not None:  # it frees slots and starts queued runs
                self.ledger.grant_concurrency_writes(fn, dep.workflow.name)
                dep.state_machine.grant_start_execution(fn)
        chained = [dep.triggers.function for dep in workflows if dep.triggers and dep.triggers.continuous]
        if chained:  # continuous workflows: the recorder sets the timer that starts each next run
            self.timers.setter(fn)
            for trigger in chained:
                self.timers.target(trigger)
        return fn
