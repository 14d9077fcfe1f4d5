"""The code asset every function runs from: the two packages and the workflows folder.

The library ships without what only runs on a developer's machine (the CLI and the local runtime,
which imports moto): a handler cannot import them by accident.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import orchestration

CODE_PACKAGES = ("orchestration", "functions")
LOCAL_ONLY = (
    "orchestration/cli",
    "orchestration/local",
    "orchestration/deploy",
    "orchestration/scaffold",
    "orchestration/__main__.py",
)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def asset_folder(root: Path, folder: Path) -> str:
    """Where the workflows folder sits inside the asset (folders outside the project go to workflows/)."""
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return f"workflows/{folder.name}"


def asset_path(root: Path, file: Path) -> str:
    """Where a workflow file of the workflows folder sits inside the asset (ORCH_WORKFLOW_FILE)."""
    return f"{asset_folder(root, file.parent)}/{file.name}"


def stage_code(root: Path, workflows_folder: Path) -> Path:
    """A temporary directory with exactly what the functions need (removed when the process exits)."""
    stage = Path(tempfile.mkdtemp(prefix="orch-asset-"))
    atexit.register(shutil.rmtree, stage, True)
    installed = Path(orchestration.__file__).resolve().parent.parent  # the packages as installed, not the project
    for package in CODE_PACKAGES:
        shutil.copytree(installed / package, stage / package, ignore=_IGNORE)
    for name in LOCAL_ONLY:
        path = stage / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    dest = stage / asset_folder(root, workflows_folder)
    if not dest.exists():
        shutil.copytree(workflows_folder, dest, ignore=_IGNORE)
    return stage
