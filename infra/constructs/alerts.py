"""Failure alerts: the SNS topic the recorder publishes failed runs to, and the alarm telling it
that a delivery was dead-lettered."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# What CloudWatch alarms need of the topic's key to publish (the AWS-managed alias/aws/sns key
# does not allow them: a customer managed key it must be).
ALARM_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")


class Alerts(Construct):
    """An SSL-only topic encrypted with its own rotated KMS key (which CloudWatch alarms may use),
    optionally mailing `email`."""

    def __init__(self, scope: Construct, id: str, *, email: str | None = None) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the workflow failure-alert topic",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            pending_window=cdk.Duration.days(7),
        )
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), *ALARM_KEY_ACTIONS)
        # CDK leaves an id "Default" out of logical ids: the topic keeps the one it had before this construct.
        self.topic = sns.Topic(
            self, "Default", display_name="Workflow run failures", enforce_ssl=True, master_key=self.key
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.topic.grant_publish(grantee)

    def alarm_on_messages(self, queue: sqs.IQueue, id: str, *, what: str) -> cloudwatch.Alarm:
        """An alarm to the topic as soon as `queue` holds a visible message (checked each minute)."""
        alarm = cloudwatch.Alarm(
            self,
            id,
            alarm_description=f"{what}: see docs/deploy.md 'Dead letters and replay' (orch dlq replay)"[:1024],
            metric=queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        return alarm
