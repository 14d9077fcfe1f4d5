"""Task dependencies without the network: requirement files, cache keys, pip's command lines (pip
replaced by a fake), what is never bundled, pip's failures explained, and the loader's hook."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.dependencies import (
    LOCAL_DEPS_ENV,
    DependencyError,
    activate,
    cache_key,
    host_target,
    install,
    lambda_target,
    pip_failure,
    project_requirements,
    read_requirements,
    requirement_files,
    split_report,
)
from orchestration.errors import WorkflowLoadError
from orchestration.loader import load_file
from orchestration.runtime.registry import Env


def _item(name: str, version: str, url: str | None = None, **info: Any) -> dict[str, Any]:
    url = url or f"https://files.example/{name}-{version}-py3-none-any.whl"
    return {"metadata": {"name": name, "version": version}, "download_info": {"url": url, **info}}


class FakePip:
    """Stands in for `python -m pip`: answers the dry run with a report of `resolved` and "installs"
    each requested wheel URL as a module named after the distribution."""

    def __init__(self, resolved: list[dict[str, Any]]) -> None:
        self.resolved = resolved
        self.calls: list[list[str]] = []

    def __call__(self, cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[:3] == [sys.executable, "-m", "pip"]
        args = cmd[3:]
        self.calls.append(args)
        target = Path(args[args.index("--target") + 1])
        if "--dry-run" in args:
            Path(args[args.index("--report") + 1]).write_text(json.dumps({"install": self.resolved}))
        else:
            for url in (a for a in args if a.startswith("https://")):
                name = url.rsplit("/", 1)[1].split("-")[0]
                (target / name).mkdir(parents=True)
                (target / name / "__init__.py").write_text(
                    "from pathlib import Path\nWHERE = str(Path(__file__).parents[1])\n"
                )
            (target / "bin").mkdir(exist_ok=True)
        return subprocess.CompletedProcess(cmd, 0, "", "")


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePip]:
    pip = FakePip([_item("fakedep_one", "1.0"), _item("boto3", "1.40.0"), _item("Pydantic_Core", "2.33.0")])
    monkeypatch.setattr(subprocess, "run", pip)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the hook appends to it
    sys.modules.pop("fakedep_one", None)
    yield pip
    sys.modules.pop("fakedep_one", None)


# -- requirement files ----------------------------------------------------------------------------


def test_requirement_files_drop_comments_and_blank_lines_join_continuations_and_follow_r(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("requests>=2  # http\n")
    (tmp_path / "requirements.txt").write_text(
        "# task dependencies\n\nhumanize==4.12.3   # pretty sizes\n"
        "ujson==5.10.0 \\\n  ; python_version >= '3.11'\n-r base.txt\nurl#frag @ https://x/y.whl\n"
    )
    assert read_requirements(tmp_path / "requirements.txt") == [
        "humanize==4.12.3",
        "ujson==5.10.0 ; python_version >= '3.11'",
        "requests>=2",
        "url#frag @ https://x/y.whl",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("--index-url https://example/simple\n", "set indexes in pip's configuration"),
        ("-e ./mylib\n", "and -r FILE are supported here"),
        ("-r requirements.txt\n", "includes itself through -r"),
        ("-r missing.txt\n", "cannot read requirements file"),
    ],
)
def test_unsupported_requirement_lines_are_refused_with_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "requirements.txt").write_text(text)
    with pytest.raises(DependencyError, match=fragment):
        read_requirements(tmp_path / "requirements.txt")


def test_project_requirements_are_searched_up_to_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("humanize\n")
    project = tmp_path / "proj"
    (project / "workflows").mkdir(parents=True)
    assert project_requirements(project / "workflows") == tmp_path / "requirements.txt"
    (project / "cdk.json").write_text("{}")  # the project root: the search stops here
    assert project_requirements(project / "workflows") is None
    (project / "requirements.txt").write_text("ujson\n")
    (project / "workflows" / "etl.requirements.txt").write_text("tabulate\n")
    (project / "workflows" / "etl.py").write_text("")
    assert requirement_files(project / "workflows" / "etl.py") == [
        project / "requirements.txt",
        project / "workflows" / "etl.requirements.txt",
    ]


# -- targets and cache keys -----------------------------------------------------------------------


def _platforms(args: tuple[str, ...]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "--platform"]


def test_lambda_x86_64_target_lists_every_manylinux_tag_up_to_glibc_2_34() -> None:
    args = lambda_target("x86_64").pip_args
    platforms = _platforms(args)
    assert platforms[0] == "manylinux_2_34_x86_64" and platforms[-1] == "manylinux1_x86_64"
    assert {"manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_5_x86_64"} <= set(
        platforms
    )
    assert "manylinux_2_35_x86_64" not in platforms
    rest = [a for a in args if a != "--platform" and a not in platforms]
    assert rest == ["--only-binary=:all:", "--python-version", "3.13", "--implementation", "cp", "--abi", "cp313"]


def test_lambda_arm64_target_uses_aarch64_tags_from_manylinux2014() -> None:
    platforms = _platforms(lambda_target("arm64").pip_args)
    assert platforms[0] == "manylinux_2_34_aarch64"
    assert platforms[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert all(p.endswith("_aarch64") for p in platforms)
    with pytest.raises(DependencyError, match="use x86_64 or arm64"):
        lambda_target("aarch64")


def test_cache_key_ignores_order_spacing_and_duplicates_but_not_target_or_requirements() -> None:
    x86 = lambda_target("x86_64")
    key = cache_key(["humanize==4.12.3", "ujson"], x86)
    assert cache_key(["ujson", "humanize==4.12.3", " ujson "], x86) == key
    assert cache_key(["humanize==4.12.3", "ujson"], lambda_target("arm64")) != key
    assert cache_key(["humanize==4.12.3", "ujson"], host_target()) != key
    assert cache_key(["humanize==4.12.4", "ujson"], x86) != key
    assert cache_key(["humanize==4.12.3", "ujson"], lambda_target("x86_64", python="3.12")) != key


# -- installing -----------------------------------------------------------------------------------


def test_split_report_drops_what_the_runtime_and_layer_provide() -> None:
    report = {
        "install": [
            _item("humanize", "4.12.3"),
            _item("boto3", "1.40.0"),
            _item("python_dateutil", "2.9.0"),
            _item("aws-lambda-powertools", "3.1.0"),
            _item("moto", "5.1.0"),
            _item("lib", "0.1", url="https://git.example/lib", vcs_info={"vcs": "git", "commit_id": "abc123"}),
        ]
    }
    keep, skipped = split_report(report)
    assert keep == {
        "humanize==4.12.3": "https://files.example/humanize-4.12.3-py3-none-any.whl",
        "lib==0.1": "git+https://git.example/lib@abc123",
    }
    assert skipped == ["aws-lambda-powertools==3.1.0", "boto3==1.40.0", "moto==5.1.0", "python-dateutil==2.9.0"]


def test_install_resolves_then_installs_only_what_is_not_provided_and_caches(tmp_path: Path, fake_pip: FakePip) -> None:
    target = lambda_target("arm64")
    installed = install(["fakedep_one", "boto3"], target, cache=tmp_path)
    resolve, place = fake_pip.calls
    assert resolve[:5] == ["install", "--dry-run", "--ignore-installed", "--report", resolve[4]]
    assert resolve[resolve.index("--target") + 2 :][: len(target.pip_args)] == list(target.pip_args)
    assert place[:3] == ["install", "--no-deps", "--no-compile"]
    assert [a for a in place if a.startswith("https://")] == ["https://files.example/fakedep_one-1.0-py3-none-any.whl"]
    assert installed.packages == ("fakedep-one==1.0",)
    assert installed.skipped == ("boto3==1.40.0", "pydantic-core==2.33.0")
    assert installed.path == tmp_path / "deps" / installed.key / "site"
    assert sorted(p.name for p in installed.path.iterdir()) == ["fakedep_one"]  # no bin/
    assert install(["boto3", "fakedep_one"], target, cache=tmp_path) == installed
    assert len(fake_pip.calls) == 2  # the second call ran no pip
    assert [p.name for p in (tmp_path / "deps").iterdir()] == [installed.key]  # no temporary folder left


def test_a_failed_install_leaves_nothing_to_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = "ERROR: No matching distribution found for nope\n"
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", failing))
    with pytest.raises(DependencyError, match="'nope'"):
        install(["nope"], lambda_target(), cache=tmp_path)
    assert list((tmp_path / "deps").iterdir()) == []


# -- pip's failures -------------------------------------------------------------------------------

NO_WHEEL = """\
WARNING: Location 'file:///opt/pypi/simple/docopt/' is ignored: it is neither a file nor a directory.
ERROR: Could not find a version that satisfies the requirement docopt (from versions: none)
ERROR: No matching distribution found for docopt
"""
NO_WHEEL_FOR_PIN = """\
ERROR: Could not find a version that satisfies the requirement ujson==5.0.0 (from versions: 5.10.0, 6.1.0)
ERROR: No matching distribution found for ujson==5.0.0
"""
OFFLINE = """\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken \
by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to establish a new \
connection: [Errno -3] Temporary failure in name resolution')': /simple/humanize/
ERROR: Could not find a version that satisfies the requirement humanize (from versions: none)
ERROR: No matching distribution found for humanize
"""
CONFLICT = """\
ERROR: Cannot install a==1 and b==2 because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
"""


def test_no_wheel_for_the_target_names_package_platform_and_fix() -> None:
    message = str(pip_failure(NO_WHEEL, 1, lambda_target("x86_64"), "requirements.txt"))
    assert message.startswith("'docopt' (requirements.txt): no release that matches ships a wheel for Lambda: Linux")
    assert "x86_64" in message and "CPython 3.13" in message
    assert "only a source distribution" in message and "pin a version that ships such wheels" in message
    pinned = str(pip_failure(NO_WHEEL_FOR_PIN, 1, lambda_target("arm64"), "requirements.txt"))
    assert "'ujson==5.0.0'" in pinned and "aarch64" in pinned and "versions that do are: 5.10.0, 6.1.0" in pinned


def test_offline_and_other_pip_failures_say_so_with_pips_last_lines() -> None:
    offline = str(pip_failure(OFFLINE, 1, lambda_target(), "requirements.txt"))
    assert offline.startswith("pip could not reach the package index")
    assert "ERROR: No matching distribution found for humanize" in offline
    other = str(pip_failure(CONFLICT, 1, host_target(), "requirements.txt"))
    assert other.startswith("pip failed (exit 1)") and "ResolutionImpossible" in other and "WARNING" not in other


# -- local runs: the loader's hook ----------------------------------------------------------------

WORKFLOW = """
import fakedep_one
from orchestration import Workflow

wf = Workflow("uses_dep")


@wf.task
def where() -> str:
    return fakedep_one.WHERE
"""


def _project(root: Path, workflow: str = WORKFLOW, requirements: str | None = "fakedep_one\n") -> Path:
    (root / "workflows").mkdir(parents=True)
    (root / "cdk.json").write_text("{}")
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    (root / "workflows" / "flow.py").write_text(workflow)
    return root / "workflows" / "flow.py"


def test_loading_a_workflow_installs_its_requirements_for_this_interpreter(
    tmp_path: Path, fake_pip: FakePip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(Env.TASK_ROOT, raising=False)
    monkeypatch.delenv(LOCAL_DEPS_ENV, raising=False)
    workflows = load_file(_project(tmp_path / "proj"))
    (resolve, _) = fake_pip.calls
    assert host_target().pip_args[0] in resolve and "--only-binary=:all:" not in resolve
    where = workflows["uses_dep"].tasks["where"].fn()
    assert where == sys.path[-1] and where.startswith(str(tmp_path / "cache" / "deps"))  # appended: the venv wins


@pytest.mark.parametrize("env", [{Env.TASK_ROOT: "/var/task"}, {LOCAL_DEPS_ENV: "0"}])
def test_the_hook_does_nothing_inside_lambda_or_when_turned_off(
    tmp_path: Path, fake_pip: FakePip, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    monkeypatch.setenv("ORCH_CACHE_DIR", str(tmp_path / "cache"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    flow = _project(tmp_path)
    assert activate(requirement_files(flow)) is None
    with pytest.raises(WorkflowLoadError, match="No module named 'fakedep_one'"):
        load_file(flow)
    assert fake_pip.calls == []


def test_a_missing_module_says_which_and_how_to_fix_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(Env.TASK_ROOT, raising=False)
    flow = _project(tmp_path, "import yaml_not_here.sub\n", requirements=None)
    with pytest.raises(WorkflowLoadError) as info:
        load_file(flow)
    assert str(info.value) == (
        f"importing {str(flow)!r} failed at line 1: ModuleNotFoundError: No module named 'yaml_not_here'; "
        "'yaml_not_here' is not installed: add the package that provides it to requirements.txt in the project "
        "folder (it is then bundled into the Lambda code asset and installed for local runs), or install it in "
        "this virtualenv"
    )


def test_the_cli_reports_dependency_problems_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from orchestration.cli import main

    monkeypatch.setenv("ORCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(Env.TASK_ROOT, raising=False)
    monkeypatch.delenv(LOCAL_DEPS_ENV, raising=False)
    failing = "ERROR: No matching distribution found for fakedep_one\n"
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", failing))
    flow = _project(tmp_path / "proj")
    result = CliRunner().invoke(main, ["validate", str(flow)])
    assert result.exit_code == 2
    assert "'fakedep_one' (" in result.stderr and "Traceback" not in result.stderr + result.stdout
    (tmp_path / "proj" / "requirements.txt").unlink()
    result = CliRunner().invoke(main, ["validate", str(flow)])
    assert result.exit_code == 2 and "add the package that provides it to requirements.txt" in result.stderr
