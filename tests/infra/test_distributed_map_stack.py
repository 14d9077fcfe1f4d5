"""Distributed Map for-each tasks on AWS: the state machine role may run its own map runs, read the
item lists and write the results of its own workflow, and nothing more."""

from __future__ import annotations

import pytest

from tests.infra.conftest import Synth
from tests.infra.policy import ACCOUNT, REGION, Template

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template(synth: Synth) -> Template:
    return Template(synth.raw)


def test_a_for_each_workflow_runs_only_its_own_map_runs(synth: Synth, template: Template) -> None:
    fanout, etl = synth.stack.workflows["file_fanout"], synth.stack.workflows["daily_etl"]
    assert fanout.map_runs is not None and etl.map_runs is None  # daily_etl has no for-each
    role = synth.logical_id(fanout.state_machine.role)
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{}}"
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{{}}"
    assert template.allowed(role, "states:StartExecution", machine.format(fanout.name))
    assert not template.allowed(role, "states:StartExecution", machine.format(etl.name))
    child = execution.format(f"{fanout.name}/a3f0c1:7c2e")  # <state machine>/<map run>:<child>
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert template.allowed(role, action, child)
        assert not template.allowed(role, action, execution.format(f"{etl.name}/a3f0c1:7c2e"))
        assert not template.allowed(role, action, execution.format(f"{fanout.name}:run-1"))  # its own runs
    etl_role = synth.logical_id(etl.state_machine.role)
    assert not template.allowed(etl_role, "states:DescribeExecution", execution.format(f"{etl.name}/m:c"))


def test_a_for_each_workflow_reads_its_item_lists_and_writes_its_results_only(synth: Synth, template: Template) -> None:
    fanout = synth.stack.workflows["file_fanout"]
    role = synth.logical_id(fanout.state_machine.role)
    bucket = template.name(synth.logical_id(synth.stack.platform.artifacts.bucket))
    run = f"arn:aws:s3:::{bucket}/runs/file_fanout/r1"
    items, results = f"{run}/list_files/attempt-0/list.json", f"{run}/process/results-r0/0c1e/SUCCEEDED_0.json"
    assert template.allowed(role, "s3:GetObject", items)
    assert not template.allowed(role, "s3:PutObject", items)
    for action in ("s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"):
        assert template.allowed(role, action, results)
    assert not template.allowed(role, "s3:GetObject", f"{run}/list_files/attempt-0.json")  # a task output
    assert not template.allowed(role, "s3:PutObject", f"{run}/list_files/attempt-0.json")
    other = f"arn:aws:s3:::{bucket}/runs/daily_etl/r1/extract/attempt-0/list.json"
    assert not template.allowed(role, "s3:GetObject", other)
    assert not template.allowed(role, "s3:DeleteObject", results)
