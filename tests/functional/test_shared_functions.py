"""Tasks of one configuration share one local function, as on AWS (`orchestration.grouping`): one
definition substitution and one function per configuration, each task's lines still its own."""

from __future__ import annotations

from orchestration import Resources, Workflow
from orchestration.local import LocalCloud
from orchestration.protocol import task_of_placeholder
from orchestration.status import RunStatus


def _workflow() -> Workflow:
    wf = Workflow("shared_fns")

    def say(name: str) -> None:
        print(f"hello from {name}")

    for name in ("a", "b", "c"):  # one configuration
        wf.task(name=name)(lambda name=name: say(name))
    wf.task(name="big", after=["a", "b", "c"], resources=Resources(memory_mb=2048))(lambda: say("big"))
    return wf


def test_one_function_per_configuration_and_lines_kept_by_task(quiet_logs: None) -> None:
    with LocalCloud() as cloud:  # its own: it captures the test's stdout
        _check(cloud, _workflow())


def _check(cloud: LocalCloud, wf: Workflow) -> None:
    dep = cloud.deploy(wf)
    functions = {p: arn for p, arn in dep.function_arns.items() if task_of_placeholder(p)}
    assert sorted(functions) == ["fn_a", "fn_big"]
    deployed = {f["FunctionName"]: f for f in cloud.lambda_.list_functions()["Functions"]}
    tasks = sorted(n for n in deployed if n.startswith("shared_fns-") and not n.startswith("shared_fns-_"))
    assert tasks == ["shared_fns-a", "shared_fns-big"]  # not one per task
    assert deployed["shared_fns-big"]["MemorySize"] == 2048 and deployed["shared_fns-a"]["MemorySize"] == 512
    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED
    lines = sorted((line.task, line.message) for line in cloud.logs.take(wf.name, run.run_id))
    assert lines == [(t, f"hello from {t}") for t in ("a", "b", "big", "c")]
