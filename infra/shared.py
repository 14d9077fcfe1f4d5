"""Shared resources of the stack: run ledger, artifact bucket, alert topic, delivery DLQ, the code
asset every function runs from, and the platform functions (join, finalize, recorder)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import POWERTOOLS_ACCOUNT, PYTHON_VERSION, RETENTION_DAYS, Settings
from orchestration.ledger import table_spec

RUNTIME = lambda_.Runtime.PYTHON_3_13
# Exactly the DynamoDB calls orchestration/ledger.py makes, on the table and its two indexes.
LEDGER_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
]
ARTIFACT_PREFIX = "runs/"
CODE_PACKAGES = ("orchestration", "functions")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def stage_code(root: Path, workflows_folder: Path, asset_folder: str) -> Path:
    """A directory with exactly what the functions need: the two packages and the workflows folder."""
    stage = Path(tempfile.mkdtemp(prefix="orch-asset-"))
    atexit.register(shutil.rmtree, stage, True)
    for package in CODE_PACKAGES:
        shutil.copytree(root / package, stage / package, ignore=_IGNORE)
    dest = stage / asset_folder
    if not dest.exists():
        shutil.copytree(workflows_folder, dest, ignore=_IGNORE)
    return stage


class Platform(Construct):
    """Everything the workflows share."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, code_dir: Path) -> None:
        super().__init__(scope, id)
        self.settings = settings
        removal = cdk.RemovalPolicy.RETAIN if settings.retain_data else cdk.RemovalPolicy.DESTROY
        spec = table_spec("unused")
        key = {a["KeyType"]: a["AttributeName"] for a in spec["KeySchema"]}
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Ledger",
            partition_key=dynamodb.Attribute(name=key["HASH"], type=string),
            sort_key=dynamodb.Attribute(name=key["RANGE"], type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=removal,
        )
        for index in spec["GlobalSecondaryIndexes"]:
            ks = {a["KeyType"]: a["AttributeName"] for a in index["KeySchema"]}
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=dynamodb.Attribute(name=ks["HASH"], type=string),
                sort_key=dynamodb.Attribute(name=ks["RANGE"], type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-artifacts",
                    prefix=ARTIFACT_PREFIX,
                    expiration=cdk.Duration.days(settings.artifact_retention_days),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=removal,
        )
        self.topic = sns.Topic(
            self,
            "FailureAlerts",
            display_name="Workflow run failures",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        if settings.alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alert_email))
        self.dlq = sqs.Queue(
            self,
            "DeliveryDLQ",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.code = lambda_.Code.from_asset(str(code_dir))
        layer_arn = settings.powertools_layer_arn or cdk.Fn.sub(
            f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-python{PYTHON_VERSION.replace('.', '')}-x86_64:"
            f"{settings.powertools_layer_version}"
        )
        self.layer = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)
        self.base_env = {
            "ORCH_LEDGER_TABLE": self.table.table_name,
            "ORCH_ARTIFACT_BUCKET": self.bucket.bucket_name,
            "POWERTOOLS_SERVICE_NAME": "orchestration",
        }
        self.join = self.function(
            "Join",
            "functions.join.handler",
            description="Releases tasks waiting on joins (SendTaskSuccess)",
            timeout=60,
        )
        self.grant_ledger(self.join)
        self.finalize = self.function(
            "Finalize",
            "functions.finalize.handler",
            description="Records the run outcome and skipped tasks",
            timeout=60,
        )
        self.grant_ledger(self.finalize)

    def function(
        self,
        id: str,
        handler: str,
        *,
        description: str,
        memory: int = 256,
        timeout: int = 60,
        storage: int = 512,
        env: dict[str, str] | None = None,
        scope: Construct | None = None,
    ) -> lambda_.Function:
        """A function on the shared code asset and layer, with its own log group and its own role
        (allowed to write to that log group only: no managed policy)."""
        parent = scope or self
        group = logs.LogGroup(
            parent,
            f"{id}Logs",
            retention=_retention(self.settings.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            parent,
            f"{id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description[:900]}",
        )
        group.grant_write(role)
        return lambda_.Function(
            parent,
            id,
            runtime=RUNTIME,
            handler=handler,
            code=self.code,
            layers=[self.layer],
            memory_size=memory,
            timeout=cdk.Duration.seconds(timeout),
            ephemeral_storage_size=cdk.Size.mebibytes(storage),
            environment={**self.base_env, **(env or {})},
            description=description[:256],
            log_group=group,
            role=role,
        )

    def grant_ledger(self, fn: lambda_.Function) -> None:
        """Read/write the run ledger: the table and its two indexes, the actions the ledger uses."""
        arn = self.table.table_arn
        indexes = [f"{arn}/index/{i['IndexName']}" for i in table_spec("unused")["GlobalSecondaryIndexes"]]
        fn.add_to_role_policy(iam.PolicyStatement(actions=LEDGER_ACTIONS, resources=[arn, *indexes]))

    def grant_artifacts(self, fn: lambda_.Function) -> None:
        """Read and write task outputs under runs/ in the artifact bucket."""
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{ARTIFACT_PREFIX}*")]
            )
        )

    def recorder(self, machines: dict[str, str], arns: list[str]) -> lambda_.Function:
        """The recorder and the rule feeding it every status change of the stack's state machines."""
        fn = self.function(
            "Recorder",
            "functions.recorder.handler",
            description="Keeps the run ledger right on execution status changes; alerts on failures",
            env={
                "ORCH_ALERT_TOPIC_ARN": self.topic.topic_arn,
                "ORCH_STATE_MACHINES": json.dumps(machines, sort_keys=True, separators=(",", ":")),
            },
        )
        self.grant_ledger(fn)
        self.topic.grant_publish(fn)
        if arns:
            events.Rule(
                self,
                "ExecutionStatusRule",
                description="Step Functions execution status changes of this stack's workflows -> recorder",
                event_pattern=events.EventPattern(
                    source=["aws.states"],
                    detail_type=["Step Functions Execution Status Change"],
                    detail={"stateMachineArn": arns},
                ),
                targets=[
                    targets.LambdaFunction(
                        fn, dead_letter_queue=self.dlq, retry_attempts=185, max_event_age=cdk.Duration.hours(24)
                    )
                ],
            )
        return fn


def _retention(days: int) -> logs.RetentionDays:
    """CloudWatch's allowed retention periods, in the order CDK's enum lists them (INFINITE last)."""
    members = [m for m in logs.RetentionDays if m.name != "INFINITE"]
    return dict(zip(RETENTION_DAYS, members, strict=True))[days]  # Settings.problems() checked `days`
