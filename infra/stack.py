"""The orchestrator stack: the platform plus one `WorkflowDeployment` per discovered workflow."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.asset import stage_assets
from infra.constructs.backfill import BackfillRunner
from infra.constructs.functions import FunctionCode, public_powertools_layer
from infra.constructs.monitoring import Monitoring, Thresholds
from infra.constructs.notifications import Notifications
from infra.constructs.platform import Platform
from infra.constructs.timers import Timers
from infra.constructs.workflow import WorkflowDeployment, state_machine_name
from infra.discovery import Discovered, discover
from infra.nag import acknowledge, acknowledge_notifications, acknowledge_timers
from infra.settings import PYTHON_VERSION, InfraError, Settings
from orchestration.compiler import child_workflows
from orchestration.dependencies import activate, lambda_target
from orchestration.pools import stack_pools
from orchestration.triggers import upstream_workflows

WORKFLOWS_IN_STACK = 30  # more need nested stacks (the nestedWorkflows setting)
NESTED_STACKS = 16  # a workflow's nested stack: by the hash of its name, so adding one moves no other


def _construct_id(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _nested_stack(stack: cdk.Stack, workflow: str) -> cdk.NestedStack:
    """The nested stack of a workflow: one of NESTED_STACKS, by the hash of its name (a workflow never
    moves: CloudFormation would create its named state machine in the new one before deleting the old).
    About 8 resources per workflow (more with triggers): some 60 workflows fit one, 900 the stack."""
    n = int(hashlib.sha256(workflow.encode()).hexdigest(), 16) % NESTED_STACKS + 1
    found = stack.node.try_find_child(f"Workflows{n}")
    if isinstance(found, cdk.NestedStack):
        return found
    return cdk.NestedStack(stack, f"Workflows{n}", description=f"Workflows, part {n} of at most {NESTED_STACKS}")


def _nests(settings: Settings, workflows: int, as_needed: bool) -> bool:
    """Whether the workflows go to nested stacks: by the setting, never by their count, because a
    workflow moved from the stack into a nested one on an update collides with itself (CloudFormation
    creates the moved state machine, whose name is fixed, before deleting the old one)."""
    if settings.nested_workflows or (as_needed and workflows > WORKFLOWS_IN_STACK):
        return True
    if workflows > WORKFLOWS_IN_STACK:
        raise InfraError(
            f"the project has {workflows} workflows; a stack holds at most {WORKFLOWS_IN_STACK} itself: set "
            '"nestedWorkflows": true in the context of cdk.json (or -c nestedWorkflows=true) to put every '
            f"workflow in one of at most {NESTED_STACKS} nested stacks, where adding one later moves no other. "
            "On a stack deployed with its workflows in it, this moves each of them, and CloudFormation cannot "
            "move a state machine with a fixed name: deploy it under a new stackName, or destroy and redeploy"
        )
    return False


class OrchestratorStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        root: Path,
        nest_as_needed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, description="Serverless workflow orchestrator (Step Functions + Lambda)", **kwargs)
        self.settings = settings
        requirements = root / settings.requirements
        activate([requirements])  # the workflows import what their tasks need (see dependencies.py)
        folder, found = discover(root, settings.workflows)
        self.discovered: list[Discovered] = found
        nested = _nests(settings, len(found), nest_as_needed)
        assets = stage_assets(
            root,
            folder,
            {item.workflow.name: item.source for item in found},
            requirements=requirements,
            target=lambda_target(settings.architecture, PYTHON_VERSION),
        )
        layer = public_powertools_layer(settings.powertools_layer_version, settings.architecture)
        self.platform = Platform(
            self,
            "Platform",
            code=FunctionCode(
                code_dir=assets.shared.path,
                asset_hash=assets.shared.hash,
                layer_arn=settings.powertools_layer_arn or layer,
                log_retention_days=settings.log_retention_days,
                architecture=settings.architecture,
                workflow_assets=assets.by_workflow,
                log_kms_key_arn=settings.log_kms_key_arn,
                trigger_reserved_concurrency=settings.trigger_reserved_concurrency,
            ),
            retain_data=settings.retain_data,
            artifact_retention_days=settings.artifact_retention_days,
            alert_email=settings.alert_email,
        )
        functions = self.platform.functions
        if stack_pools(item.workflow for item in found):  # one slot count per pool name, else an error
            self.platform.ledger.grant_pool_writes(functions.add_pool())
        self.workflows: dict[str, WorkflowDeployment] = {}
        for item in found:
            dep = WorkflowDeployment(
                _nested_stack(self, item.workflow.name) if nested else self,
                f"Wf_{_construct_id(item.workflow.name)}",
                item=item,
                state_machine_name=state_machine_name(settings.stack_name, item.workflow.name),
                functions=functions,
                ledger=self.platform.ledger,
                artifacts=self.platform.artifacts,
                triggers_enabled=settings.triggers,
                children={c: state_machine_name(settings.stack_name, c) for c in child_workflows(item.workflow)},
                upstreams={u: state_machine_name(settings.stack_name, u) for u in upstream_workflows(item.workflow)},
            )
            if dep.uses_join:
                dep.grant_task_response(functions.join)
            if dep.uses_pool and functions.pool:
                dep.grant_task_response(functions.pool)
            if dep.triggers is not None and dep.triggers.batched:  # its batches' timers invoke it
                self.platform.timers.setter(dep.triggers.function)
                self.platform.timers.target(dep.triggers.function)
            self.workflows[item.workflow.name] = dep
        self.recorder = self.platform.add_recorder(list(self.workflows.values()), settings.lineage_environment())
        self.notifications = Notifications(
            self,
            "Notifications",
            functions=functions,
            ledger=self.platform.ledger,
            key=self.platform.alerts.key,
            timers=lambda: self.platform.timers,
            workflows=self.workflows,
            files={item.workflow.name: item.file for item in found},
        )
        self.backfill = (
            BackfillRunner(self, "Backfill", functions=functions, workflows=list(self.workflows.values()))
            if self.workflows
            else None
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            topic=self.platform.alerts.topic,
            namespace=functions.metrics_namespace,
            workflows=sorted(self.workflows),
            functions=functions.all,
            state_machines=[dep.state_machine for _, dep in sorted(self.workflows.items())]
            + ([self.backfill.state_machine] if self.backfill else []),
            dead_letters=functions.delivery_dlq,
            queued=sorted(
                i.workflow.name for i in found if i.workflow.max_concurrent_runs and i.workflow.on_limit == "queue"
            ),
            pools=sorted({pool for used in stack_pools(i.workflow for i in found).values() for pool in used}),
            thresholds=Thresholds(
                period_minutes=settings.alarm_period_minutes,
                failed_runs=settings.failed_runs_threshold,
                function_errors=settings.function_errors_threshold,
                throttles=settings.throttles_threshold,
                timed_out_runs=settings.timed_out_runs_threshold,
            ),
        )
        cdk.CfnOutput(self, "LedgerTableName", value=self.platform.ledger.table_name)
        cdk.CfnOutput(self, "ArtifactBucketName", value=self.platform.artifacts.bucket_name)
        cdk.CfnOutput(self, "AlertTopicArn", value=self.platform.alerts.topic_arn)
        cdk.CfnOutput(self, "DeliveryDLQUrl", value=functions.delivery_dlq.queue_url, description="orch dlq replay")
        self.workflow_stacks = sorted(
            (c for c in self.node.children if isinstance(c, cdk.NestedStack)), key=lambda c: c.node.id
        )
        for name, dep in sorted(self.workflows.items()) if not nested else ():  # nested: 200 outputs at most
            cdk.CfnOutput(
                self,
                f"StateMachine{''.join(c for c in name if c.isalnum())}",
                value=dep.state_machine.state_machine_arn,
                description=f"workflow {name}",
            )
        acknowledge(
            self,
            artifacts=self.platform.artifacts,
            delivery_dlq=functions.delivery_dlq,
            workflows=self.workflows.values(),
            alert_publishers=[self.recorder.role] if self.recorder.role else [],
            backfill=self.backfill,
            traced=[fn.role for fn in functions.all if fn.role],
        )
        acknowledge_notifications(self.notifications)
        timers = self.platform.node.try_find_child("Timers")
        if isinstance(timers, Timers):
            acknowledge_timers(timers)


def build_app(
    settings: Settings | None = None,
    *,
    root: Path,
    outdir: str | None = None,
    context: dict[str, Any] | None = None,
    nest_as_needed: bool = False,
) -> tuple[cdk.App, OrchestratorStack]:
    """The CDK app with the stack (and cdk-nag when enabled). Settings default to the app's context;
    `nest_as_needed` (estimates such as `orch plan`) nests past 30 workflows whatever the setting."""
    app = cdk.App(outdir=outdir, context=context or {})
    settings = settings or Settings.from_context(app.node.try_get_context)
    stack = OrchestratorStack(app, settings.stack_name, settings=settings, root=root, nest_as_needed=nest_as_needed)
    for key, value in settings.tags:
        # Not the alert topic's KMS key: moto's CloudFormation cannot create a tagged key (KeyError 'TagKey').
        cdk.Tags.of(stack).add(key, value, exclude_resource_types=["AWS::KMS::Key"])
    if settings.nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
