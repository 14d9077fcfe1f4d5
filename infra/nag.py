"""cdk-nag AwsSolutions acknowledgments.

The stack avoids most findings by construction (custom roles writing to their own log group
instead of the managed basic-execution policy; ledger access on the table and its two named
indexes; Lambda invoke on the exact function ARNs). What remains is acknowledged here, each
finding by its exact id, on the narrowest construct, with the reason it stays. A task's declared
permissions (orchestration.permissions) are acknowledged on its own role, one IAM5 finding per declared
wildcard resource or action, with a reason naming the task and the declaration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import aws_cdk as cdk
from constructs import IConstruct

from infra.constructs.artifacts import Artifacts
from infra.constructs.backfill import BackfillRunner
from infra.constructs.distributed import ITEM_LISTS, RESULTS
from infra.constructs.notifications import Notifications
from infra.constructs.timers import Timers
from infra.constructs.workflow import WorkflowDeployment, sub_template
from orchestration.artifacts import ARTIFACT_PREFIX, workflow_prefix
from orchestration.model import Task

REASONS = {
    "L1": (
        "Functions run on Python 3.13 to match AWS's public Powertools V3 layer built for python3.13 "
        "(it ships pydantic-core compiled per Python version); raise both together in infra/constructs/functions.py."
    ),
    "S1": (
        "The artifact bucket holds transient task outputs, written and read only by the task functions' "
        f"roles (s3:GetObject/PutObject on {ARTIFACT_PREFIX}<their workflow>/*); enable CloudTrail S3 data "
        "events for an access audit rather than a second, itself unlogged, log bucket."
    ),
    "SQS3": (
        "This queue is the dead-letter queue of the EventBridge rules and Scheduler schedules (configured "
        "on their targets, which cdk-nag does not see) and the on-failure destination of the functions they "
        "invoke asynchronously; a DLQ of a DLQ adds nothing (an alarm on its depth goes to the alert topic)."
    ),
    "IAM5-artifacts": (
        f"Task outputs are stored under {ARTIFACT_PREFIX}<workflow>/<run id>/<task>/..., keys known only at "
        f"run time: a task function's object access is limited to its own workflow's {ARTIFACT_PREFIX}<workflow>/ "
        "prefix of this stack's artifact bucket."
    ),
    "IAM5-scheduler": (
        "CDK's Scheduler target grant allows invoking the trigger function and its versions/aliases "
        "(<arn>:*); the role is assumable by EventBridge Scheduler only and names this one function."
    ),
    "IAM5-timer-schedules": (
        "One-time timers are schedules named at run time (orch-t-<hash of what they are for>): a setter may "
        "create and delete schedules of this stack's timer group only, passing only the timer role."
    ),
    "IAM5-timer-targets": (
        "CDK's invoke grant allows the function and its versions/aliases (<arn>:*); the timer role is "
        "assumable by EventBridge Scheduler of this account only and names each target function."
    ),
    "IAM5-child-executions": (
        "startExecution.sync:2 follows and stops the child executions a run starts (states:DescribeExecution, "
        "states:StopExecution), whose names are child run ids made at run time: the wildcard covers the "
        "executions of that one child state machine of this stack."
    ),
    "IAM5-map-runs": (
        "A Distributed Map starts, follows and stops its map run's child executions (states:DescribeExecution, "
        "states:StopExecution), named <state machine>/<map run>:<id> at run time: the wildcard covers only "
        "the executions of this one state machine."
    ),
    "IAM5-map-items": (
        "A Distributed Map reads the item list its source task stored (ItemReader) and writes its results "
        f"(ResultWriter) under keys made at run time: only .../list.json and .../results-r<pass>/ objects "
        f"within the workflow's own {ARTIFACT_PREFIX}<workflow>/ prefix of this stack's artifact bucket."
    ),
    "IAM5-backfill-executions": (
        "The backfill state machine follows and stops (startExecution.sync:2) the runs it starts, executions "
        "named by run ids made at plan time: the wildcard covers the executions of one workflow state "
        "machine of this stack."
    ),
    "SF1-backfill": (
        "The backfill state machine logs errors without execution data (the runs' parameters); the run "
        "ledger records every run it starts."
    ),
    "SF1": (
        "The state machine logs errors without execution data (parameters, outputs, error causes) by default, "
        "so that no run's data reaches its logs; the run ledger records every task. A workflow opts in to "
        "ALL events with data by Workflow(..., log_execution_data=True)."
    ),
    "IAM5-alert-key": (
        "Publishing to the alert topic, encrypted with its own KMS key, needs kms:GenerateDataKey* (CDK's "
        "topic publish grant) on that one key, named by ARN."
    ),
    "IAM5-notify-key": (
        "Publishing to the notification topic, encrypted with the alert topic's KMS key, needs "
        "kms:GenerateDataKey* (CDK's topic publish grant) on that one key, named by ARN."
    ),
    "IAM5-xray": (
        "Active X-Ray tracing (CDK's grant on the function's role): xray:PutTraceSegments and "
        "xray:PutTelemetryRecords support no resource-level permissions, so their resource is *."
    ),
    "IAM5-sfn": (
        "Resource * is required by the actions CDK adds for state machine logging (logs:CreateLogDelivery, "
        "logs:*LogDelivery*, logs:DescribeResourcePolicies...) and X-Ray tracing (xray:PutTraceSegments, "
        "xray:PutTelemetryRecords, xray:GetSampling*), which support no resource-level permissions."
    ),
}


def _ack(scope: IConstruct, rule: str, reason_key: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=REASONS[reason_key]))


def declared_findings(workflow: str, task: Task) -> dict[str, str]:
    """The IAM5 findings a task's own permissions draw (`Action::s3:*`, `Resource::arn:...`), each
    with the reason naming the task and its declarations."""
    found: dict[str, list[str]] = {}
    wildcards: set[str] = set()
    for permission in task.permissions:
        for statement in permission.statements:
            names = [f"Action::{a}" for a in statement.actions if "*" in a]
            names += [f"Resource::{_as_nag_names(r)}" for r in statement.resources if "*" in r]
            for name in names:
                found.setdefault(name, []).append(permission.declaration)
                if permission.warnings:
                    wildcards.add(name)
    return {
        name: (
            f"Declared by workflow {workflow!r}, task {task.name!r}, for its own function only: {'; '.join(decls)}. "
            + (
                "A wildcard its author wrote on purpose (orch validate and synth warn about it)."
                if name in wildcards
                else "Objects under a declared key prefix can only be named with a trailing *."
            )
        )
        for name, decls in found.items()
    }


def _as_nag_names(resource: str) -> str:
    """A declared resource as cdk-nag names it: each `${X}` of an Fn::Sub template shows as `<X>`."""
    template = sub_template(resource)
    return resource if template is None else re.sub(r"\$\{([^}]*)\}", r"<\1>", template)


def _logical_id(construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, cdk.CfnElement)
    return cdk.Stack.of(construct).get_logical_id(resource)


def acknowledge(
    stack: cdk.Stack,
    *,
    artifacts: Artifacts,
    delivery_dlq: IConstruct,
    workflows: Iterable[WorkflowDeployment],
    alert_publishers: Iterable[IConstruct] = (),
    backfill: BackfillRunner | None = None,
    traced: Iterable[IConstruct] = (),
) -> None:
    """Acknowledge the remaining findings on `stack` and on the constructs they concern."""
    _ack(stack, "AwsSolutions-L1", "L1")
    _ack(artifacts.bucket, "AwsSolutions-S1", "S1")
    _ack(delivery_dlq, "AwsSolutions-SQS3", "SQS3")
    for role in traced:
        _ack(role, "AwsSolutions-IAM5[Resource::*]", "IAM5-xray")
    for publisher in alert_publishers:
        _ack(publisher, "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "IAM5-alert-key")
    if backfill is not None:
        _ack(backfill.state_machine.role, "AwsSolutions-IAM5[Resource::*]", "IAM5-sfn")
        _ack(backfill.state_machine, "AwsSolutions-SF1", "SF1-backfill")
        for machine in backfill.machines:
            executions = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{machine}:*"
            _ack(backfill.state_machine.role, f"AwsSolutions-IAM5[Resource::{executions}]", "IAM5-backfill-executions")
    bucket = _logical_id(artifacts.bucket)
    for dep in workflows:
        bucket_arn = f"<{bucket}.Arn>"
        if cdk.Stack.of(dep) is not cdk.Stack.of(artifacts):  # a nested stack gets the bucket as a parameter
            resource = artifacts.bucket.node.default_child
            assert resource is not None
            bucket_arn = f"<referenceto{cdk.Names.unique_id(resource)}Arn>"
        objects = f"AwsSolutions-IAM5[Resource::{bucket_arn}/{workflow_prefix(dep.workflow.name)}*]"
        for sm in [dep.state_machine, *dep.parts]:  # a split workflow's parts are state machines like it
            _ack(sm.role, "AwsSolutions-IAM5[Resource::*]", "IAM5-sfn")
            if not dep.workflow.log_execution_data:
                _ack(sm, "AwsSolutions-SF1", "SF1")
        for name, sm in dep.map_machines.items():
            runs = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{name}/*"
            _ack(sm.role, f"AwsSolutions-IAM5[Resource::{runs}]", "IAM5-map-runs")
            for pattern in (ITEM_LISTS, RESULTS):
                key = f"{bucket_arn}/{workflow_prefix(dep.workflow.name)}{pattern}"
                _ack(sm.role, f"AwsSolutions-IAM5[Resource::{key}]", "IAM5-map-items")
        for machine in dep.child_machines:  # the parent's, and a part's running run_workflow tasks
            executions = f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{machine}:*"
            for sm in [dep.state_machine, *dep.parts]:
                _ack(sm.role, f"AwsSolutions-IAM5[Resource::{executions}]", "IAM5-child-executions")
        triggers = dep.triggers
        if triggers is not None and triggers.schedule_role is not None:
            rule = f"AwsSolutions-IAM5[Resource::<{_logical_id(triggers.function)}.Arn>:*]"
            _ack(triggers.schedule_role, rule, "IAM5-scheduler")
        for name, fn in dep.functions.items():  # a shared function's tasks declare the same permissions
            assert fn.role is not None
            _ack(fn.role, objects, "IAM5-artifacts")
            for finding, reason in declared_findings(dep.workflow.name, dep.workflow.tasks[name]).items():
                cdk.Validations.of(fn.role).acknowledge(
                    cdk.Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
                )


def acknowledge_notifications(notifications: Notifications) -> None:
    """The findings of the notifier functions' roles (their timers: `acknowledge_timers`)."""
    for fn in notifications.functions.values():
        assert fn.role is not None
        if notifications.topic is not None:
            _ack(fn.role, "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]", "IAM5-notify-key")


def acknowledge_timers(timers: Timers) -> None:
    """The timer setters' schedules of the timer group, and the timer role's invoke grants."""
    group = timers.group.name
    for fn in timers.setters:
        assert fn.role is not None
        schedules = f"arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{group}/*"
        _ack(fn.role, f"AwsSolutions-IAM5[Resource::{schedules}]", "IAM5-timer-schedules")
    for target in timers.targets:
        _ack(timers.role, f"AwsSolutions-IAM5[Resource::<{_logical_id(target)}.Arn>:*]", "IAM5-timer-targets")
