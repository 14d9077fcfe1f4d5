"""Task dependencies: the packages a project's tasks import, installed by pip without Docker.

Requirements come from the project's `requirements.txt` and, per workflow, from
`<workflow file stem>.requirements.txt` next to the workflow file. They are installed twice, each
time into a cache folder keyed by a hash of the requirements and the target:

- for Lambda (`lambda_target`): wheels only, for Linux (manylinux up to Amazon Linux 2023's glibc),
  the Lambda Python version and architecture; the CDK app copies them into the code asset;
- for this interpreter (`host_target`): appended to `sys.path` before a workflow file is imported
  (`activate_for`, called by the loader), so local runs and synth import what tasks need even when
  the virtualenv lacks it. The virtualenv's own packages win.

What the Lambda runtime and the Powertools layer provide is never installed (`PROVIDED`). pip runs as
`sys.executable -m pip`, so its configuration (pip.conf, PIP_INDEX_URL, ...) applies.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.errors import OrchestrationError
from orchestration.runtime.registry import Env

# Distributions (canonical names) that are never bundled: the Lambda Python runtime ships boto3 and
# its dependencies; the Powertools V3 layer ships Powertools and pydantic (with pydantic's own
# dependencies). A requirement that depends on them still installs: it uses the provided copy.
PROVIDED = frozenset(
    {
        # Lambda runtime
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
        # Powertools layer
        "aws-lambda-powertools",
        "typing-extensions",
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-inspection",
    }
)
NEVER_BUNDLED = PROVIDED | {"moto"}  # moto only runs on a developer's machine
LAMBDA_PYTHON = "3.13"
LAMBDA_GLIBC_MINOR = 34  # Amazon Linux 2023 (the python3.13 runtime) has glibc 2.34
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}  # Lambda's name -> the wheel tags' name
REQUIREMENTS = "requirements.txt"
WORKFLOW_REQUIREMENTS_SUFFIX = ".requirements.txt"
PROJECT_MARKERS = ("cdk.json", "pyproject.toml", ".git")  # the search for requirements.txt stops here
CACHE_ENV = "ORCH_CACHE_DIR"
LOCAL_DEPS_ENV = "ORCH_LOCAL_DEPS"  # "0": never install dependencies for local runs
_FORMAT = 1  # part of every cache key: bump it when the cached layout changes
_MANIFEST = "manifest.json"
_NETWORK_SIGNS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "SSLError",
)


class DependencyError(OrchestrationError):
    """Task dependencies could not be read or installed."""


@dataclass(frozen=True)
class Target:
    """Where installed packages will run: pip's flags for it, a description for messages, an identity
    for cache keys."""

    description: str
    identity: str
    pip_args: tuple[str, ...]
    binary_only: bool


def manylinux_platforms(machine: str) -> list[str]:
    """pip `--platform` values for glibc up to Lambda's, newest first: pip does not expand a
    `manylinux_2_X` tag to older glibc versions, so each one is listed (with the legacy aliases)."""
    oldest = 5 if machine == "x86_64" else 17
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags: list[str] = []
    for minor in range(LAMBDA_GLIBC_MINOR, oldest - 1, -1):
        tags.append(f"manylinux_2_{minor}_{machine}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{machine}")
    return tags


def lambda_target(architecture: str = "x86_64", python: str = LAMBDA_PYTHON) -> Target:
    """Lambda's Python runtime on `architecture` ("x86_64" or "arm64")."""
    if architecture not in ARCHITECTURES:
        raise DependencyError(f"architecture {architecture!r} is not a Lambda architecture: use x86_64 or arm64")
    machine = ARCHITECTURES[architecture]
    cp = "cp" + python.replace(".", "")
    args = [arg for tag in manylinux_platforms(machine) for arg in ("--platform", tag)]
    args += ["--only-binary=:all:", "--python-version", python, "--implementation", "cp", "--abi", cp]
    return Target(
        description=f"Lambda: Linux {machine} (manylinux, glibc <= 2.{LAMBDA_GLIBC_MINOR}), CPython {python}",
        identity=f"lambda-{cp}-{machine}-glibc2.{LAMBDA_GLIBC_MINOR}",
        pip_args=tuple(args),
        binary_only=True,
    )


def host_target() -> Target:
    """This interpreter (local runs and synth-time imports)."""
    version = "{}.{}".format(*sys.version_info[:2])
    platform = sysconfig.get_platform()
    return Target(
        description=f"this interpreter ({sys.implementation.name} {version} on {platform})",
        identity=f"host-{sys.implementation.cache_tag}-{platform}",
        pip_args=("--prefer-binary",),
        binary_only=False,
    )


# -- requirement files -------------------------------------------------------------------------------


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """The requirements a file lists: comments, blank lines and `\\` continuations removed, `-r FILE`
    followed (relative to the file). Other pip options are refused: they would change the install of
    every requirement (indexes belong in pip's configuration, e.g. PIP_INDEX_URL)."""
    resolved = path.resolve()
    if resolved in _seen:
        raise DependencyError(f"requirements file {path} includes itself through -r: remove the cycle")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DependencyError(f"cannot read requirements file {path}: {exc.strerror or exc}") from exc
    out: list[str] = []
    for number, line in _logical_lines(text):
        include = re.fullmatch(r"(?:-r|--requirement)(?:\s*=?\s*)(\S+)", line)
        if include:
            out.extend(read_requirements(path.parent / include.group(1), _seen | {resolved}))
        elif line.startswith("-"):
            raise DependencyError(
                f"{path}:{number}: {line!r}: only requirements (e.g. humanize==4.12.0) and -r FILE are "
                "supported here; set indexes in pip's configuration (pip.conf or PIP_INDEX_URL) and "
                "build local packages into wheels"
            )
        else:
            out.append(line)
    return out


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(line number, text) of each non-empty line, continuations joined, comments removed."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined = " ".join((pending + line).split())
        pending = ""
        if joined:
            yield start, joined
    if pending.strip():
        yield start, " ".join(pending.split())


def normalise(requirements: Iterable[str]) -> list[str]:
    """Requirements in a canonical order, whitespace collapsed, duplicates removed (the cache key's input)."""
    return sorted({" ".join(r.split()) for r in requirements if r.strip()})


def project_requirements(start: Path) -> Path | None:
    """The nearest `requirements.txt` in `start` or a parent folder, searching up to the project root
    (the first folder holding cdk.json, pyproject.toml or .git)."""
    for folder in (start, *start.parents):
        if (folder / REQUIREMENTS).is_file():
            return folder / REQUIREMENTS
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return None
    return None


def workflow_requirements(workflow_file: Path) -> Path | None:
    """`<stem>.requirements.txt` next to the workflow file, if there is one."""
    path = workflow_file.with_name(workflow_file.stem + WORKFLOW_REQUIREMENTS_SUFFIX)
    return path if path.is_file() else None


def gather(files: Iterable[Path | None]) -> tuple[list[str], list[Path]]:
    """The requirements of the given files (None and missing files skipped) and the files read."""
    read = [f for f in files if f is not None and f.is_file()]
    return normalise(r for f in read for r in read_requirements(f)), read


# -- installing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    """An installed requirement set: `path` goes on sys.path or into the code asset."""

    path: Path
    key: str
    packages: tuple[str, ...]  # name==version of what was installed
    skipped: tuple[str, ...]  # resolved but provided by the runtime or the layer (NEVER_BUNDLED)


def cache_dir() -> Path:
    """Root of the caches: $ORCH_CACHE_DIR, else $XDG_CACHE_HOME/orchestration or ~/.cache/orchestration."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "orchestration"


def cache_key(requirements: Iterable[str], target: Target) -> str:
    blob = json.dumps(
        {
            "format": _FORMAT,
            "requirements": normalise(requirements),
            "target": target.identity,
            "never_bundled": sorted(NEVER_BUNDLED),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def install(
    requirements: Sequence[str], target: Target, *, cache: Path | None = None, source: str = "the requirements"
) -> Installed:
    """Install `requirements` for `target` into the cache (or reuse the cached install: no pip then).

    A new install is built in a temporary folder and renamed into place, so an interrupted build is
    never reused and concurrent builds of the same key are safe. `source` names the files in messages.
    """
    key = cache_key(requirements, target)
    home = (cache or cache_dir()) / "deps" / key
    if not (home / _MANIFEST).is_file():
        try:
            home.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=home.parent))
        except OSError as exc:
            raise DependencyError(
                f"cannot create the dependency cache in {home.parent}: {exc.strerror or exc}; "
                f"set {CACHE_ENV} to a writable folder"
            ) from exc
        try:
            print(f"installing task dependencies ({source}) for {target.description} ...", file=sys.stderr)
            _build(normalise(requirements), target, work, source)
            try:
                work.rename(home)
            except OSError:
                if not (home / _MANIFEST).is_file():  # not another process finishing first
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    manifest = json.loads((home / _MANIFEST).read_text())
    return Installed(home / "site", key, tuple(manifest["packages"]), tuple(manifest["skipped"]))


def _build(requirements: list[str], target: Target, work: Path, source: str) -> None:
    """Resolve for the target, drop what is never bundled, install the rest without dependencies."""
    site, report, listed = work / "site", work / "report.json", work / REQUIREMENTS
    listed.write_text("\n".join(requirements) + "\n")
    common = ["--target", str(site), *target.pip_args]
    resolve = ["install", "--dry-run", "--ignore-installed", "--report", str(report), *common, "-r", str(listed)]
    _pip(resolve, target, source)
    keep, skipped = split_report(json.loads(report.read_text()))
    if keep:
        _pip(["install", "--no-deps", "--no-compile", *common, *keep.values()], target, source)
    site.mkdir(exist_ok=True)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: their shebangs name this machine's python
    (work / _MANIFEST).write_text(
        json.dumps(
            {"target": target.description, "requirements": requirements, "packages": sorted(keep), "skipped": skipped},
            indent=1,
        )
    )
    report.unlink()
    listed.unlink()


def split_report(report: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """From pip's installation report: {name==version: what to install} and the skipped name==version."""
    keep: dict[str, str] = {}
    skipped: list[str] = []
    for item in report.get("install", []):
        meta, info = item["metadata"], item["download_info"]
        pinned = f"{canonical_name(meta['name'])}=={meta['version']}"
        if canonical_name(meta["name"]) in NEVER_BUNDLED:
            skipped.append(pinned)
        elif "vcs_info" in info:
            keep[pinned] = f"{info['vcs_info']['vcs']}+{info['url']}@{info['vcs_info']['commit_id']}"
        else:
            keep[pinned] = info["url"]  # exactly the artifact the resolver chose
    return keep, sorted(skipped)


def _pip(args: list[str], target: Target, source: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input", "--progress-bar", "off"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise pip_failure(proc.stdout + proc.stderr, proc.returncode, target, source)


def pip_failure(output: str, returncode: int, target: Target, source: str) -> DependencyError:
    """A DependencyError explaining pip's failure: a requirement without a fitting wheel, no network,
    or else pip's last lines."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")] or lines
    said = "\n".join(f"    {line}" for line in errors[-6:])
    if any(sign in output for sign in _NETWORK_SIGNS):
        return DependencyError(
            f"pip could not reach the package index while installing the task dependencies ({source}) for "
            f"{target.description}: check the network connection (or the index set in pip.conf / PIP_INDEX_URL). "
            f"pip said:\n{said}"
        )
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing:
        name = missing.group(1)
        found = re.search(r"satisfies the requirement .*? \(from versions: (.*?)\)", output)
        versions = found.group(1) if found and found.group(1) != "none" else ""
        built = "a wheel" if target.binary_only else "a distribution"
        why = (
            f"the versions that do are: {versions}; pin one of them, or pick another package"
            if versions
            else (
                "it may publish only a source distribution, which cannot be built for Lambda without Docker, "
                "or the name may be misspelt; pin a version that ships such wheels, or pick another package"
                if target.binary_only
                else "check the name and the version; pin a version that exists, or pick another package"
            )
        )
        return DependencyError(
            f"{name!r} ({source}): no release that matches ships {built} for {target.description}: {why}"
        )
    return DependencyError(
        f"pip failed (exit {returncode}) installing the task dependencies ({source}) for {target.description}. "
        f"pip said:\n{said}"
    )


# -- local runs -------------------------------------------------------------------------------------


def requirement_files(workflow_file: Path) -> list[Path]:
    """The requirement files of a workflow file: its project's and its own (those that exist)."""
    found = (project_requirements(workflow_file.parent), workflow_requirements(workflow_file))
    return [f for f in found if f is not None]


def activate(files: Sequence[Path], *, cache: Path | None = None) -> Installed | None:
    """Install the requirements of `files` for this interpreter (cached) and append the install to
    sys.path. Nothing happens inside Lambda (the code asset holds them) or when ORCH_LOCAL_DEPS=0."""
    if os.environ.get(Env.TASK_ROOT) or os.environ.get(LOCAL_DEPS_ENV) == "0":
        return None
    requirements, read = gather(files)
    if not requirements:
        return None
    installed = install(requirements, host_target(), cache=cache, source=", ".join(map(str, read)))
    site = str(installed.path)
    if site not in sys.path:
        sys.path.append(site)
        importlib.invalidate_caches()
    return installed


def activate_for(workflow_file: Path) -> Installed | None:
    """`activate` the project's and the workflow's own requirements before importing `workflow_file`."""
    return activate(requirement_files(workflow_file))


def missing_module_hint(exc: ModuleNotFoundError, workflow_file: Path) -> str:
    """How to make the module of a ModuleNotFoundError raised while importing a workflow file importable."""
    module = (exc.name or "").split(".")[0] or "the module"
    files = requirement_files(workflow_file)
    where = str(files[0]) if files else f"{REQUIREMENTS} in the project folder"
    off = f" (local installs are off: {LOCAL_DEPS_ENV}=0)" if os.environ.get(LOCAL_DEPS_ENV) == "0" else ""
    return (
        f"; {module!r} is not installed{off}: add the package that provides it to {where} (it is then "
        "bundled into the Lambda code asset and installed for local runs), or install it in this virtualenv"
    )
