"""What a workflow's state machine needs for its Distributed Map for-each tasks, and nothing more
(AWS: "IAM policies for using Distributed Map states"):

- start, follow and stop the map runs' child executions: `states:StartExecution` on the state
  machine itself, `states:DescribeExecution` / `states:StopExecution` on its own executions
  `<state machine>/<map run>:<child>`;
- ItemReader: `s3:GetObject` on the lists the task runtime stores for them (`.../list.json`);
- ResultWriter: `s3:PutObject` (and its multipart clean-up) under the results prefixes the compiler
  writes (`.../results-r<pass>/...`), all within the workflow's own artifact prefix.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from infra.constructs.artifacts import Artifacts
from orchestration.artifacts import workflow_prefix

MAP_RUN_START_ACTIONS = ("states:StartExecution",)
MAP_RUN_EXECUTION_ACTIONS = ("states:DescribeExecution", "states:StopExecution")
ITEM_READER_ACTIONS = ("s3:GetObject",)
RESULT_WRITER_ACTIONS = ("s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
ITEM_LISTS = "*/list.json"  # under the workflow's prefix: runtime.foreach stores a Map's list there
RESULTS = "*/results-r*"  # compiler.foreach_states.results_prefix


def uses_distributed_map(definition: str) -> bool:
    """Does the (compact JSON) definition hold a Distributed Map?"""
    return '"Mode":"DISTRIBUTED"' in definition


def grant_map_runs(
    machine: sfn.StateMachine, *, own_arn: str, executions_arn: str, artifacts: Artifacts, workflow: str
) -> None:
    prefix = workflow_prefix(workflow)
    for actions, resources in (
        (MAP_RUN_START_ACTIONS, [own_arn]),
        (MAP_RUN_EXECUTION_ACTIONS, [executions_arn]),
        (ITEM_READER_ACTIONS, [artifacts.bucket.arn_for_objects(prefix + ITEM_LISTS)]),
        (RESULT_WRITER_ACTIONS, [artifacts.bucket.arn_for_objects(prefix + RESULTS)]),
    ):
        machine.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
