"""The code assets the functions run from: the `orchestration` and `functions` packages as installed,
the workflows folder, and the task dependencies bundled for Lambda.

The library ships without what only runs on a developer's machine (the CLI and the local runtime,
which imports moto): a handler cannot import them by accident. Each asset is staged once into the
cache (`<cache>/assets/<content hash>`) and handed to CDK with that hash, so a warm synth neither
copies nor re-hashes the dependencies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import orchestration
from infra.settings import InfraError
from orchestration.dependencies import (
    Installed,
    Target,
    cache_dir,
    install,
    read_requirements,
    workflow_requirements,
)

CODE_PACKAGES = ("orchestration", "functions")
LOCAL_ONLY = (
    "orchestration/cli",
    "orchestration/local",
    "orchestration/deploy",
    "orchestration/scaffold",
    "orchestration/__main__.py",
)
UNUSED_DAYS = 14  # staged assets not used by a synth for this long are removed from the cache


def _ignored(name: str) -> bool:
    return name == "__pycache__" or name.endswith(".pyc") or name.startswith(".")


@dataclass(frozen=True)
class Staged:
    """A staged code asset: its folder and the content hash CDK uses for it."""

    path: Path
    hash: str


@dataclass(frozen=True)
class CodeAssets:
    """The asset every function runs from, and per workflow with its own requirements, its own."""

    shared: Staged
    by_workflow: dict[str, Staged]


def asset_folder(root: Path, folder: Path) -> str:
    """Where the workflows folder sits inside the asset (folders outside the project go to workflows/)."""
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return f"workflows/{folder.name}"


def asset_path(root: Path, file: Path) -> str:
    """Where a workflow file of the workflows folder sits inside the asset (ORCH_WORKFLOW_FILE)."""
    return f"{asset_folder(root, file.parent)}/{file.name}"


def library_packages() -> dict[str, Path]:
    """The installed `orchestration` package and the `functions` package beside it."""
    library = Path(orchestration.__file__).resolve().parent
    functions = library.parent / "functions"
    if not (functions / "__init__.py").is_file():
        raise InfraError(
            f"the 'functions' package (the Lambda entry points) is not beside {library}: reinstall the "
            "orchestration package (pip install --force-reinstall orchestration)"
        )
    return {"orchestration": library, "functions": functions}


def _walk(folder: Path, *, recurse: bool = True) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if _ignored(path.name):
            continue
        if path.is_dir() and recurse:
            yield from _walk(path)
        elif path.is_file():
            yield path


def source_files(root: Path, workflows_folder: Path) -> dict[str, Path]:
    """Asset-relative path -> source file, for the library packages and the workflows folder."""
    files: dict[str, Path] = {}
    for name, folder in library_packages().items():
        for path in _walk(folder):
            rel = f"{name}/{path.relative_to(folder).as_posix()}"
            if not any(rel == skip or rel.startswith(skip + "/") for skip in LOCAL_ONLY):
                files[rel] = path
    dest = asset_folder(root, workflows_folder)
    # Workflows at the project root: its files only, not its folders (cdk.out, node_modules, ...).
    for path in _walk(workflows_folder, recurse=dest != "."):
        files.setdefault(f"{dest}/{path.relative_to(workflows_folder).as_posix()}", path)
    return files


def stage_code(
    root: Path, workflows_folder: Path, deps: Installed | None = None, *, cache: Path | None = None
) -> Staged:
    """The asset folder with the library, the workflows and `deps`, staged once per content hash."""
    files = source_files(root, workflows_folder)
    digest = hashlib.sha256(f"deps:{deps.key if deps else ''}\n".encode())
    for rel, path in sorted(files.items()):
        body = path.read_bytes()
        digest.update(f"{rel}\n{len(body)}\n".encode() + body)
    key = digest.hexdigest()[:32]
    assets = (cache or cache_dir()) / "assets"
    home = assets / key
    if not home.is_dir():
        assets.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=assets))
        try:
            if deps is not None:
                shutil.copytree(deps.path, work, dirs_exist_ok=True)
            for rel, path in files.items():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, work / rel)
            try:
                work.rename(home)
            except OSError:
                if not home.is_dir():  # not another process finishing first
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    os.utime(home)
    _prune(assets)
    return Staged(home, key)


def _prune(assets: Path) -> None:
    cutoff = time.time() - UNUSED_DAYS * 86_400
    for old in assets.iterdir():
        if not old.name.startswith(".") and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)


def stage_assets(
    root: Path,
    workflows_folder: Path,
    workflows: Mapping[str, Path],
    *,
    requirements: Path,
    target: Target,
    cache: Path | None = None,
) -> CodeAssets:
    """The shared asset (with the project's `requirements`, if that file exists) and one asset per
    workflow file that has its own `<stem>.requirements.txt` (the project's requirements plus its own),
    for the workflows named in `workflows` (name -> source file)."""
    project = read_requirements(requirements) if requirements.is_file() else []

    def bundled(extra: list[str], source: str) -> Installed | None:
        wanted = [*project, *extra]
        return install(wanted, target, cache=cache, source=source) if wanted else None

    shared = stage_code(root, workflows_folder, bundled([], str(requirements)), cache=cache)
    by_file: dict[Path, Staged] = {}
    by_workflow: dict[str, Staged] = {}
    for name, source in sorted(workflows.items()):
        own = workflow_requirements(source)
        if own is None:
            continue
        if source not in by_file:
            deps = bundled(read_requirements(own), f"{requirements} + {own}")
            by_file[source] = stage_code(root, workflows_folder, deps, cache=cache)
        by_workflow[name] = by_file[source]
    return CodeAssets(shared, by_workflow)
