"""Sub-workflows on AWS: the child deployed with its parent, its ARN substituted, and the parent's role
allowed exactly what startExecution.sync:2 needs; discovery of children defined elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.discovery import discover
from infra.settings import InfraError
from orchestration.protocol import workflow_placeholder
from tests.infra.conftest import STACK, Synth, resources

pytestmark = pytest.mark.infra


def machine(synth: Synth, workflow: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in resources(synth.raw, "AWS::StepFunctions::StateMachine").values()
        if r["Properties"]["StateMachineName"] == f"{STACK}-{workflow}"
    ]
    return found


def arn(kind: str, service: str, resource: str) -> dict[str, Any]:
    """A same-account, same-region ARN as CDK's format_arn writes it."""
    parts = ["arn:", {"Ref": "AWS::Partition"}, f":{service}:", {"Ref": "AWS::Region"}, ":"]
    return {"Fn::Join": ["", [*parts, {"Ref": "AWS::AccountId"}, f"{kind}{resource}"]]}


def test_the_child_state_machine_arn_fills_the_parent_placeholder(synth: Synth) -> None:
    machine(synth, "publish")  # the child is deployed too
    subs = machine(synth, "nightly")["Properties"]["DefinitionSubstitutions"]
    assert subs[workflow_placeholder("publish")] == arn(":stateMachine:", "states", f"{STACK}-publish")


def test_the_parent_role_may_start_follow_and_stop_only_its_child(synth: Synth) -> None:
    role = machine(synth, "nightly")["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        st
        for pol in resources(synth.raw, "AWS::IAM::Policy").values()
        if {"Ref": role} in pol["Properties"]["Roles"]
        for st in pol["Properties"]["PolicyDocument"]["Statement"]
        if not st["Action"][0].startswith(("logs:", "xray:")) and st["Action"] != "lambda:InvokeFunction"
    ]
    assert statements == [
        {
            "Action": "states:StartExecution",
            "Effect": "Allow",
            "Resource": arn(":stateMachine:", "states", f"{STACK}-publish"),
        },
        {
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Effect": "Allow",
            "Resource": arn(":execution:", "states", f"{STACK}-publish:*"),
        },
        {
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Effect": "Allow",
            "Resource": arn(":rule/", "events", "StepFunctionsGetEventsForStepFunctionsExecutionRule"),
        },
    ]


def test_a_run_workflow_task_has_its_own_function_loading_the_parent(synth: Synth) -> None:
    (fn,) = [
        f
        for f in resources(synth.raw, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "functions.subflow.handler"
    ]
    env = fn["Properties"]["Environment"]["Variables"]
    assert (env["ORCH_WORKFLOW"], env["ORCH_WORKFLOW_FILE"]) == ("nightly", "examples/parent_child.py")
    assert "Principal" not in json.dumps(fn)


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CHILD = "from orchestration import Workflow\nchild = Workflow('child')\n@child.task\ndef a(): return 1\n"
PARENT = (
    "from orchestration import Workflow\n{imports}\n"
    "parent = Workflow('parent'{kind})\nparent.run_workflow('run', workflow={ref})\n"
)


def test_a_child_defined_in_another_module_is_deployed_through_its_parent_file(tmp_path: Path) -> None:
    write(tmp_path / "wf" / "lib", "children.py", CHILD)
    write(tmp_path / "wf", "parent.py", PARENT.format(imports="import lib.children as c", kind="", ref="c.child"))
    _, found = discover(tmp_path, "wf")
    assert [(d.workflow.name, d.file) for d in found] == [("child", "wf/parent.py"), ("parent", "wf/parent.py")]


def test_a_child_in_its_own_file_and_imported_by_its_parent_is_one_workflow(tmp_path: Path) -> None:
    write(tmp_path / "wf", "child.py", CHILD)
    write(tmp_path / "wf", "parent.py", PARENT.format(imports="from child import child", kind="", ref="child"))
    _, found = discover(tmp_path, "wf")
    assert [d.workflow.name for d in found] == ["child", "parent"]


def test_an_express_parent_cannot_wait_for_a_child(tmp_path: Path) -> None:
    write(tmp_path / "wf", "express_parent_child.py", CHILD)
    write(
        tmp_path / "wf",
        "parent.py",
        PARENT.format(imports="from express_parent_child import child", kind=", type='EXPRESS'", ref="child"),
    )
    with pytest.raises(InfraError) as info:
        discover(tmp_path, "wf")
    assert "workflow 'parent' is EXPRESS but its task(s) 'run' run another workflow" in str(info.value)
    assert "use type='STANDARD'" in str(info.value)


def test_an_express_child_is_refused(tmp_path: Path) -> None:
    # Each test imports its child module under its own name: Python caches a module by name.
    write(tmp_path / "wf", "fast_child.py", CHILD.replace("Workflow('child')", "Workflow('child', type='EXPRESS')"))
    write(tmp_path / "wf", "parent.py", PARENT.format(imports="from fast_child import child", kind="", ref="child"))
    with pytest.raises(InfraError, match="task 'run' of workflow 'parent' runs EXPRESS workflow 'child'"):
        discover(tmp_path, "wf")
