"""The pytest plugin (orchestration.testing), as a user's test session sees it: generated test files
run inline by `pytester` against copies of the examples."""

from __future__ import annotations

import re
import shutil
import tomllib

import pytest

from tests.helpers import AWS_SDK, modules_loaded_by
from tests.samples import ROOT, example

pytest_plugins = ["pytester"]

# The plugin by its module name, which is also its entry point's name: loaded once, installed or not.
PLUGIN = ("-p", "orchestration.testing", "-p", "no:cacheprovider")

USER_TESTS = """
from datetime import UTC, datetime

import pytest

from orchestration import Workflow, Retry, ParameterError
from orchestration.testing import RunWorkflow, TaskOutputError, WorkflowRun


def test_a_run_with_its_outputs(orch_run: RunWorkflow) -> None:
    run = orch_run("workflows/etl.py", params={"rows": 1000}, logical_date="2026-11-21T00:00:00Z", run_id="etl-1")
    assert isinstance(run, WorkflowRun)
    assert (run.run_id, run.workflow, run.status, run.error) == ("etl-1", "daily_etl", "SUCCEEDED", None)
    assert run.succeeded
    assert run.params == {"day": "2026-11-21", "rows": 1000, "min_rows": 10}
    assert run.logical_date == datetime(2026, 11, 21, tzinfo=UTC)
    assert list(run.tasks) == ["extract", "transform", "load", "quality_check", "publish"]
    assert all(t.status == "SUCCEEDED" and t.attempts == 1 and t.error is None for t in run.tasks.values())
    assert run.output("load") == {"table": "sales_20261121", "rows": 990}
    assert run.output("publish") == "published sales_20261121 (990 rows, total 50010)"
    # 1000 rows are too large for the state: the ledger holds a reference, run.output fetches the rows
    assert run.tasks["extract"].output["__orch_ref__"].startswith("s3://orch-artifacts/runs/daily_etl/etl-1/extract/")
    rows = run.output("extract")
    assert len(rows) == 1000 and rows[1] == {"id": 1, "amount": 37, "day": "2026-11-21"}


def test_a_failing_task(orch_run: RunWorkflow) -> None:
    run = orch_run("workflows/etl.py", params={"rows": 5})
    assert run.status == "FAILED" and not run.succeeded
    assert run.error == "tasks failed: publish, quality_check"
    check = run.tasks["quality_check"]
    assert (check.status, check.attempts) == ("FAILED", 1)
    assert check.error == "ValueError: only 4 rows, expected at least 10"
    assert check.output is None
    assert run.tasks["publish"].status == "UPSTREAM_FAILED"
    with pytest.raises(TaskOutputError, match="task 'quality_check' of run .* ended FAILED .ValueError: only 4 rows"):
        run.output("quality_check")
    with pytest.raises(TaskOutputError, match="has no task 'nope'"):
        run.output("nope")


def test_a_for_each_output_and_a_workflow_object(orch_run: RunWorkflow) -> None:
    run = orch_run("workflows/fanout.py", params={"files": 3, "prefix": "in/"})
    assert run.output("process") == [
        {"file": "in/part-0000.csv", "rows": 100},
        {"file": "in/part-0001.csv", "rows": 116},
        {"file": "in/part-0002.csv", "rows": 132},
    ]
    assert run.tasks["process"].items == 3

    wf = Workflow("flaky_once")
    calls = []

    @wf.task(retry=Retry(max_attempts=2, interval_seconds=60))
    def flaky(ctx):
        calls.append(ctx.attempt)
        if ctx.attempt == 1:
            raise RuntimeError("not yet")
        return {"attempt": ctx.attempt}

    run = orch_run(wf)
    assert run.tasks["flaky"].attempts == 2 and run.output("flaky") == {"attempt": 2}


def test_bad_params(orch_run: RunWorkflow) -> None:
    orch_run("workflows/etl.py", params={"rows": "many"})


def test_a_missing_file(orch_run: RunWorkflow) -> None:
    orch_run("workflows/nope.py")


def test_several_workflows_need_a_name(orch_run: RunWorkflow) -> None:
    orch_run("workflows/two.py")
"""

TWO_WORKFLOWS = """
from orchestration import Workflow
one = Workflow("one")
two = Workflow("two")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: workflows/ with two examples and a file of two workflows, tests at the root."""
    workflows = pytester.mkdir("workflows")
    for name in ("etl", "fanout"):
        shutil.copy(example(name), workflows / f"{name}.py")
    (workflows / "two.py").write_text(TWO_WORKFLOWS)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester


def test_the_fixtures_run_workflows_and_report_usage_errors_readably(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN)
    result.assert_outcomes(passed=3, failed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*test_bad_params*",
            '>*orch_run("workflows/etl.py", params={"rows": "many"})',
            "E*orchestration.errors.ParameterError: bad parameters for workflow 'daily_etl': parameter 'rows'*",
            "*test_a_missing_file*",
            "E*orchestration.errors.WorkflowLoadError: workflow file '*/workflows/nope.py' does not exist*",
            "*test_several_workflows_need_a_name*",
            "E*WorkflowLoadError: '*/workflows/two.py' defines several workflows (one, two): choose one*",
        ]
    )
    # A usage mistake is shown at the test's line, without the library's frames.
    assert "orchestration/runtime/starter.py" not in out and "orchestration/loader.py" not in out


def test_a_test_module_can_use_its_own_moto_alongside(pytester: pytest.Pytester) -> None:
    """A test under moto's own mock_aws shares the session cloud's moto (one mock per process)."""
    pytester.makepyfile(
        """
        import boto3
        from moto import mock_aws

        from orchestration import Workflow

        wf = Workflow("reads_a_bucket")

        @wf.task
        def read():
            return boto3.client("s3").get_object(Bucket="mine", Key="k")["Body"].read().decode()

        def test_before_the_cloud_starts():
            with mock_aws():
                boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="early")

        def test_a_task_reads_what_the_test_wrote(orch_cloud, orch_run):
            with mock_aws():
                s3 = boto3.client("s3", region_name="us-east-1")
                assert "orch-artifacts" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
                s3.create_bucket(Bucket="mine")
                s3.put_object(Bucket="mine", Key="k", Body=b"hello")
            assert orch_run(wf).output("read") == "hello"
            assert orch_run(wf).succeeded  # the cloud still runs workflows after the test's mock ended
        """
    )
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=2)


def test_the_docs_example_passes(project: pytest.Pytester) -> None:
    text = (ROOT / "docs" / "testing.md").read_text()
    example_test = re.search(r"```python\n(.*?)```", text, re.S)
    assert example_test is not None and "workflows/etl.py" in example_test.group(1)
    (project.path / "test_user.py").write_text(example_test.group(1))
    project.runpytest(*PLUGIN).assert_outcomes(passed=3)


def test_the_installed_entry_point_loads_once_however_the_plugin_is_also_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, the entry point loads the plugin; `-p orchestration.testing` or `pytest_plugins`
    naming it too must not register it twice (pytest would refuse to start)."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    assert entry_points == {"orchestration.testing": "orchestration.testing"}
    site = pytester.mkdir("site")
    dist = site / "orch_plugin_probe-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: orch-plugin-probe\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    )
    monkeypatch.syspath_prepend(str(site))
    pytester.makepyfile(
        test_loaded="""
        import sys

        def test_registered_once(pytestconfig):
            plugins = pytestconfig.pluginmanager.get_plugins()
            assert sum(p is sys.modules["orchestration.testing"] for p in plugins) == 1
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=1)
    pytester.makeconftest('pytest_plugins = ["orchestration.testing"]')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_importing_the_plugin_starts_no_aws() -> None:
    """pytest imports every installed plugin at startup: this one must stay cheap."""
    assert modules_loaded_by("import orchestration.testing", *AWS_SDK) == []
