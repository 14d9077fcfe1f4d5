"""The platform's functions: the code asset and Powertools layer they all run with, a factory for
such functions and their log groups (encrypted with the settings' key, if any), EventBridge delivery
to them and the on-failure destination of those invoked asynchronously (one dead-letter queue for
both), and the platform's own join, finalize and recorder functions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.asset import Staged
from infra.settings import POWERTOOLS_ACCOUNT, PYTHON_VERSION, RETENTION_DAYS, InfraError
from orchestration.protocol import (
    RUN_EVENT_SOURCE,
    STATUS_CHANGE_DETAIL_TYPE,
    STATUS_CHANGE_SOURCE,
    StatusChangeDetail,
)
from orchestration.runtime import metrics
from orchestration.runtime.registry import FINALIZE, JOIN, POOL, RECORDER, Env, PlatformFunction

RUNTIME = lambda_.Runtime.PYTHON_3_13  # the Powertools layer is built per Python version: PYTHON_VERSION
CDK_ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
EVENT_RETRY_ATTEMPTS = 185  # EventBridge's maximum: delivery is retried for up to a day
EVENT_MAX_AGE_HOURS = 24
# An asynchronous invocation that fails is retried twice by Lambda, then sent to the DLQ with its
# payload and the reason (condition, error): replay it with `orch dlq replay` once the cause is fixed.
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE_HOURS = 6


def public_powertools_layer(version: int, architecture: str = "x86_64") -> str:
    """ARN of AWS's public Powertools for AWS Lambda (Python) V3 layer, in the stack's region."""
    return cdk.Fn.sub(
        f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python{PYTHON_VERSION.replace('.', '')}-{architecture}:{version}"
    )


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch's allowed retention periods, in the order CDK's enum lists them (INFINITE last)."""
    members = [m for m in logs.RetentionDays if m.name != "INFINITE"]
    return dict(zip(RETENTION_DAYS, members, strict=True))[days]  # Settings.problems() checked `days`


def _asset_code(folder: Path, asset_hash: str | None) -> lambda_.Code:
    """The folder as a code asset; given its content hash, CDK does not hash the folder again."""
    if asset_hash is None:
        return lambda_.Code.from_asset(str(folder))
    return lambda_.Code.from_asset(str(folder), asset_hash=asset_hash, asset_hash_type=cdk.AssetHashType.CUSTOM)


@dataclass(frozen=True)
class FunctionCode:
    """What every function runs: the staged code asset (`asset_hash`: its content hash, when known),
    the Powertools layer, how long logs stay and the architecture. A workflow listed in
    `workflow_assets` has its own asset (its own requirements), used by its task and trigger functions."""

    code_dir: Path
    layer_arn: str
    log_retention_days: int
    asset_hash: str | None = None
    architecture: str = "x86_64"
    workflow_assets: Mapping[str, Staged] = field(default_factory=dict)
    log_kms_key_arn: str | None = None  # encrypts every log group (key policy: docs/deploy.md "Logs")
    trigger_reserved_concurrency: int | None = None


class PlatformFunctions(Construct):
    """Every function of the stack is made here: same code asset, layer, runtime and base environment,
    each with its own log group and its own role (allowed to write to that log group only), traced
    with X-Ray (active tracing), its metrics in the stack's namespace."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code: FunctionCode,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.delivery_dlq = sqs.Queue(
            self,
            "DeliveryDLQ",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.source = code
        self._codes: dict[tuple[str, Path], lambda_.Code] = {}  # (stack path, folder) -> its asset there
        self.architecture = CDK_ARCHITECTURES[code.architecture]
        self.layer = lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", code.layer_arn)
        self.log_retention = retention(code.log_retention_days)
        self.log_key = kms.Key.from_key_arn(self, "LogKey", code.log_kms_key_arn) if code.log_kms_key_arn else None
        self.trigger_reserved_concurrency = code.trigger_reserved_concurrency
        self.metrics_namespace = metrics.namespace_of(cdk.Stack.of(self).stack_name)
        self.environment = {**environment, metrics.NAMESPACE_ENV: self.metrics_namespace}
        self.all: list[lambda_.Function] = []  # every function made here (monitored, traced)
        self.join = self.function(
            self, "Join", runs=JOIN, description="Releases tasks waiting on joins (SendTaskSuccess)"
        )
        self.finalize = self.function(
            self, "Finalize", runs=FINALIZE, description="Records the run outcome and skipped tasks"
        )
        self.pool: lambda_.Function | None = None  # made by add_pool when a workflow uses pools

    def add_pool(self) -> lambda_.Function:
        """The pool function: takes and frees pool slots, releases tasks waiting for one."""
        self.pool = self.function(
            self, "Pool", runs=POOL, description="Pool slots: takes and frees them, releases waiting tasks"
        )
        return self.pool

    def function(
        self,
        scope: Construct,
        id: str,
        *,
        runs: PlatformFunction,
        description: str,
        memory_mb: int = 256,
        timeout_seconds: int = 60,
        ephemeral_storage_mb: int = 512,
        environment: Mapping[str, str] | None = None,
        asynchronous: bool = False,
        reserved_concurrency: int | None = None,
    ) -> lambda_.Function:
        """A function running the registry entry `runs`, in `scope` (construct ids `<id>`, `<id>Logs`,
        `<id>Role`). Its environment is the base environment plus `environment`. An `asynchronous`
        function (invoked by EventBridge or Scheduler) sends the invocations it fails to the DLQ."""
        env = {**self.environment, **(environment or {})}
        missing = [name for name in runs.env if name not in env]
        if missing:
            raise InfraError(
                f"function {id} runs {runs.handler}, which reads {missing}, but its environment has only "
                f"{sorted(env)}: pass them in `environment`"
            )
        group = self.log_group(scope, f"{id}Logs")
        role = iam.Role(
            scope,
            f"{id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description[:900],
        )
        group.grant_write(role)
        fn = lambda_.Function(
            scope,
            id,
            runtime=RUNTIME,
            architecture=self.architecture,
            handler=runs.handler,
            code=self._code(scope, env.get(Env.WORKFLOW, "") if runs.loads_workflow else ""),
            layers=[self.layer],
            memory_size=memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds),
            ephemeral_storage_size=cdk.Size.mebibytes(ephemeral_storage_mb),
            environment=env,
            description=description[:256],
            log_group=group,
            role=role,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,  # X-Ray; the handler traces AWS calls only (runtime/entry.py)
        )
        self.all.append(fn)
        if asynchronous:
            fn.configure_async_invoke(
                on_failure=destinations.SqsDestination(self.delivery_dlq),
                retry_attempts=ASYNC_RETRY_ATTEMPTS,
                max_event_age=cdk.Duration.hours(ASYNC_MAX_EVENT_AGE_HOURS),
            )
        return fn

    def _code(self, scope: Construct, workflow: str) -> lambda_.Code:
        """The workflow's own asset (its requirements) or the shared one, one Code per stack (a nested
        stack has its own)."""
        staged = self.source.workflow_assets.get(workflow)
        folder, asset_hash = (staged.path, staged.hash) if staged else (self.source.code_dir, self.source.asset_hash)
        key = (cdk.Stack.of(scope).node.path, folder)
        if key not in self._codes:
            self._codes[key] = _asset_code(folder, asset_hash)
        return self._codes[key]

    def log_group(self, scope: Construct, id: str, *, name: str | None = None) -> logs.LogGroup:
        """A log group with the stack's retention and log key; deleted with the stack."""
        return logs.LogGroup(
            scope,
            id,
            log_group_name=name,
            retention=self.log_retention,
            encryption_key=self.log_key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def event_target(
        self, fn: lambda_.IFunction, *, event: events.RuleTargetInput | None = None
    ) -> targets.LambdaFunction:
        """An EventBridge rule target invoking `fn`, retried for a day, then dead-lettered."""
        return targets.LambdaFunction(
            fn,
            event=event,
            dead_letter_queue=self.delivery_dlq,
            retry_attempts=EVENT_RETRY_ATTEMPTS,
            max_event_age=cdk.Duration.hours(EVENT_MAX_AGE_HOURS),
        )

    def add_recorder(
        self,
        *,
        workflows: Sequence[str],
        state_machine_prefix: str,
        alert_topic_arn: str,
        pools: Mapping[str, Sequence[str]] | None = None,
        lineage: Mapping[str, str] | None = None,
        upstreams: Sequence[str] = (),
    ) -> lambda_.Function:
        """The recorder and the rule feeding it every status change of the state machines named
        `state_machine_prefix...` (a prefix: the rule does not grow with the workflows; the recorder
        ignores the machines it does not know).

        `workflows` names the workflows (their state machines: `<state_machine_prefix><workflow>`);
        `pools` maps each workflow using pools to their names (the recorder frees the slots of runs
        that end); `upstreams` the workflows an on_workflow trigger listens to (the recorder
        publishes their runs' ends)."""
        fn = self.function(
            self,
            "Recorder",
            runs=RECORDER,
            description="Keeps the run ledger right on execution status changes; alerts on failures",
            asynchronous=True,
            environment={
                Env.ALERT_TOPIC_ARN: alert_topic_arn,
                Env.STATE_MACHINE_PREFIX: state_machine_prefix,
                Env.WORKFLOWS: ",".join(sorted(workflows)),
                **({Env.POOLS: json.dumps(dict(pools), sort_keys=True, separators=(",", ":"))} if pools else {}),
                **(lineage or {}),  # where it sends OpenLineage events (infra/settings.py)
                **({Env.UPSTREAMS: json.dumps(sorted(upstreams), separators=(",", ":"))} if upstreams else {}),
            },
        )
        if upstreams:  # its own events only, on the default bus
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["events:PutEvents"],
                    resources=[
                        cdk.Stack.of(self).format_arn(service="events", resource="event-bus", resource_name="default")
                    ],
                    conditions={"StringEquals": {"events:source": RUN_EVENT_SOURCE}},
                )
            )
        if workflows:
            stack = cdk.Stack.of(self)
            arn = stack.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=state_machine_prefix,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            events.Rule(
                self,
                "ExecutionStatusRule",
                description="Step Functions execution status changes of this stack's workflows -> recorder",
                event_pattern=events.EventPattern(
                    source=[STATUS_CHANGE_SOURCE],
                    detail_type=[STATUS_CHANGE_DETAIL_TYPE],
                    detail={StatusChangeDetail.key("stateMachineArn"): events.Match.prefix(arn)},
                ),
                targets=[self.event_target(fn)],
            )
        return fn
