"""Isolation by workflow, proven on the synthesized policies (tests/infra/policy.py evaluates them):
a task's role reaches only its own workflow's artifacts and writes only its own workflow's attempt
items in the ledger; only the platform functions change a run; a state machine invokes only its own
functions; a trigger starts and records only its own workflow's runs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from tests.infra.conftest import Synth
from tests.infra.policy import ACCOUNT, REGION, Template

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return Template(synth.raw)


def _bucket(synth: Synth, template: Template) -> str:
    return template.name(synth.logical_id(synth.stack.platform.artifacts.bucket))


def _task_role(synth: Synth, workflow: str, task: str) -> str:
    fn = synth.stack.workflows[workflow].task_functions[task]
    assert fn.role is not None
    return synth.logical_id(fn.role)


def test_a_task_role_reaches_its_own_workflows_artifacts_only(synth: Synth, template: Template) -> None:
    bucket = _bucket(synth, template)
    role = _task_role(synth, "daily_etl", "extract")
    own = f"arn:aws:s3:::{bucket}/runs/daily_etl/r1/extract/attempt-1.json"
    other = f"arn:aws:s3:::{bucket}/runs/n_shape/r1/fetch_orders/attempt-1.json"
    assert template.allowed(role, "s3:GetObject", own) and template.allowed(role, "s3:PutObject", own)
    assert not template.allowed(role, "s3:GetObject", other)
    assert not template.allowed(role, "s3:PutObject", other)
    assert not template.allowed(role, "s3:GetObject", f"arn:aws:s3:::{bucket}/runs/daily_etl_copy/r1/x.json")
    assert not template.allowed(role, "s3:DeleteObject", own)
    assert not template.allowed(role, "s3:GetObject", "arn:aws:s3:::another-bucket/runs/daily_etl/r1/x.json")
    # and the other way round
    n_role = _task_role(synth, "n_shape", "fetch_orders")
    assert template.allowed(n_role, "s3:GetObject", other) and not template.allowed(n_role, "s3:GetObject", own)


def test_a_state_machine_invokes_only_its_own_functions(synth: Synth, template: Template) -> None:
    etl, n_shape = synth.stack.workflows["daily_etl"], synth.stack.workflows["n_shape"]
    role = synth.logical_id(etl.state_machine.role)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"
    own = arn.format(synth.logical_id(etl.task_functions["extract"]))
    other = arn.format(synth.logical_id(n_shape.task_functions["fetch_orders"]))
    assert template.allowed(role, "lambda:InvokeFunction", own)
    assert not template.allowed(role, "lambda:InvokeFunction", other)


def test_a_trigger_starts_only_its_own_workflow(synth: Synth, template: Template) -> None:
    dep = synth.stack.workflows["file_arrival"]
    assert dep.triggers is not None and dep.triggers.function.role is not None
    role = synth.logical_id(dep.triggers.function.role)
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}"
    assert template.allowed(role, "states:StartExecution", machine.format(dep.name))
    assert not template.allowed(role, "states:StartExecution", machine.format(synth.stack.workflows["daily_etl"].name))


def test_the_evaluator_denies_what_no_statement_allows_and_fails_closed_on_unknown_conditions() -> None:
    raw = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/a/*"},
                            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a/secret"},
                            {
                                "Effect": "Allow",
                                "Action": "dynamodb:GetItem",
                                "Resource": "*",
                                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["WF#a#*"]}},
                            },
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Resource": "*",
                                "Condition": {"NumericLessThan": {"aws:x": "3"}},
                            },
                        ]
                    },
                },
            },
        }
    }
    t = Template(raw)
    assert t.allowed("Role", "s3:GetObject", "arn:aws:s3:::b/a/x")
    assert not t.allowed("Role", "s3:GetObject", "arn:aws:s3:::b/a/secret")
    assert not t.allowed("Role", "s3:PutObject", "arn:aws:s3:::b/a/x")
    assert t.allowed("Role", "dynamodb:GetItem", "t", {"dynamodb:LeadingKeys": ["WF#a#r1"]})
    assert not t.allowed("Role", "dynamodb:GetItem", "t", {"dynamodb:LeadingKeys": ["WF#b#r1"]})
    assert not t.allowed("Role", "sqs:SendMessage", "q", {"aws:x": ["1"]})
    assert cdk.Aws.ACCOUNT_ID  # the evaluator's pseudo parameters stand for these


def _platform_role(synth: Synth, fn: Any) -> str:
    assert fn.role is not None
    return synth.logical_id(fn.role)


def _ledger(synth: Synth, template: Template) -> str:
    table = synth.logical_id(synth.stack.platform.ledger.table)
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{template.name(table)}"


def _keys(pk: str) -> dict[str, list[str]]:
    return {"dynamodb:LeadingKeys": [pk]}


WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem")


def test_a_task_role_writes_only_its_own_workflows_attempts(synth: Synth, template: Template) -> None:
    table, role = _ledger(synth, template), _task_role(synth, "daily_etl", "extract")
    own = _keys("WF#daily_etl#ATTEMPT#r1")
    assert template.allowed(role, "dynamodb:PutItem", table, own)
    # another workflow's attempts, a workflow whose name starts the same, the old layout: denied
    for pk in ("WF#n_shape#ATTEMPT#r1", "WF#daily_etl_copy#ATTEMPT#r1", "RUN#r1"):
        assert not template.allowed(role, "dynamodb:PutItem", table, _keys(pk)), pk
    # its own run's status, summaries, joins and alert claim live in the run partition: denied
    for action in (*WRITES, "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"):
        assert not template.allowed(role, action, table, _keys("WF#daily_etl#RUN#r1")), action
    # no update, batch write, read or delete even of its own attempts; no index
    for action in ("dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:DeleteItem"):
        assert not template.allowed(role, action, table, own), action
    assert not template.allowed(role, "dynamodb:Query", f"{table}/index/by_workflow", _keys("WF#daily_etl"))
    # a request naming two partitions must match the pattern for every one of them
    both = {"dynamodb:LeadingKeys": ["WF#daily_etl#ATTEMPT#r1", "WF#n_shape#ATTEMPT#r1"]}
    assert not template.allowed(role, "dynamodb:PutItem", table, both)


def test_a_run_workflow_task_records_its_child_run_and_nothing_else(synth: Synth, template: Template) -> None:
    table, role = _ledger(synth, template), _task_role(synth, "nightly", "publish_day")
    assert template.allowed(role, "dynamodb:Query", table, _keys("WF#nightly#ATTEMPT#r1"))
    assert template.allowed(role, "dynamodb:PutItem", table, _keys("WF#nightly#ATTEMPT#r1"))
    assert template.allowed(role, "dynamodb:PutItem", table, _keys("WF#publish#RUN#r1-publish_day-1"))
    assert template.allowed(role, "dynamodb:GetItem", table, _keys("WF#publish#RUN#r1-publish_day-1"))
    assert not template.allowed(role, "dynamodb:UpdateItem", table, _keys("WF#nightly#RUN#r1"))
    assert not template.allowed(role, "dynamodb:PutItem", table, _keys("WF#daily_etl#RUN#r1"))


def test_a_trigger_writes_only_its_own_workflows_runs(synth: Synth, template: Template) -> None:
    dep = synth.stack.workflows["file_arrival"]
    assert dep.triggers is not None
    table, role = _ledger(synth, template), _platform_role(synth, dep.triggers.function)
    for action in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"):
        assert template.allowed(role, action, table, _keys("WF#file_arrival#RUN#e-1")), action
        assert not template.allowed(role, action, table, _keys("WF#daily_etl#RUN#e-1")), action
        assert not template.allowed(role, action, table, _keys("WF#file_arrival#ATTEMPT#e-1")), action


def test_only_platform_functions_change_any_run(synth: Synth, template: Template) -> None:
    table = _ledger(synth, template)
    functions = synth.stack.platform.functions
    for fn in (functions.finalize, functions.join, synth.stack.recorder):
        role = _platform_role(synth, fn)
        for pk in ("WF#daily_etl#RUN#r1", "WF#n_shape#RUN#r9"):
            assert template.allowed(role, "dynamodb:UpdateItem", table, _keys(pk))
    task_roles = {
        _task_role(synth, name, task) for name, dep in synth.stack.workflows.items() for task in dep.task_functions
    }
    trigger_roles = {
        _platform_role(synth, dep.triggers.function)
        for dep in synth.stack.workflows.values()
        if dep.triggers is not None
    }
    for role in task_roles | trigger_roles:
        assert not template.allowed(role, "dynamodb:UpdateItem", table, _keys("WF#daily_etl#RUN#r1"))
        assert not template.allowed(role, "dynamodb:BatchWriteItem", table, _keys("WF#daily_etl#RUN#r1"))


SLOT_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def test_only_the_trigger_and_the_recorder_take_and_free_a_workflows_run_slots(
    synth: Synth, template: Template
) -> None:
    table, limited = _ledger(synth, template), synth.stack.workflows["cache_refresh"]
    assert limited.triggers is not None
    slots, queue = _keys("WF#cache_refresh#SLOTS"), _keys("WF#cache_refresh#QUEUE")
    trigger = _platform_role(synth, limited.triggers.function)
    recorder = _platform_role(synth, synth.stack.recorder)
    for role in (trigger, recorder):
        for action in (*SLOT_ACTIONS, "dynamodb:Query"):
            assert template.allowed(role, action, table, slots) and template.allowed(role, action, table, queue)
    # a trigger: not another workflow's slots
    assert not template.allowed(trigger, "dynamodb:UpdateItem", table, _keys("WF#file_arrival#SLOTS"))
    # no task role writes (or reads) any slots or queue item, its own workflow's included
    for name, dep in synth.stack.workflows.items():
        for task in dep.task_functions:
            role = _task_role(synth, name, task)
            for action in (*SLOT_ACTIONS, "dynamodb:GetItem", "dynamodb:Query"):
                for keys in (slots, queue, _keys(f"WF#{name}#SLOTS"), _keys(f"WF#{name}#QUEUE")):
                    assert not template.allowed(role, action, table, keys), (name, task, action)


def test_the_recorder_starts_queued_runs_of_limited_workflows_only(synth: Synth, template: Template) -> None:
    role = _platform_role(synth, synth.stack.recorder)
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}"
    assert template.allowed(role, "states:StartExecution", machine.format(synth.stack.workflows["cache_refresh"].name))
    assert not template.allowed(role, "states:StartExecution", machine.format(synth.stack.workflows["daily_etl"].name))


def test_only_the_pool_function_and_the_recorder_write_pool_items(synth: Synth, template: Template) -> None:
    table = _ledger(synth, template)
    pool, waiters = _keys("POOL#warehouse"), _keys("POOL#warehouse#WAIT")
    functions = synth.stack.platform.functions
    assert functions.pool is not None
    pool_role, recorder = _platform_role(synth, functions.pool), _platform_role(synth, synth.stack.recorder)
    for role in (pool_role, recorder):
        for action in ("dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"):
            assert template.allowed(role, action, table, pool) and template.allowed(role, action, table, waiters)
    # the pool function touches nothing but pools
    for pk in ("WF#warehouse_loads#RUN#r1", "WF#warehouse_loads#ATTEMPT#r1"):
        assert not template.allowed(pool_role, "dynamodb:UpdateItem", table, _keys(pk)), pk
    # task code (even of a pooled task) and triggers cannot take, free or queue for a slot
    roles = {_task_role(synth, name, t) for name, dep in synth.stack.workflows.items() for t in dep.task_functions}
    roles |= {_platform_role(synth, d.triggers.function) for d in synth.stack.workflows.values() if d.triggers}
    for role in roles:
        for action in (*WRITES, "dynamodb:DeleteItem"):
            assert not any(template.allowed(role, action, table, keys) for keys in (pool, waiters)), (role, action)


def test_only_pooled_workflows_reach_the_pool_function(synth: Synth, template: Template) -> None:
    pool = synth.stack.platform.functions.pool
    assert pool is not None
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{synth.logical_id(pool)}"
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}"
    pooled, plain = synth.stack.workflows["warehouse_loads"], synth.stack.workflows["daily_etl"]
    assert template.allowed(synth.logical_id(pooled.state_machine.role), "lambda:InvokeFunction", arn)
    assert not template.allowed(synth.logical_id(plain.state_machine.role), "lambda:InvokeFunction", arn)
    # the pool function and the recorder release waiting tasks of pooled workflows only
    for role in (_platform_role(synth, pool), _platform_role(synth, synth.stack.recorder)):
        assert template.allowed(role, "states:SendTaskSuccess", machine.format(pooled.name))
        assert not template.allowed(role, "states:SendTaskSuccess", machine.format(plain.name))


BATCH_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def test_a_batched_trigger_writes_only_its_own_workflows_batches(synth: Synth, template: Template) -> None:
    table, batched = _ledger(synth, template), synth.stack.workflows["file_batches"]
    assert batched.triggers is not None and batched.triggers.batched
    role = _platform_role(synth, batched.triggers.function)
    own = _keys("WF#file_batches#BATCH#csv_batch")
    for action in BATCH_ACTIONS:
        assert template.allowed(role, action, table, own), action
        for pk in ("WF#file_arrival#BATCH#csv_batch", "WF#file_batches_x#BATCH#csv_batch", "WF#daily_etl#BATCH#a"):
            assert not template.allowed(role, action, table, _keys(pk)), (action, pk)
    assert not template.allowed(role, "dynamodb:DeleteItem", table, _keys("WF#file_batches#RUN#b-1"))
    # a transaction naming its batch and another workflow's batch is refused as a whole
    both = {"dynamodb:LeadingKeys": ["WF#file_batches#BATCH#csv_batch", "WF#file_arrival#BATCH#csv_batch"]}
    assert not template.allowed(role, "dynamodb:PutItem", table, both)
    # an unbatched trigger and the task functions write no batch item, their own workflow's included
    plain = synth.stack.workflows["file_arrival"].triggers
    assert plain is not None and not plain.batched
    roles = {_platform_role(synth, plain.function)} | {
        _task_role(synth, name, t) for name, dep in synth.stack.workflows.items() for t in dep.task_functions
    }
    for other in roles:
        for action in BATCH_ACTIONS:
            assert not template.allowed(other, action, table, own), (other, action)
            assert not template.allowed(other, action, table, _keys("WF#file_arrival#BATCH#csv_arrived"))


def test_a_batched_trigger_sets_timers_that_invoke_it_and_nothing_else(synth: Synth, template: Template) -> None:
    batched = synth.stack.workflows["file_batches"].triggers
    plain = synth.stack.workflows["file_arrival"].triggers
    assert batched is not None and plain is not None
    timers = synth.stack.platform.timers
    group = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{timers.group.name}/"
    role = _platform_role(synth, batched.function)
    assert template.allowed(role, "scheduler:CreateSchedule", group + "orch-t-abc")
    assert template.allowed(role, "scheduler:DeleteSchedule", group + "orch-t-abc")
    assert not template.allowed(
        role, "scheduler:CreateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/x"
    )
    assert not template.allowed(role, "scheduler:UpdateSchedule", group + "orch-t-abc")
    assert not template.allowed(_platform_role(synth, plain.function), "scheduler:CreateSchedule", group + "x")
    invoker = synth.logical_id(timers.role)
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{{}}"
    assert template.allowed(invoker, "lambda:InvokeFunction", function.format(synth.logical_id(batched.function)))
    assert not template.allowed(invoker, "lambda:InvokeFunction", function.format(synth.logical_id(plain.function)))
