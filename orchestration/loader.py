"""Load workflows from a Python file or module (pure: imports user code, no AWS)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

from orchestration.errors import WorkflowLoadError, exception_text
from orchestration.model import Workflow
from orchestration.runtime.registry import Env


def load_file(path: str | Path) -> dict[str, Workflow]:
    """Import a Python file and return the workflows it defines at module level, and the workflows
    those run (`run_workflow`), by name."""
    file = Path(path)
    if not file.is_file():
        raise WorkflowLoadError(f"workflow file {str(path)!r} does not exist: pass the path of a .py file")
    if file.suffix != ".py":
        raise WorkflowLoadError(f"workflow file {str(path)!r} is not a Python file: pass a .py file")
    resolved = file.resolve()
    module_name = "orch_user_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        if not os.environ.get(Env.TASK_ROOT):  # inside Lambda the code asset holds them
            from orchestration.dependencies import activate_for  # pip and the wheel cache: not on Lambda

            activate_for(resolved)  # the project's task dependencies, for local runs and synth
        spec = importlib.util.spec_from_file_location(module_name, resolved)
        if spec is None or spec.loader is None:  # pragma: no cover - is_file() checked above
            raise WorkflowLoadError(f"cannot import {str(path)!r}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        parent = str(resolved.parent)
        added = parent not in sys.path
        if added:
            sys.path.insert(0, parent)
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # an exit or interrupt while importing is a broken file too
            del sys.modules[module_name]
            raise WorkflowLoadError(_import_failure(str(path), resolved, exc)) from exc
        finally:
            if added:
                sys.path.remove(parent)
    found: dict[str, Workflow] = {}
    for value in vars(module).values():
        if isinstance(value, Workflow):
            _add(found, value, path)
    # The workflows they run, wherever those are defined: a child's functions load it from here too.
    todo = list(found.values())
    while todo:
        for task in todo.pop().tasks.values():
            if task.subflow is not None and task.subflow.workflow is not found.get(task.subflow.workflow.name):
                _add(found, task.subflow.workflow, path)
                todo.append(task.subflow.workflow)
    if not found:
        raise WorkflowLoadError(
            f"{str(path)!r} defines no workflow: create one at module level, e.g. wf = Workflow('my_flow')"
        )
    return found


def _add(found: dict[str, Workflow], wf: Workflow, path: str | Path) -> None:
    """Add a workflow; two different workflows with one name would deploy as one state machine."""
    other = found.setdefault(wf.name, wf)
    if other is not wf:
        raise WorkflowLoadError(
            f"{str(path)!r} defines two different workflows named {wf.name!r}: "
            "give each workflow a unique name (Workflow('a') and Workflow('b'))"
        )


def _import_failure(path: str, file: Path, exc: BaseException) -> str:
    from orchestration.dependencies import missing_module_hint

    hint = missing_module_hint(exc, file) if isinstance(exc, ModuleNotFoundError) else ""
    kind = type(exc).__name__
    what = f"{kind}: {exception_text(exc)}"
    if isinstance(exc, SystemExit | KeyboardInterrupt | GeneratorExit) or not isinstance(exc, Exception):
        what = f"{kind} ({exception_text(exc) or 'no message'}): a workflow file must not exit or be interrupted "
        what += "while imported; move that code under `if __name__ == '__main__':`"
    return f"importing {path!r} failed at line {_user_line(exc, file)}: {what}{hint}"


def _user_line(exc: BaseException, file: Path) -> int | None:
    """The line of the user's file where an import failed (not a line inside importlib)."""
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return exc.lineno
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if Path(f.filename) == file]
    return (own or frames)[-1].lineno if frames else None


def select(workflows: dict[str, Workflow], name: str | None, source: str = "the file") -> Workflow:
    """Pick a workflow by name; the name may be omitted when exactly one is not run by another."""
    if name is None:
        if len(workflows) == 1:
            return next(iter(workflows.values()))
        run = {t.subflow.workflow.name for wf in workflows.values() for t in wf.tasks.values() if t.subflow}
        tops = [wf for wf in workflows.values() if wf.name not in run]  # the workflows no other one runs
        if len(tops) == 1:
            return tops[0]
        names = ", ".join(sorted(workflows))
        raise WorkflowLoadError(f"{source} defines several workflows ({names}): choose one with --workflow NAME")
    if name not in workflows:
        names = ", ".join(sorted(workflows))
        raise WorkflowLoadError(f"no workflow named {name!r} in {source} (it defines: {names})")
    return workflows[name]


def load_workflow(path: str | Path, name: str | None = None) -> Workflow:
    return select(load_file(path), name, source=repr(str(path)))


def load_path(path: str | Path) -> dict[str, Workflow]:
    """The workflows of a .py file, or of a project folder: the `workflows` setting of its cdk.json
    (a folder or a .py file), else the folder itself; in a folder every *.py not starting with `_`
    (files defining no workflow are helpers). A workflow reached both from its own file and through
    another's `run_workflow` is kept as the other one runs it (one object per name)."""
    target = Path(path)
    if not target.is_dir():
        return load_file(target)
    setting = _project_setting(target)
    if setting is not None:
        if not (target / setting).exists():
            raise WorkflowLoadError(
                f"{str(target / 'cdk.json')!r} names workflows={setting!r}, which does not exist: "
                "fix its context setting `workflows` (a folder or a .py file)"
            )
        return load_path(target / setting)
    found: dict[str, list[Workflow]] = {}
    for file in sorted(p for p in target.glob("*.py") if not p.name.startswith("_")):
        try:
            loaded = load_file(file)
        except WorkflowLoadError as exc:
            if "defines no workflow" in str(exc):
                continue
            raise
        for wf in loaded.values():
            if all(other is not wf for other in found.setdefault(wf.name, [])):
                found[wf.name].append(wf)
    if not found:
        raise WorkflowLoadError(
            f"{str(path)!r} holds no workflow file: pass a .py file or a folder of them (or a project with cdk.json)"
        )
    run = {id(t.subflow.workflow) for wfs in found.values() for wf in wfs for t in wf.tasks.values() if t.subflow}
    out: dict[str, Workflow] = {}
    for name, candidates in found.items():
        if len({_task_files(wf) for wf in candidates}) > 1:
            raise WorkflowLoadError(f"{str(path)!r} defines two different workflows named {name!r}: rename one")
        out[name] = next((wf for wf in candidates if id(wf) in run), candidates[0])
    return out


def _project_setting(folder: Path) -> str | None:
    """The `workflows` context setting of the folder's cdk.json, if it has one."""
    import json

    config = folder / "cdk.json"
    if not config.is_file():
        return None
    try:
        setting = json.loads(config.read_text(encoding="utf-8")).get("context", {}).get("workflows", "workflows")
    except (ValueError, OSError, AttributeError) as exc:
        raise WorkflowLoadError(f"{str(config)!r} cannot be read as a cdk.json ({exc}): fix it") from None
    return str(setting)


def _task_files(wf: Workflow) -> frozenset[str | None]:
    """The files defining a workflow's tasks: one workflow imported twice has the same ones."""
    import inspect

    def file(fn: object) -> str | None:
        try:
            return inspect.getsourcefile(fn)  # type: ignore[arg-type]
        except TypeError:
            return None

    return frozenset(file(t.fn) for t in wf.tasks.values())
