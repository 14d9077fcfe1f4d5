"""A team's own project, end to end, as a new user meets it: a fresh virtualenv, `pip install <this
repository>`, `orch init proj`, a workflow importing a pure-Python package and one with compiled wheels (ujson;
listed in requirements.txt, never installed in the virtualenv), then `orch run`, `pytest`,
`npx cdk synth` (the asset holds both packages built for Linux) and `cdk bootstrap` + `cdk deploy`
with the pinned CDK CLI into moto's server on 127.0.0.1.

Needs the package registries (PyPI, npm), as CI has. Timings are printed (pytest -s shows them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.samples import ROOT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning"),  # moto skips policies and CDK metadata
]

WORKFLOW = '''
"""Sizes: one task using a pure-Python package (humanize), one a compiled one (ujson)."""

import humanize
import ujson

from orchestration import Param, Workflow

sizes = Workflow("sizes", params={"size": Param(int, default=3_000_000)})


@sizes.task
def measure(ctx):
    return {"size": humanize.naturalsize(ctx.params.size)}


@sizes.task
def render(measure):
    return {"json": ujson.dumps(measure)}
'''

TEST = """
def test_sizes(orch_run):
    run = orch_run("workflows/sizes.py", params={"size": 2_000_000})
    assert run.status == "SUCCEEDED", run.error
    assert run.output("measure") == {"size": "2.0 MB"}
    assert run.output("render") == {"json": '{"size":"2.0 MB"}'}
"""

ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 600, env: Mapping[str, str] | None = None) -> str:
        t0 = time.perf_counter()
        proc = subprocess.run(
            args, cwd=self.root, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
        self.timings[" ".join(args[:3])] = round(time.perf_counter() - t0, 1)
        assert proc.returncode == 0, (
            f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
        return proc.stdout


def _clean_env(venv: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "VIRTUAL_ENV": str(venv),
            "ORCH_CACHE_DIR": str(cache),
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    base = tmp_path_factory.mktemp("user")
    venv = base / "venv"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    timings["venv + pip install <clone>"] = round(time.perf_counter() - t0, 1)
    env = _clean_env(venv, base / "cache")
    subprocess.run([str(venv / "bin" / "orch"), "init", "proj"], cwd=base, env=env, check=True, capture_output=True)
    proj = Project(base / "proj", env, timings)
    (proj.root / "workflows" / "sizes.py").write_text(WORKFLOW)
    (proj.root / "tests" / "test_sizes.py").write_text(TEST)
    with (proj.root / "requirements.txt").open("a") as f:
        f.write("humanize>=4\nujson>=5\n")
    proj.run("npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error")
    return proj


@pytest.mark.parametrize("module", ["humanize", "ujson"])
def test_the_task_packages_are_not_in_the_virtualenv(project: Project, module: str) -> None:
    proc = subprocess.run(
        ["python", "-c", f"import {module}"], cwd=project.root, env=project.env, capture_output=True, text=True
    )
    assert proc.returncode == 1 and f"No module named '{module}'" in proc.stderr


def test_orch_run_in_the_project(project: Project) -> None:
    out = project.run("orch", "run", "workflows/sizes.py", "--json")
    run = json.loads(out)
    assert run["status"] == "SUCCEEDED"
    assert run["tasks"]["render"]["output"] == {"json": '{"size":"3.0 MB"}'}
    project.run("orch", "run", "workflows/daily_report.py", "-q")


def test_pytest_in_the_project(project: Project) -> None:
    out = project.run("pytest", "-q", "-p", "no:cacheprovider")
    assert "3 passed" in out


def _asset(cdk_out: Path) -> Path:
    (asset,) = [p for p in cdk_out.glob("asset.*") if (p / "functions").is_dir()]
    return asset


def _size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 2)


def test_cdk_synth_bundles_the_task_packages_for_linux(project: Project) -> None:
    t0 = time.perf_counter()
    project.run("npx", "cdk", "synth", "--quiet")
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    project.run("npx", "cdk", "synth", "--quiet")
    warm = time.perf_counter() - t0
    asset = _asset(project.root / "cdk.out")
    assert (asset / "humanize").is_dir() and list(asset.glob("ujson*.so"))
    (wheel,) = asset.glob("ujson-*.dist-info/WHEEL")
    tags = [line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
    assert tags and all(t.startswith("cp313-cp313-manylinux") and t.endswith("_x86_64") for t in tags), tags
    for absent in ("boto3", "botocore", "pydantic", "aws_lambda_powertools", "moto"):
        assert not (asset / absent).exists(), absent
    assert not (asset / "orchestration" / "local").exists() and not (asset / "orchestration" / "cli").exists()
    template = json.loads((project.root / "cdk.out" / "proj.template.json").read_text())
    names = sorted(
        r["Properties"]["StateMachineName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    # the project's workflows, never the examples, and the backfill runner
    assert names == ["proj--backfill", "proj-daily_report", "proj-sizes"]
    print(f"\nsynth cold {cold:.1f} s, warm {warm:.1f} s; asset {_size_mb(asset)} MB; {project.timings}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://localhost:{port}"  # the CDK CLI needs localhost (127.0.0.1 reads as a bucket name)
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node for the CDK CLI")
def test_the_project_deploys_with_the_cdk_cli_into_moto(project: Project, moto_server: str) -> None:
    import boto3

    aws = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    project.run("npx", "cdk", "bootstrap", f"aws://{ACCOUNT}/{REGION}", "--ci", env=aws, timeout=600)
    project.run("npx", "cdk", "deploy", "--require-approval", "never", "--ci", env=aws, timeout=600)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    cfn = session.client("cloudformation", endpoint_url=moto_server)
    (stack,) = cfn.describe_stacks(StackName="proj")["Stacks"]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    sfn = session.client("stepfunctions", endpoint_url=moto_server)
    machines = sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])
    assert machines == ["proj--backfill", "proj-daily_report", "proj-sizes"]
    functions = session.client("lambda", endpoint_url=moto_server).list_functions()["Functions"]
    assert {f["Runtime"] for f in functions} == {"python3.13"}
    print(f"\n{project.timings}")
