"""A stack with `nestedWorkflows` deploys and runs offline: its workflows sit in nested stacks, each
in the one its name hashes to (adding a workflow moves none), and a run of a nested workflow is
recorded and found by the `--stack` operations as in a flat stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.deploy_scale import SMALL  # a two-task workflow a -> b
from orchestration.local.cfn_adapter import DeployedStack
from orchestration.operations.stack import StackRuns

pytestmark = [pytest.mark.infra, pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")]

STACK = "nest"


def _synth(root: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    """The assembly of a project of `names` with nestedWorkflows; workflow -> its nested stack's id."""
    from infra.settings import Settings
    from infra.stack import build_app

    (root / "workflows").mkdir(parents=True)
    for name in names:
        (root / "workflows" / f"{name}.py").write_text(SMALL.format(name=name))
    out = root / "cdk.out"
    app, stack = build_app(
        Settings(stack_name=STACK, workflows="workflows", nag=False, nested_workflows=True), root=root, outdir=str(out)
    )
    app.synth()
    placed = {name: nested.node.id for nested in stack.workflow_stacks for name in names if _holds(nested, name)}
    return out, placed


def _holds(nested: Any, workflow: str) -> bool:
    return nested.node.try_find_child(f"Wf_{workflow}") is not None


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return _synth(tmp_path_factory.mktemp("nest"), ["alpha", "beta", "gamma"])


@pytest.fixture(scope="module")
def deployed(assembly: tuple[Path, dict[str, str]]) -> Iterator[DeployedStack]:
    with DeployedStack(assembly[0], STACK) as stack:
        yield stack


def test_every_workflow_is_in_a_nested_stack_and_adding_one_moves_none(
    assembly: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    out, placed = assembly
    assert sorted(placed) == ["alpha", "beta", "gamma"]
    root = json.loads((out / f"{STACK}.template.json").read_text())
    machines = [r for r in root["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert [m["Properties"]["StateMachineName"] for m in machines] == [f"{STACK}--backfill"]  # the platform's
    _, grown = _synth(tmp_path, ["alpha", "beta", "delta", "gamma"])
    assert {name: grown[name] for name in placed} == placed


def test_a_nested_workflow_runs_and_the_stack_operations_find_it(deployed: DeployedStack) -> None:
    assert len(deployed.nested) >= 1
    execution = deployed.sfn.start_execution(
        stateMachineArn=deployed.state_machine_arn("beta"),
        name="nested-1",
        input=json.dumps({"params": {}, "logical_date": None}),
    )["executionArn"]
    assert deployed.wait(execution)["status"] == "SUCCEEDED"
    ops = StackRuns(STACK, session=deployed.session)
    assert sorted(ops.state_machines) == ["alpha", "beta", "gamma"]
    assert ops.state_machines["beta"] == deployed.state_machine_arn("beta")
    assert sorted(ops.task_functions("beta")) == ["a", "b"]
    run = ops.get_run("nested-1", "beta")
    assert run.status == "SUCCEEDED"
    assert {name: (t.status, t.output) for name, t in run.tasks.items()} == {
        "a": ("SUCCEEDED", 1),
        "b": ("SUCCEEDED", 2),
    }
