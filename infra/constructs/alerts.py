"""Failure alerts: the SNS topic the recorder publishes failed runs to."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Alerts(Construct):
    """An SSL-only topic encrypted with the AWS-managed SNS key, optionally mailing `email`."""

    def __init__(self, scope: Construct, id: str, *, email: str | None = None) -> None:
        super().__init__(scope, id)
        # CDK leaves an id "Default" out of logical ids: the topic keeps the one it had before this construct.
        self.topic = sns.Topic(
            self,
            "Default",
            display_name="Workflow run failures",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def topic_arn(self) -> str:
        return self.topic.topic_arn

    def grant_publish(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.topic.grant_publish(grantee)
