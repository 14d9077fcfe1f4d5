"""Notifications (`orchestration.notifications`) on AWS.

Each workflow declaring `notify` gets its own notifier function (`runtime.notifier`; it loads the
workflow file, as the trigger function does), fed by an EventBridge rule with the status changes of
that workflow's state machine, and allowed exactly what its declarations need: its runs' ledger
items, the Secrets Manager secrets they name, the notification topic when it mails, one-time
timers when it has an `on_duration_over`. Email goes through one SNS topic per stack (encrypted
with the alert topic's key), one subscription per address, filtered on the message attributes
`workflow` and `kind` so that each address receives only its workflows' kinds. The template holds
the addresses and the secrets' names, never a webhook URL or a secret's value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.functions import PlatformFunctions
from infra.constructs.ledger import Ledger
from infra.constructs.timers import Timers
from infra.constructs.workflow import WorkflowDeployment
from orchestration.notifications import Email, earliest_duration, email_routes, secret_names
from orchestration.protocol import STATUS_CHANGE_DETAIL_TYPE, STATUS_CHANGE_SOURCE, StatusChangeDetail
from orchestration.runtime.registry import NOTIFIER, Env
from orchestration.status import TERMINAL_EXECUTION, ExecutionStatus

NOTIFIER_TIMEOUT_SECONDS = 120  # a few destinations, each tried 3 times with a 5 s timeout


def _cid(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def filter_policy(by_workflow: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """An address's subscription filter: the kinds it is told of, per workflow."""
    clauses = [{"workflow": [w], "kind": list(kinds)} for w, kinds in sorted(by_workflow.items())]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


class Notifications(Construct):
    """The notification topic (when an Email destination exists) and a notifier per notifying workflow."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        functions: PlatformFunctions,
        ledger: Ledger,
        key: kms.IKey,
        timers: Callable[[], Timers],
        workflows: Mapping[str, WorkflowDeployment],
        files: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        notifying = {name: dep for name, dep in sorted(workflows.items()) if dep.workflow.notify}
        routes = email_routes({name: dep.workflow.notify for name, dep in notifying.items()})
        self.topic: sns.Topic | None = None
        if routes:
            self.topic = sns.Topic(
                self, "Topic", display_name="Workflow run notifications", enforce_ssl=True, master_key=key
            )
            for address, by_workflow in routes.items():  # ids from the address: reordering keeps them
                sns.CfnSubscription(
                    self,
                    f"Email_{hashlib.sha256(address.encode()).hexdigest()[:12]}",
                    topic_arn=self.topic.topic_arn,
                    protocol="email",
                    endpoint=address,
                    filter_policy_scope="MessageAttributes",
                    filter_policy=filter_policy(by_workflow),
                )
        self.functions: dict[str, lambda_.Function] = {}
        self.timers: Timers | None = None  # the stack's timers, when a notifier sets some
        for name, dep in notifying.items():
            self.functions[name] = self._notifier(name, dep, files[name], functions, ledger, timers)

    def _notifier(
        self,
        name: str,
        dep: WorkflowDeployment,
        file: str,
        functions: PlatformFunctions,
        ledger: Ledger,
        timers: Callable[[], Timers],
    ) -> lambda_.Function:
        notify = dep.workflow.notify
        mails = self.topic is not None and any(isinstance(d, Email) for n in notify for d in n.destinations)
        fn = functions.function(
            self,
            f"Notifier_{_cid(name)}",
            runs=NOTIFIER,
            description=f"Sends the notifications (notify=) of {name}'s runs",
            timeout_seconds=NOTIFIER_TIMEOUT_SECONDS,
            asynchronous=True,
            environment={
                Env.WORKFLOW_FILE: file,
                Env.WORKFLOW: name,
                **({Env.NOTIFY_TOPIC_ARN: self.topic.topic_arn} if mails and self.topic else {}),
            },
        )
        ledger.grant_notices(fn, name)
        if mails and self.topic is not None:
            self.topic.grant_publish(fn)
        secrets = secret_names(notify)
        if secrets:  # exactly the named secrets (Secrets Manager appends 6 characters to a secret's ARN)
            stack = cdk.Stack.of(self)
            arns = [
                stack.format_arn(
                    service="secretsmanager",
                    resource="secret",
                    resource_name=f"{secret}-??????",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
                for secret in secrets
            ]
            fn.add_to_role_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=arns))
        if earliest_duration(notify) is not None:  # a one-time timer per run, which invokes this function
            self.timers = timers()
            self.timers.setter(fn)
            self.timers.target(fn)
        statuses = [ExecutionStatus.RUNNING, *sorted(TERMINAL_EXECUTION)]
        events.Rule(
            self,
            f"Status_{_cid(name)}",
            description=f"{name}'s execution status changes -> its notifier",
            event_pattern=events.EventPattern(
                source=[STATUS_CHANGE_SOURCE],
                detail_type=[STATUS_CHANGE_DETAIL_TYPE],
                detail={
                    StatusChangeDetail.key("stateMachineArn"): [dep.state_machine.state_machine_arn],
                    StatusChangeDetail.key("status"): [str(s) for s in statuses],
                },
            ),
            targets=[functions.event_target(fn)],
        )
        return fn
