"""The run ledger: the DynamoDB table and indexes of `orchestration.ledger.table_spec`."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from orchestration.ledger import table_spec
from orchestration.ledger.keys import (
    attempt_pk_pattern,
    batch_pk_pattern,
    chain_pk,
    pool_pk_pattern,
    queue_pk,
    run_pk_pattern,
    slots_pk,
)

# Exactly the DynamoDB calls orchestration/ledger makes, on the table and its indexes.
LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
)
# The calls orchestration/ledger/slots.py makes (TransactWriteItems needs those of its writes).
CONCURRENCY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
)
# What orchestration/ledger/batches.py does (its transactions need the actions of their writes).
BATCH_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# What orchestration/ledger/pools.py does to pool items and waiters (the pool function, the recorder).
POOL_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query")


def _keys(key_schema: list[dict[str, Any]]) -> dict[str, dynamodb.Attribute]:
    return {
        k["KeyType"]: dynamodb.Attribute(name=k["AttributeName"], type=dynamodb.AttributeType.STRING)
        for k in key_schema
    }


class Ledger(Construct):
    """The table the platform functions record runs, tasks and attempts in."""

    def __init__(self, scope: Construct, id: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, id)
        spec = table_spec("unused")  # the name comes from CloudFormation
        key = _keys(spec["KeySchema"])
        # CDK leaves an id "Default" out of logical ids: the table keeps the one it had before this
        # construct (a new logical id would replace the table and lose the run history).
        self.table = dynamodb.Table(
            self,
            "Default",
            partition_key=key["HASH"],
            sort_key=key["RANGE"],
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=removal_policy,
        )
        self.index_names: list[str] = []
        for index in spec["GlobalSecondaryIndexes"]:
            ks = _keys(index["KeySchema"])
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=ks["HASH"],
                sort_key=ks.get("RANGE"),
                projection_type=dynamodb.ProjectionType.ALL,
            )
            self.index_names.append(index["IndexName"])

    @property
    def table_name(self) -> str:
        return self.table.table_name

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """The ledger's actions on the table and its named indexes (no `index/*`): for the platform
        functions that serve every workflow (join, finalize, recorder)."""
        arn = self.table.table_arn
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(LEDGER_ACTIONS),
            resource_arns=[arn, *(f"{arn}/index/{name}" for name in self.index_names)],
        )

    def grant_attempt_writes(self, grantee: iam.IGrantable, workflow: str, *, read: bool = False) -> iam.Grant:
        """Put (and with `read`, query) the task attempts of `workflow`'s runs, and nothing else:
        what a task's function needs. Not the run's status, its summaries, joins or alert claim."""
        actions = ["dynamodb:PutItem", *(["dynamodb:Query"] if read else [])]
        return self._grant_partitions(grantee, actions, attempt_pk_pattern(workflow))

    def grant_run_writes(self, grantee: iam.IGrantable, workflow: str) -> iam.Grant:
        """Create, read and move forward the run items of `workflow` (a trigger starting its runs;
        a run_workflow task recording its child run)."""
        actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        return self._grant_partitions(grantee, actions, run_pk_pattern(workflow))

    def grant_batch_writes(self, grantee: iam.IGrantable, workflow: str) -> iam.Grant:
        """Add files to, close and read the file batches of `workflow`'s batched triggers (`ledger.batches`):
        its trigger function only."""
        return self._grant_partitions(grantee, list(BATCH_ACTIONS), batch_pk_pattern(workflow))

    def grant_concurrency_writes(self, grantee: iam.IGrantable, workflow: str) -> iam.Grant:
        """Take and free `workflow`'s run slots and queue, dequeue its runs (`ledger.slots`): its trigger
        function and the recorder. A transaction needs each of its writes' own actions."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(CONCURRENCY_ACTIONS),
            resource_arns=[self.table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [slots_pk(workflow), queue_pk(workflow)]}
            },
        )

    def grant_notices(self, grantee: iam.IGrantable, workflow: str) -> None:
        """Read `workflow`'s runs (item, task summaries, attempts) and claim and record their notices
        (`ledger.notices`): a notifier function."""
        self._grant_partitions(
            grantee,
            ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            run_pk_pattern(workflow),
        )
        self._grant_partitions(grantee, ["dynamodb:Query"], attempt_pk_pattern(workflow))

    def grant_chain_writes(self, grantee: iam.IGrantable, workflow: str) -> iam.Grant:
        """Read and move `workflow`'s continuous chain item (`ledger.chain`): its trigger function."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:GetItem", "dynamodb:PutItem"],
            resource_arns=[self.table.table_arn],
            conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [chain_pk(workflow)]}},
        )

    def grant_pool_writes(self, grantee: iam.IGrantable) -> iam.Grant:
        """Take, free and queue for pool slots: the pool items and waiters only (`POOL#*`)."""
        return self._grant_partitions(grantee, list(POOL_ACTIONS), pool_pk_pattern())

    def _grant_partitions(self, grantee: iam.IGrantable, actions: list[str], pattern: str) -> iam.Grant:
        """`actions` on the table, only on items whose partition key matches `pattern`."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=actions,
            resource_arns=[self.table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [pattern]}},
        )
