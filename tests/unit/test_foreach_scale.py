"""For-each at scale in the compiler: options checked, modes emitted, Express items where allowed,
the inline quotas each list gets, and golden ASL for a distributed for-each."""

from __future__ import annotations

import os
from typing import Any

import pytest

from orchestration import Pool, Resources, Retry, Workflow, compile_workflow, to_json
from orchestration.compiler.foreach_quota import feed, inline_capacity
from orchestration.compiler.foreach_states import execution_type
from orchestration.compiler.layout import Layout
from orchestration.errors import ValidationError
from orchestration.validation import problems, validate
from tests.helpers import all_states
from tests.samples import GOLDEN


def workflow(name: str = "scaled", items: int = 3, **options: Any) -> Workflow:
    wf = Workflow(name)

    @wf.task
    def source() -> list[int]:
        return list(range(items))

    @wf.task(for_each="source", **options)
    def each(item: int) -> int:
        return item

    @wf.task
    def after(each: list[int]) -> int:
        return len(each)

    return wf


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"mode": "huge"}, "mode='huge' is not a for-each mode: use one of 'inline', 'distributed', 'auto'"),
        ({"mode": "inline", "max_concurrency": 41}, "an inline Map runs 1 to 40 items at once"),
        ({"max_concurrency": 10_001}, "a Distributed Map runs 1 to 10000 items at once"),
        ({"tolerated_failure_count": -1}, "tolerated_failure_count=-1 must be a whole number of items"),
        ({"tolerated_failure_percentage": 101}, "tolerated_failure_percentage=101 must be a number from 0 to 100"),
        ({"mode": "inline", "tolerated_failure_count": 2}, "mode='inline' cannot tolerate item failures"),
    ],
)
def test_for_each_options_are_checked_with_the_value_and_the_fix(options: dict[str, Any], expected: str) -> None:
    found = problems(workflow(**options))
    assert any(expected in p for p in found), found


def test_scale_options_need_a_for_each_and_a_list_cannot_be_both_inline_and_distributed() -> None:
    wf = Workflow("mixed")

    @wf.task
    def source() -> list[int]:
        return [1]

    @wf.task(for_each="source", mode="inline")
    def a(item: int) -> int:
        return item

    @wf.task(for_each="source", mode="distributed")
    def b(item: int) -> int:
        return item

    @wf.task(mode="distributed")
    def plain() -> None:
        return None

    found = problems(wf)
    assert any("iterate the same list of 'source'" in p for p in found), found
    assert any("task 'plain' sets mode/tolerated failures but is not a for-each task" in p for p in found), found
    express = workflow("fast", mode="distributed")
    express.type = "EXPRESS"
    with pytest.raises(ValidationError, match="an EXPRESS workflow has no Distributed Map"):
        validate(express)


def test_an_inline_for_each_compiles_to_the_plain_inline_map() -> None:
    states = all_states(compile_workflow(workflow(mode="inline", max_concurrency=5)))
    assert states["each"]["Type"] == "Map" and states["each"]["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert states["each"]["MaxConcurrency"] == 5
    assert not any(name.startswith("each.") and name != "each.item" for name in states if "." in name[5:])


def test_auto_chooses_by_where_the_list_travels_and_caps_the_inline_concurrency() -> None:
    states = all_states(compile_workflow(workflow(max_concurrency=500)))
    assert states["each"]["Type"] == "Parallel"
    (rule,) = states["each.mode"]["Choices"]
    assert rule == {"Variable": "$.res.source.output.__orch_ref__", "IsPresent": True, "Next": "each.distributed"}
    assert states["each.mode"]["Default"] == "each.inline"
    assert states["each.inline"]["MaxConcurrency"] == 40 and states["each.distributed"]["MaxConcurrency"] == 500
    assert "each.item" in states and "each.item.d" in states  # one processor per Map, unique names


def test_tolerated_failures_make_auto_distributed() -> None:
    states = all_states(compile_workflow(workflow(tolerated_failure_percentage=5)))
    assert "each.mode" not in states and "each.inline" not in states
    assert states["each.distributed"]["ToleratedFailurePercentage"] == 5.0


def test_items_run_as_express_executions_only_when_they_cannot_outlast_one() -> None:
    def kind(**options: Any) -> str:
        wf = workflow(**options)
        return execution_type(Layout(wf), wf.tasks["each"])

    assert kind(timeout_seconds=60) == "EXPRESS"
    assert kind(timeout_seconds=50, retry=Retry(max_attempts=3, interval_seconds=10)) == "EXPRESS"  # 277 s
    assert kind(timeout_seconds=60, retry=Retry(max_attempts=3, interval_seconds=10)) == "STANDARD"  # 317 s
    assert kind(timeout_seconds=100, retry=Retry(max_attempts=2)) == "STANDARD"  # 3 x 100 s + waits
    assert kind() == "STANDARD"  # the function's 300 s timeout, plus the Lambda service's retries
    assert kind(resources=Resources(timeout_seconds=30)) == "EXPRESS"
    assert kind(timeout_seconds=10, pool=Pool("db", slots=2)) == "STANDARD"  # waits for a task token


def test_the_inline_quota_covers_the_whole_executions_history() -> None:
    small = Layout(workflow())
    items, size = inline_capacity(small, small.workflow.tasks["each"])
    assert 3_000 <= items <= 24_000 // 7 and size > 100_000
    retried = Layout(workflow(retry=Retry(max_attempts=9)))
    assert inline_capacity(retried, retried.workflow.tasks["each"])[0] == (24_000 - 40 - 16 - 30 - 16) // (7 + 27)
    wide = workflow("wide")
    for n in range(200):
        wide.task(lambda: None, name=f"t{n}", retry=Retry(max_attempts=5))
    layout = Layout(wide)
    # the other tasks' events (with their retries) come off the budget first
    assert inline_capacity(layout, wide.tasks["each"])[0] == (24_000 - 40 - 16 - 30 - 16 - 200 * (16 + 15)) // 7
    fed = feed(layout, "source")
    assert fed is not None and fed.mode == "auto" and fed.consumers == ["each"]
    assert feed(layout, "each") is None


def test_golden_asl_for_a_distributed_for_each() -> None:
    """Regenerate with UPDATE_GOLDEN=1 after an intended compiler change."""
    wf = workflow("distributed_foreach", mode="distributed", max_concurrency=1000, tolerated_failure_count=10)
    wf.tasks["each"].timeout_seconds = 60
    text = to_json(compile_workflow(wf), indent=2)
    golden = GOLDEN / "distributed_foreach.asl.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    states = all_states(compile_workflow(wf))
    dist = states["each.distributed"]
    assert dist["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket.$": "$.res.source.output.bucket", "Key.$": "$.res.source.output.object_key"},
    }
    assert dist["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert dist["ResultWriter"]["Parameters"]["Prefix.$"] == (
        "States.Format('runs/{}/{}/each/results-r{}', $.ctx.workflow, $.ctx.run_id, $.ctx.repair)"
    )
    assert dist["ToleratedFailureCount"] == 10 and dist["Next"] == "each.results"
