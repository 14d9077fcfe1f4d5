"""cdk-nag AwsSolutions acknowledgments.

The stack avoids most findings by construction (custom roles writing to their own log group
instead of the managed basic-execution policy; ledger access on the table and its two named
indexes; Lambda invoke on the exact function ARNs). What remains is acknowledged here, each
finding by its exact id, on the narrowest construct, with the reason it stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import IConstruct

if TYPE_CHECKING:  # pragma: no cover
    from infra.stack import OrchestratorStack

REASONS = {
    "L1": (
        "Functions run on Python 3.13 to match AWS's public Powertools V3 layer built for python3.13 "
        "(it ships pydantic-core compiled per Python version); raise both together in infra/shared.py."
    ),
    "S1": (
        "The artifact bucket holds transient task outputs, written and read only by the task functions' "
        "roles (s3:GetObject/PutObject on runs/*); enable CloudTrail S3 data events for an access audit "
        "rather than a second, itself unlogged, log bucket."
    ),
    "SQS3": (
        "This queue is the dead-letter queue of the EventBridge rules and Scheduler schedules (configured "
        "on their targets, which cdk-nag does not see); a DLQ of a DLQ adds nothing."
    ),
    "IAM5-artifacts": (
        "Task outputs are stored under runs/<workflow>/<run id>/<task>/..., keys known only at run time: "
        "object access is limited to the runs/ prefix of this stack's artifact bucket."
    ),
    "IAM5-scheduler": (
        "CDK's Scheduler target grant allows invoking the trigger function and its versions/aliases "
        "(<arn>:*); the role is assumable by EventBridge Scheduler only and names this one function."
    ),
    "IAM5-sfn": (
        "Resource * is required by the actions CDK adds for state machine logging (logs:CreateLogDelivery, "
        "logs:*LogDelivery*, logs:DescribeResourcePolicies...) and X-Ray tracing (xray:PutTraceSegments, "
        "xray:PutTelemetryRecords, xray:GetSampling*), which support no resource-level permissions."
    ),
}


def _ack(scope: IConstruct, rule: str, reason_key: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=REASONS[reason_key]))


def acknowledge(stack: OrchestratorStack) -> None:
    platform = stack.platform
    _ack(stack, "AwsSolutions-L1", "L1")
    _ack(platform.bucket, "AwsSolutions-S1", "S1")
    _ack(platform.dlq, "AwsSolutions-SQS3", "SQS3")
    bucket_resource = platform.bucket.node.default_child
    assert isinstance(bucket_resource, cdk.CfnElement)
    bucket_id = stack.get_logical_id(bucket_resource)
    for dep in stack.workflows.values():
        _ack(dep.state_machine.role, "AwsSolutions-IAM5[Resource::*]", "IAM5-sfn")
        if dep.schedule_role is not None and dep.trigger_function is not None:
            trigger = dep.trigger_function.node.default_child
            assert isinstance(trigger, cdk.CfnElement)
            rule = f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(trigger)}.Arn>:*]"
            _ack(dep.schedule_role, rule, "IAM5-scheduler")
        for fn in dep.task_functions.values():
            assert fn.role is not None
            _ack(fn.role, f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/runs/*]", "IAM5-artifacts")
