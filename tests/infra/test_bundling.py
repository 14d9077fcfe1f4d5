"""Task dependencies bundled for Lambda with the real package index: wheels for the target platform,
nothing the runtime or the layer provides, a cache that spares pip, and a user's project that
synthesizes (and runs locally) without its packages installed in the virtualenv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from infra.asset import stage_code
from infra.settings import InfraError, Settings
from infra.stack import build_app
from orchestration.dependencies import LOCAL_DEPS_ENV, DependencyError, install, lambda_target
from orchestration.loader import load_workflow
from orchestration.status import RunStatus, TaskStatus
from tests.infra.conftest import ROOT, UserSynth, resources

pytestmark = pytest.mark.infra

PROVIDED_DIRS = ("boto3", "botocore", "pydantic", "pydantic_core", "aws_lambda_powertools", "s3transfer")
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


def wheel_tags(site: Path, distribution: str) -> list[str]:
    (info,) = site.glob(f"{distribution}-*.dist-info")
    return [line.removeprefix("Tag: ") for line in (info / "WHEEL").read_text().splitlines() if line.startswith("Tag:")]


def fits_lambda(tag: str, machine: str) -> bool:
    """A cp313 wheel tag for manylinux on `machine` with glibc at most Amazon Linux 2023's 2.34."""
    m = re.fullmatch(rf"cp313-cp313-manylinux(?:_2_(\d+)|2014)_{machine}", tag)
    return m is not None and int(m.group(1) or 17) <= 34


def no_pip(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"pip ran: {args}")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_bundle_holds_wheels_for_lambda_and_nothing_provided(
    architecture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = ["humanize==4.12.3", "ujson==5.10.0", "boto3", "pydantic", "aws-lambda-powertools"]
    target = lambda_target(architecture)
    t0 = time.perf_counter()
    cold = install(requirements, target, cache=tmp_path)
    t1 = time.perf_counter()
    monkeypatch.setattr(subprocess, "run", no_pip)
    warm = install(list(reversed(requirements)), target, cache=tmp_path)
    t2 = time.perf_counter()
    print(f"\nbundle {architecture}: cold {t1 - t0:.2f} s, warm {t2 - t1:.4f} s, {folder_mb(cold.path):.2f} MB")
    assert warm == cold
    assert cold.packages == ("humanize==4.12.3", "ujson==5.10.0")
    assert {"boto3", "botocore", "pydantic", "pydantic-core", "aws-lambda-powertools"} <= {
        s.split("==")[0] for s in cold.skipped
    }
    site = cold.path
    assert (site / "humanize" / "__init__.py").is_file()
    machine = MACHINES[architecture]
    (extension,) = site.glob("ujson*.so")
    assert extension.name == f"ujson.cpython-313-{machine}-linux-gnu.so"
    tags = wheel_tags(site, "ujson")
    assert tags and all(fits_lambda(t, machine) for t in tags), tags
    assert wheel_tags(site, "humanize") == ["py3-none-any"]
    assert not [d for d in PROVIDED_DIRS if (site / d).exists()]
    assert not (site / "bin").exists()


def test_a_requirement_without_a_wheel_for_lambda_names_the_package_and_platform(tmp_path: Path) -> None:
    # docopt publishes only a source distribution
    with pytest.raises(DependencyError) as info:
        install(["docopt==0.6.2"], lambda_target("x86_64"), cache=tmp_path, source="requirements.txt")
    message = str(info.value)
    assert "'docopt==0.6.2' (requirements.txt)" in message
    assert "Linux x86_64" in message and "CPython 3.13" in message
    assert "pin a version that ships such wheels, or pick another package" in message
    assert not list((tmp_path / "deps").iterdir())  # nothing half-built is left for reuse


def _functions(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(raw, "AWS::Lambda::Function")


def test_user_project_asset_holds_its_dependencies_built_for_lambda(user_synth: UserSynth) -> None:
    asset = user_synth.asset_of("WfreportTaskpacked")  # size and packed share a function (one configuration)
    assert (asset / "humanize" / "__init__.py").is_file()
    assert all(fits_lambda(t, "x86_64") for t in wheel_tags(asset, "ujson"))
    assert (asset / "workflows" / "report.py").is_file() and (asset / "functions" / "task.py").is_file()
    for absent in ("orchestration/cli", "orchestration/local", "orchestration/__main__.py", "moto", *PROVIDED_DIRS):
        assert not (asset / absent).exists(), absent
    # The platform functions (they load no workflow) share that asset; `table` has its own requirements.
    assert user_synth.asset_of("PlatformJoin") == asset
    table = user_synth.asset_of("WftableTaskrender")
    assert table != asset and (table / "tabulate" / "__init__.py").is_file() and (table / "humanize").is_dir()
    assert not (asset / "tabulate").exists()
    for fn in _functions(user_synth.raw).values():
        assert fn["Properties"]["Architectures"] == ["x86_64"]
        assert "-x86_64:" in json.dumps(fn["Properties"]["Layers"])
    code_mb = sum(folder_mb(asset / name) for name in ("orchestration", "functions", "workflows"))
    print(
        f"\nuser project synth: {user_synth.seconds:.2f} s; asset {folder_mb(asset):.2f} MB "
        f"({code_mb:.2f} MB without dependencies)"
    )


def test_warm_synth_runs_no_pip_and_reuses_the_staged_asset(
    user_synth: UserSynth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess, "run", no_pip)
    t0 = time.perf_counter()
    app, _ = build_app(
        Settings(stack_name="userproj", workflows="workflows"), outdir=str(tmp_path), root=user_synth.project
    )
    app.synth()
    print(f"\nuser project synth (warm cache): {time.perf_counter() - t0:.2f} s")
    raw = json.loads((tmp_path / "userproj.template.json").read_text())
    codes = {k: f["Properties"]["Code"]["S3Key"] for k, f in _functions(raw).items()}
    assert codes == {k: f["Properties"]["Code"]["S3Key"] for k, f in _functions(user_synth.raw).items()}


def test_arm64_functions_get_arm64_wheels_and_the_arm64_layer(user_synth: UserSynth, tmp_path: Path) -> None:
    settings = Settings(stack_name="userarm", workflows="workflows", architecture="arm64", nag=False)
    app, _ = build_app(settings, outdir=str(tmp_path), root=user_synth.project)
    app.synth()
    raw = json.loads((tmp_path / "userarm.template.json").read_text())
    fns = _functions(raw)
    assert {tuple(f["Properties"]["Architectures"]) for f in fns.values()} == {("arm64",)}
    assert all(
        "AWSLambdaPowertoolsPythonV3-python313-arm64:" in json.dumps(f["Properties"]["Layers"]) for f in fns.values()
    )
    key = next(f for k, f in fns.items() if k.startswith("WfreportTaskpacked"))["Properties"]["Code"]["S3Key"]
    asset = tmp_path / f"asset.{key.removesuffix('.zip')}"
    assert (asset / "ujson.cpython-313-aarch64-linux-gnu.so").is_file()
    assert all(fits_lambda(t, "aarch64") for t in wheel_tags(asset, "ujson"))


def test_the_same_workflow_runs_locally_from_the_host_install(user_synth: UserSynth, quiet_logs: None) -> None:
    import humanize  # importable now: synth activated the project's requirements for this interpreter

    from orchestration.local import LocalCloud

    assert str(user_synth.cache) in str(humanize.__file__)
    with LocalCloud() as cloud:
        run = cloud.run(load_workflow(user_synth.project / "workflows" / "report.py"))
    assert run.status == RunStatus.SUCCEEDED
    assert {name: t.status for name, t in run.tasks.items()} == {
        "size": TaskStatus.SUCCEEDED,
        "packed": TaskStatus.SUCCEEDED,
    }


def test_a_workflow_importing_an_unlisted_module_fails_synth_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text("{}")
    (tmp_path / "requirements.txt").write_text("# nothing yet\n")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "needs.py").write_text("import not_installed_anywhere_xyz\n")
    with pytest.raises(InfraError) as info:
        build_app(Settings(stack_name="needs", workflows="workflows", nag=False), root=tmp_path)
    message = str(info.value)
    assert "No module named 'not_installed_anywhere_xyz'" in message
    assert f"add the package that provides it to {tmp_path / 'requirements.txt'}" in message


def test_architecture_and_requirements_settings() -> None:
    s = Settings.from_context({"architecture": "arm64", "requirements": "deps/lambda.txt"}.get)
    assert (s.architecture, s.requirements) == ("arm64", "deps/lambda.txt")
    assert (Settings().architecture, Settings().requirements) == ("x86_64", "requirements.txt")
    with pytest.raises(InfraError, match="architecture='aarch64': use one of x86_64, arm64"):
        Settings.from_context({"architecture": "aarch64"}.get)


def test_staged_assets_are_keyed_by_content_and_hold_no_local_only_code(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "cdk.out" / "asset.old").mkdir(parents=True)
    (project / "flow.py").write_text("# a workflow at the project root\n")
    first = stage_code(project, project, cache=tmp_path / "cache")
    assert stage_code(project, project, cache=tmp_path / "cache") == first
    names = sorted(p.name for p in first.path.iterdir())
    assert names == ["flow.py", "functions", "orchestration"]  # the root's folders (cdk.out, ...) stay out
    assert not (first.path / "orchestration" / "cli").exists() and not (first.path / "orchestration" / "local").exists()
    (project / "flow.py").write_text("# changed\n")
    second = stage_code(project, project, cache=tmp_path / "cache")
    assert second.hash != first.hash and (second.path / "flow.py").read_text() == "# changed\n"


def test_cdk_app_reports_a_requirement_without_a_wheel_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("docopt==0.6.2\n")
    context = {"requirements": str(tmp_path / "requirements.txt"), "nag": "false", "workflows": "examples"}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path), LOCAL_DEPS_ENV: "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "error: 'docopt==0.6.2' (" in proc.stderr and "Linux x86_64" in proc.stderr
    assert "Traceback" not in proc.stderr
