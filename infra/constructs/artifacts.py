"""The artifact bucket: task outputs too large for the state, under one prefix."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from orchestration.artifacts import ARTIFACT_PREFIX

OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")


class Artifacts(Construct):
    """An encrypted, private bucket whose artifacts expire after `expiration_days`."""

    def __init__(self, scope: Construct, id: str, *, expiration_days: int, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id)
        # CDK leaves an id "Default" out of logical ids: the bucket keeps the one it had before this
        # construct (a new logical id would replace the bucket and lose its objects).
        self.bucket = s3.Bucket(
            self,
            "Default",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-artifacts",
                    prefix=ARTIFACT_PREFIX,
                    expiration=cdk.Duration.days(expiration_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=removal_policy,
        )

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    def grant_read_write_objects(self, grantee: iam.IGrantable, *, prefix: str = ARTIFACT_PREFIX) -> iam.Grant:
        """Get and put objects under `prefix` (one workflow's: `workflow_prefix(name)`), nothing else."""
        if not prefix.startswith(ARTIFACT_PREFIX) or not prefix.endswith("/"):
            raise ValueError(f"artifact prefix {prefix!r} must be a folder under {ARTIFACT_PREFIX!r}")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(OBJECT_ACTIONS),
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )
