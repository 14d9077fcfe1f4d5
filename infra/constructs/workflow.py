"""One workflow on AWS: a Lambda function per task configuration (`orchestration.grouping`) and the
state machine running the compiled definition (placeholders filled by DefinitionSubstitutions); its
triggers are in `triggers.py`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.artifacts import Artifacts
from infra.constructs.distributed import grant_map_runs, uses_distributed_map
from infra.constructs.functions import PlatformFunctions
from infra.constructs.ledger import Ledger
from infra.constructs.triggers import WorkflowTriggers
from infra.discovery import Discovered
from orchestration.artifacts import workflow_prefix
from orchestration.compiler import part_machine_name, part_placeholder, placeholders
from orchestration.grouping import function_groups
from orchestration.model import Workflow
from orchestration.permissions import PSEUDO_RE, Statement
from orchestration.pools import POOL_FUNCTION
from orchestration.protocol import (
    FINALIZE_FUNCTION,
    JOIN_FUNCTION,
    TASK_TAG,
    TASKS_METADATA,
    WORKFLOW_TAG,
    function_placeholder,
    workflow_placeholder,
)
from orchestration.runtime.registry import SUBFLOW, TASK, Env
from orchestration.triggers import triggers_of

TASK_RESPONSE_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure")
# What startExecution.sync:2 needs (Step Functions docs, "IAM policies for Step Functions"): start the
# child, follow and stop its executions, and the managed rule through which it hears of their end.
CHILD_START_ACTIONS = ("states:StartExecution",)
CHILD_EXECUTION_ACTIONS = ("states:DescribeExecution", "states:StopExecution")
SYNC_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
INLINE_DEFINITION_BYTES = 16_384  # larger definitions deploy from S3 (DefinitionS3Location)


def state_machine_name(stack_name: str, workflow: str) -> str:
    return f"{stack_name}-{workflow}"


def sub_template(arn: str) -> str | None:
    """The `Fn::Sub` template of a declared resource holding `${AWS::...}` pseudo-parameters (any other
    `${`, such as an IAM policy variable, escaped); None for an ARN without them (used as written)."""
    return re.sub(r"\$\{(?!AWS::)", "${!", arn) if PSEUDO_RE.search(arn) else None


def resource_arn(arn: str) -> str:
    template = sub_template(arn)
    return arn if template is None else cdk.Fn.sub(template)


def policy_statement(statement: Statement) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=list(statement.actions),
        resources=[resource_arn(r) for r in statement.resources],
        conditions={k: dict(v) for k, v in statement.conditions.items()} if statement.conditions else None,
    )


def definition_body(scope: Construct, definition: str) -> sfn.DefinitionBody:
    """The definition in the template up to INLINE_DEFINITION_BYTES; a larger one as an S3 asset
    (DefinitionS3Location), so that large workflows leave the template far below its 1 MB."""
    if len(definition.encode()) <= INLINE_DEFINITION_BYTES:
        return sfn.DefinitionBody.from_string(definition)
    digest = hashlib.sha256(definition.encode()).hexdigest()[:32]
    folder = Path(cdk.Stage.of(scope).outdir) / "orch-definitions"  # type: ignore[union-attr]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.asl.json"
    path.write_text(definition, encoding="utf-8")
    return sfn.DefinitionBody.from_file(str(path))


def _description(wf: Workflow, group: list[str]) -> str:
    if len(group) == 1:
        task = wf.tasks[group[0]]
        return f"{wf.name}.{task.name}: {task.description}" if task.description else f"{wf.name}.{task.name}"
    more = f" and {len(group) - 3} more" if len(group) > 3 else ""
    return f"{wf.name}: {len(group)} tasks with one configuration ({', '.join(group[:3])}{more})"


def execution_logging(wf: Workflow, group: logs.ILogGroup) -> sfn.LogOptions:
    """Errors only, without execution data (parameters, outputs, causes), unless the workflow asks
    for every event with its data: Workflow(..., log_execution_data=True)."""
    if wf.log_execution_data:
        return sfn.LogOptions(destination=group, level=sfn.LogLevel.ALL, include_execution_data=True)
    return sfn.LogOptions(destination=group, level=sfn.LogLevel.ERROR, include_execution_data=False)


class WorkflowDeployment(Construct):
    """The task functions (each may use the ledger and the artifacts), the state machine named
    `state_machine_name`, its execution log group, and the workflow's triggers if it declares any.
    `children` names the state machine of each workflow its run_workflow tasks run; `upstreams` that
    of each workflow its on_workflow triggers listen to."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        item: Discovered,
        state_machine_name: str,
        functions: PlatformFunctions,
        ledger: Ledger,
        artifacts: Artifacts,
        triggers_enabled: bool = True,
        children: Mapping[str, str] | None = None,
        upstreams: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        wf = item.workflow
        self.workflow = wf
        self.name = state_machine_name
        env = {Env.WORKFLOW_FILE: item.file, Env.WORKFLOW: wf.name}
        self.task_functions: dict[str, lambda_.Function] = {}  # task -> its function (shared: grouping.py)
        self.functions: dict[str, lambda_.Function] = {}  # the first task of each group -> its function
        for group in function_groups(wf):
            task = wf.tasks[group[0]]
            fn = functions.function(
                self,
                f"Task_{group[0]}",  # a task's own function keeps the logical id it always had
                runs=SUBFLOW if task.subflow else TASK,
                description=_description(wf, group),
                memory_mb=task.resources.memory_mb,
                timeout_seconds=task.resources.timeout_seconds,
                ephemeral_storage_mb=task.resources.ephemeral_storage_mb,
                environment={**task.env, **env},
            )
            for permission in task.permissions:  # the tasks' own declarations (equal), on their own role only
                for statement in permission.statements:
                    fn.add_to_role_policy(policy_statement(statement))
            # its attempts only; a run_workflow task also records its child run (and reads its attempts)
            ledger.grant_attempt_writes(fn, wf.name, read=task.subflow is not None)
            if task.subflow is not None:
                ledger.grant_run_writes(fn, task.subflow.workflow.name)
            artifacts.grant_read_write_objects(fn, prefix=workflow_prefix(wf.name))
            cdk.Tags.of(fn).add(WORKFLOW_TAG, wf.name)
            if len(group) == 1:
                cdk.Tags.of(fn).add(TASK_TAG, group[0])
            else:  # the tasks its one substitution stands for (`operations.stack_template` reads them)
                cfn = fn.node.default_child
                assert isinstance(cfn, lambda_.CfnFunction)
                cfn.add_metadata(TASKS_METADATA, group)
            self.functions[group[0]] = fn
            self.task_functions.update(dict.fromkeys(group, fn))
        # one substitution per function (`grouping.function_placeholders`), not per task
        arns = {function_placeholder(first): fn.function_arn for first, fn in self.functions.items()}
        arns[JOIN_FUNCTION] = functions.join.function_arn
        arns[FINALIZE_FUNCTION] = functions.finalize.function_arn
        substitutions = placeholders(wf)  # what the definitions may name
        self.uses_pool = POOL_FUNCTION in substitutions
        if self.uses_pool:
            assert functions.pool is not None, "the stack adds the pool function before the workflows using it"
            arns[POOL_FUNCTION] = functions.pool.function_arn
        # A split workflow's parts: state machines named after its own, started by it like children.
        parts = {part_placeholder(k): part_machine_name(self.name, k) for k in range(1, len(item.parts) + 1)}
        children = {**(children or {}), **parts}
        self.children = {child: self._arn("stateMachine", machine) for child, machine in children.items()}
        self.child_machines = sorted(children.values())
        arns.update({workflow_placeholder(child): arn for child, arn in self.children.items() if child not in parts})
        arns.update({placeholder: self.children[placeholder] for placeholder in parts})
        self.map_machines: dict[str, sfn.StateMachine] = {}  # name -> a state machine holding a Distributed Map
        self.parts = [self._part(k, text, functions, arns, artifacts) for k, text in enumerate(item.parts, 1)]
        log_group = functions.log_group(self, "ExecutionLogs", name=f"/aws/vendedlogs/states/{self.name}")
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.name,
            definition_body=definition_body(self, item.definition),
            definition_substitutions={p: arns[p] for p in self._substituted(item, [*substitutions, *parts])},
            state_machine_type=sfn.StateMachineType.EXPRESS if wf.type == "EXPRESS" else sfn.StateMachineType.STANDARD,
            logs=execution_logging(wf, log_group),
            tracing_enabled=True,
        )
        cdk.Tags.of(self.state_machine).add(WORKFLOW_TAG, wf.name)
        self.uses_join = any("${" + JOIN_FUNCTION + "}" in text for text in (item.definition, *item.parts))
        # A split workflow's parent starts its parts and runs Finalize: the parts invoke the tasks.
        tasks = [] if item.parts else list(self.functions.values())
        joins = "${" + JOIN_FUNCTION + "}" in item.definition
        invoked = [*tasks, functions.finalize, *([functions.join] if joins else [])]
        invoked += [functions.pool] if functions.pool and self.uses_pool and not item.parts else []
        # Exactly the functions the definition names, unqualified (the ARNs the substitutions hold).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn for fn in invoked])
        )
        # Built from the known name, not referenced: the join function may then act on the state
        # machine that invokes it without a dependency cycle.
        self.arn_literal = self._arn("stateMachine", self.name)
        if children:
            self._allow_child_runs(children)
        for part, text in zip(self.parts, item.parts, strict=True):  # a part running run_workflow tasks
            started = {c: m for c, m in children.items() if "${" + workflow_placeholder(c) + "}" in text}
            if started:
                self._allow_child_runs(started, part)
        self.map_runs = self._arn("execution", f"{self.name}/*") if uses_distributed_map(item.definition) else None
        if self.map_runs is not None:  # Distributed Map for-each tasks: their child executions, lists, results
            self.map_machines[self.name] = self.state_machine
            grant_map_runs(
                self.state_machine,
                own_arn=self.arn_literal,
                executions_arn=self.map_runs,
                artifacts=artifacts,
                workflow=wf.name,
            )
        found = triggers_of(wf)
        # CDK leaves an id "Default" out of logical ids: the triggers keep those they had as children of this.
        self.triggers = (
            WorkflowTriggers(
                self,
                "Default",
                workflow=wf.name,
                triggers=found,
                state_machine=self.state_machine,
                environment={**env, Env.STATE_MACHINE_ARN: self.state_machine.state_machine_arn},
                functions=functions,
                ledger=ledger,
                enabled=triggers_enabled,
                upstreams={u: self._arn("stateMachine", machine) for u, machine in (upstreams or {}).items()},
            )
            if found
            else None
        )
        if self.triggers is not None and wf.max_concurrent_runs is not None:
            ledger.grant_concurrency_writes(self.triggers.function, wf.name)  # queue its runs, take slots

    def grant_task_response(self, grantee: iam.IGrantable) -> iam.Grant:
        """Complete this state machine's (and its parts') waiting tasks (what the join function does)."""
        parts = [self._arn("stateMachine", part_machine_name(self.name, k)) for k in range(1, len(self.parts) + 1)]
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(TASK_RESPONSE_ACTIONS), resource_arns=[self.arn_literal, *parts]
        )

    @staticmethod
    def _substituted(item: Discovered, names: list[str]) -> list[str]:
        """The placeholders a definition needs: all of them, or a split workflow's parent's own (it starts
        its parts and invokes Finalize: its parts hold the task placeholders)."""
        return [p for p in names if "${" + p + "}" in item.definition] if item.parts else names

    def _part(
        self, number: int, text: str, functions: PlatformFunctions, arns: Mapping[str, str], artifacts: Artifacts
    ) -> sfn.StateMachine:
        """Part `number` of a split workflow: its state machine, invoking only the functions it names."""
        name = part_machine_name(self.name, number)
        used = [p for p in arns if "${" + p + "}" in text]
        machine = sfn.StateMachine(
            self,
            f"Part{number}",
            state_machine_name=name,
            definition_body=definition_body(self, text),
            definition_substitutions={p: arns[p] for p in used},
            logs=execution_logging(
                self.workflow, functions.log_group(self, f"Part{number}Logs", name=f"/aws/vendedlogs/states/{name}")
            ),
            tracing_enabled=True,
        )
        cdk.Tags.of(machine).add(WORKFLOW_TAG, self.workflow.name)
        invoked = [arns[p] for p in used]  # one placeholder per function: each named once
        machine.add_to_role_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=invoked))
        if uses_distributed_map(text):
            self.map_machines[name] = machine
            own, executions = self._arn("stateMachine", name), self._arn("execution", f"{name}/*")
            grant_map_runs(
                machine, own_arn=own, executions_arn=executions, artifacts=artifacts, workflow=self.workflow.name
            )
        return machine

    def _arn(self, resource: str, name: str) -> str:
        return cdk.Stack.of(self).format_arn(
            service="states", resource=resource, resource_name=name, arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )

    def _allow_child_runs(self, children: Mapping[str, str], machine: sfn.StateMachine | None = None) -> None:
        """What startExecution.sync:2 of the child state machines needs, and nothing more (for the
        workflow's state machine, or one of its parts)."""
        executions = [self._arn("execution", f"{children[c]}:*") for c in sorted(children)]
        rule = cdk.Stack.of(self).format_arn(
            service="events", resource="rule", resource_name=SYNC_RULE, arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )
        for actions, resources in (
            (CHILD_START_ACTIONS, [self.children[c] for c in sorted(children)]),
            (CHILD_EXECUTION_ACTIONS, executions),
            (SYNC_RULE_ACTIONS, [rule]),
        ):
            (machine or self.state_machine).add_to_role_policy(
                iam.PolicyStatement(actions=list(actions), resources=resources)
            )
