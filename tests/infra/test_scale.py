"""A stack at scale stays within CloudFormation's quotas: one synth (cdk-nag on) of a project with a
1,000-task workflow (split into a parent and parts: too many results for one state) and 200 small
workflows. Tasks of one configuration share a function, large definitions deploy from S3, workflows
past 30 go to nested stacks, and the recorder's rule matches a name prefix."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.deploy_scale import write_project
from infra.quotas import MAX_RESOURCES, MAX_TEMPLATE_BYTES, check_template
from orchestration.protocol import STATUS_CHANGE_SOURCE

pytestmark = pytest.mark.infra

WIDE_TASKS = 1_000
SMALL_WORKFLOWS = 200
STACK = "scale"
# the wide workflow's DefinitionSubstitutions, all its state machines: one per function and platform
# function per part (one per task before: about 85 bytes per task, 85 KB for these 1,000 tasks)
WIDE_SUBSTITUTION_BYTES = 4_000


SPLIT_MIX = """
from orchestration import Workflow

child = Workflow("mixchild")


@child.task
def one() -> int:
    return 1


wf = Workflow("splitmix")


def _noop() -> None:
    return None


for i in range(800):
    wf.task(name=f"t{i:04d}")(_noop)


@wf.task
def items() -> list[int]:
    return [1, 2]


@wf.task(for_each="items", mode="distributed")
def each(item: int) -> int:
    return item


wf.run_workflow("kid", workflow=child)
"""


@dataclass
class Scaled:
    stack: Any
    templates: dict[str, dict[str, Any]]  # file name -> template (the root and each nested stack)
    root: dict[str, Any]
    seconds: float
    assembly: Path


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Scaled:
    from infra.settings import Settings
    from infra.stack import build_app

    project = tmp_path_factory.mktemp("scale")
    write_project(project, WIDE_TASKS, SMALL_WORKFLOWS)
    (project / "workflows" / "splitmix.py").write_text(SPLIT_MIX)
    out = project / "cdk.out"
    t0 = time.perf_counter()
    app, stack = build_app(
        Settings(stack_name=STACK, workflows="workflows", nested_workflows=True), outdir=str(out), root=project
    )
    app.synth()  # cdk-nag: an unacknowledged finding raises here
    seconds = time.perf_counter() - t0
    templates = {p.name: json.loads(p.read_text()) for p in out.glob("*.template.json")}
    return Scaled(stack, templates, templates[f"{STACK}.template.json"], seconds, out)


def test_every_template_is_within_cloudformation_quotas(scaled: Scaled) -> None:
    assert len(scaled.templates) > 1  # nested stacks
    for name, template in scaled.templates.items():
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert len(json.dumps(template, separators=(",", ":")).encode()) < MAX_TEMPLATE_BYTES, name
        assert check_template(template) == [], name
    report = scaled.assembly / "validation-report.json"
    if report.exists():
        assert all(p["conclusion"] == "success" for p in json.loads(report.read_text())["pluginReports"])
    assert scaled.seconds < 240


def test_tasks_of_one_configuration_share_a_function(scaled: Scaled) -> None:
    wide = scaled.stack.workflows["wide"]
    assert len(wide.task_functions) == WIDE_TASKS and len(wide.functions) == 2
    big = {name for name, fn in wide.task_functions.items() if fn is wide.functions["t00000"]}
    assert big == {f"t{i:05d}" for i in range(0, WIDE_TASKS, 100)}
    (nested,) = [t for t in scaled.templates.values() if _has(t)]
    (machine,) = [
        r
        for r in nested["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and r["Properties"]["StateMachineName"] == f"{STACK}-wide"
    ]
    # the parent (small: it starts the parts) is inline and substitutes only its parts and Finalize;
    # each part is a state machine of its own, from S3, naming only the functions of its tasks
    assert not [k for k in machine["Properties"]["DefinitionSubstitutions"] if k.startswith("fn_t")]
    parts = {
        r["Properties"]["StateMachineName"]: r
        for r in nested["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
        and r["Properties"]["StateMachineName"].startswith(f"{STACK}-wide-part")
    }
    assert len(parts) == len(wide.parts) >= 2
    assert all("DefinitionS3Location" in part["Properties"] for part in parts.values())
    # one placeholder per configuration (not per task), substituted in each part naming it: the
    # substitutions do not grow with the tasks
    per_part = [part["Properties"]["DefinitionSubstitutions"] for part in parts.values()]
    assert all(len([k for k in subs if k.startswith("fn_t")]) <= 2 for subs in per_part)
    subs = {k: v for part_subs in per_part for k, v in part_subs.items()}
    assert {k for k in subs if k.startswith("fn_t")} == {"fn_t00000", "fn_t00001"}
    assert {v["Fn::GetAtt"][0] for k, v in subs.items() if k.startswith("fn_t")} == {
        nested_id(scaled, fn) for fn in wide.functions.values()
    }
    # the function several tasks share lists them in its metadata, once
    big = nested["Resources"][nested_id(scaled, wide.functions["t00000"])]
    assert big["Metadata"]["orch:tasks"] == sorted(f"t{i:05d}" for i in range(0, WIDE_TASKS, 100))
    machines = [machine, *parts.values()]
    sizes = [len(json.dumps(m["Properties"]["DefinitionSubstitutions"], separators=(",", ":"))) for m in machines]
    assert sum(sizes) < WIDE_SUBSTITUTION_BYTES


def nested_id(scaled: Scaled, fn: Any) -> str:
    """The logical id of a construct in its (nested) stack's template."""
    import aws_cdk as cdk

    return str(cdk.Stack.of(fn).get_logical_id(fn.node.default_child))


def _has(template: dict[str, Any], workflow: str = "wide") -> bool:
    return any(
        r["Type"] == "AWS::StepFunctions::StateMachine"
        and r["Properties"].get("StateMachineName") == f"{STACK}-{workflow}"
        for r in template.get("Resources", {}).values()
    )


def test_the_recorder_rule_does_not_grow_with_the_workflows(scaled: Scaled) -> None:
    (rule,) = [
        r
        for r in scaled.root["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["EventPattern"].get("source") == [STATUS_CHANGE_SOURCE]
    ]
    pattern = json.dumps(rule["Properties"]["EventPattern"])
    assert len(pattern) < 400 and '"prefix"' in pattern
    recorder = scaled.root["Resources"][rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]]
    env = recorder["Properties"]["Environment"]["Variables"]
    assert len(env["ORCH_WORKFLOWS"].split(",")) == SMALL_WORKFLOWS + 3  # wide, splitmix and mixchild


def test_a_split_workflows_parts_get_what_their_tasks_need(scaled: Scaled) -> None:
    import aws_cdk as cdk

    dep = scaled.stack.workflows["splitmix"]
    assert len(dep.parts) >= 2
    names = {p.node.default_child.state_machine_name: p for p in dep.parts}
    # the part holding the distributed for-each may run its own map runs; the parent holds none
    assert set(dep.map_machines) <= set(names) and len(dep.map_machines) == 1
    template = next(t for t in scaled.templates.values() if _has(t, "splitmix"))

    def policies_of(machine: Any) -> str:
        role = cdk.Stack.of(machine).get_logical_id(machine.role.node.default_child)
        return json.dumps(
            [
                r["Properties"]["PolicyDocument"]
                for r in template["Resources"].values()
                if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
            ]
        )

    (mapper,) = dep.map_machines.values()
    assert "s3:PutObject" in policies_of(mapper) and "list.json" in policies_of(mapper)
    starters = [p for p in dep.parts if "mixchild" in policies_of(p)]
    assert len(starters) == 1 and "states:StartExecution" in policies_of(starters[0])
    parent = policies_of(dep.state_machine)
    assert "lambda:InvokeFunction" in parent and "s3:PutObject" not in parent
