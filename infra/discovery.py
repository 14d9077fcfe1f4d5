"""Find the project's workflows (the `workflows` setting) and check that each one can be deployed."""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.asset import asset_path
from infra.settings import InfraError
from orchestration.compiler import LAMBDA_CALLBACK, compile_machines, compile_workflow, to_json
from orchestration.errors import WorkflowLoadError
from orchestration.loader import load_file
from orchestration.model import Workflow
from orchestration.triggers import chain_problems
from orchestration.validation import problems, warnings

EXPRESS_MAX_SECONDS = 300
STATE_MACHINE_NAME_MAX = 80


@dataclass(frozen=True)
class Discovered:
    workflow: Workflow
    file: str  # path relative to the code asset root (ORCH_WORKFLOW_FILE)
    source: Path  # absolute path of the file
    definition: str  # to_json(compile_workflow(workflow)): the deployed definition, byte for byte
    parts: tuple[str, ...] = ()  # a split workflow's parts' definitions (`compiler.split`), part 1 first


def discover(root: Path, setting: str) -> tuple[Path, list[Discovered]]:
    """Load the workflows named by `setting` (a folder or a .py file, relative to `root`), with the
    workflows they run wherever those are defined (their functions load them through the same file).

    Returns the folder to ship in the code asset and the workflows sorted by name. Raises InfraError
    listing every problem (invalid workflows, duplicate names, Express limits, on_workflow triggers
    naming no workflow of the project or forming a cycle).
    """
    target = (root / setting).resolve() if not Path(setting).is_absolute() else Path(setting)
    if not target.exists():
        raise InfraError(
            f"workflows={setting!r}: {target} does not exist; pass a folder or .py file with "
            "-c workflows=PATH (relative to the project root)"
        )
    folder = target if target.is_dir() else target.parent
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_")) if target.is_dir() else [target]
    found: list[tuple[Workflow, Path]] = []
    errors: list[str] = []
    for file in files:
        try:
            workflows = load_file(file)
        except WorkflowLoadError as exc:
            if target.is_dir() and "defines no workflow" in str(exc):
                continue  # a helper module next to the workflows
            errors.append(str(exc))
            continue
        found.extend((wf, file) for wf in workflows.values())
    if not found and not errors:
        errors.append(f"workflows={setting!r}: no workflow found in {target}; define one at module level")
    seen: dict[str, tuple[Workflow, Path]] = {}
    out: list[Discovered] = []
    for wf, file in sorted(found, key=lambda x: x[0].name):
        if wf.name in seen:
            first, where = seen[wf.name]
            if not same_workflow(first, wf):
                errors.append(f"workflow name {wf.name!r} is defined in both {where} and {file}: rename one")
            continue
        seen[wf.name] = (wf, file)
        bad = problems(wf)
        if bad:
            errors.extend(f"{wf.name} ({file.name}): {p}" for p in bad)
            continue
        for warning in warnings(wf):  # allowed, but shown at every synth
            print(f"warning: {wf.name} ({file.name}): {warning}", file=sys.stderr)
        machines = compile_machines(wf)
        definition = to_json(machines.definition)
        errors.extend(deploy_problems(wf, definition))
        parts = tuple(to_json(p.definition) for p in machines.parts)
        out.append(Discovered(wf, asset_path(root, file), file, definition, parts))
    if not errors:  # on_workflow triggers name workflows of this stack, without a cycle
        errors.extend(chain_problems(d.workflow for d in out))
    if errors:
        raise InfraError("cannot build the stack:\n" + "\n".join(f"  - {e}" for e in errors))
    return folder, out


def same_workflow(a: Workflow, b: Workflow) -> bool:
    """One workflow seen twice: in its own file, and through a file whose workflow runs it (which
    imports its module again, so the objects differ): same definition, same task code files."""

    def files(wf: Workflow) -> set[str | None]:
        return {inspect.getsourcefile(t.fn) for t in wf.tasks.values()}

    return a is b or (to_json(compile_workflow(a)) == to_json(compile_workflow(b)) and files(a) == files(b))


def deploy_problems(wf: Workflow, definition: str) -> list[str]:
    """What Step Functions itself would refuse, said before a deploy fails half-way."""
    out: list[str] = [
        f"task {name!r} of workflow {wf.name!r} runs EXPRESS workflow {task.subflow.workflow.name!r}: a child "
        "must be STANDARD (its task follows and stops it through DescribeExecution and StopExecution, which "
        "Express executions do not support)"
        for name, task in sorted(wf.tasks.items())
        if task.subflow is not None and task.subflow.workflow.type == "EXPRESS"
    ]
    if wf.type == "EXPRESS":
        runs = sorted(name for name, task in wf.tasks.items() if task.subflow is not None)
        if runs:
            out.append(
                f"workflow {wf.name!r} is EXPRESS but its task(s) {', '.join(map(repr, runs))} run another workflow "
                "and wait for it (startExecution.sync:2), which Express workflows do not support: use "
                "type='STANDARD'"
            )
        if LAMBDA_CALLBACK in definition:
            out.append(
                f"workflow {wf.name!r} is EXPRESS but its DAG needs a join (a task waiting on tasks in other "
                "branches, compiled to a .waitForTaskToken callback), which Express workflows do not support: "
                "use type='STANDARD' or reshape the DAG so it is series-parallel"
            )
        if wf.timeout_seconds is not None and wf.timeout_seconds > EXPRESS_MAX_SECONDS:
            out.append(
                f"workflow {wf.name!r} is EXPRESS, which runs at most {EXPRESS_MAX_SECONDS} s, but has "
                f"timeout_seconds={wf.timeout_seconds}: lower it or use type='STANDARD'"
            )
    return out
