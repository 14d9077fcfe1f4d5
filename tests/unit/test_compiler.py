"""The compiler: golden ASL, determinism, run-if rules, joins, payload limits."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from orchestration import Pool, Resources, Retry, RunIf, Workflow, compile_workflow, load_workflow, s3_read, to_json
from orchestration.compiler import (
    FINALIZE_FUNCTION,
    JOIN_FUNCTION,
    MIN_INLINE_OUTPUT,
    STATE_BUDGET_BYTES,
    compile_machines,
    definition_hash,
    inline_output_limit,
    placeholders,
    render,
)
from orchestration.grouping import function_groups, placeholder_tasks
from orchestration.planning import PLATFORM_MEMORY_MB, PLATFORM_SECONDS, plan_workflow
from orchestration.protocol import task_of_placeholder
from tests.helpers import all_states
from tests.samples import GOLDEN
from tests.samples import example as example_file

EXAMPLES = ["etl", "fanout", "branching", "n_shape", "parent_child", "warehouse"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_examples_match_golden_asl(example: str) -> None:
    """Golden files: regenerate with UPDATE_GOLDEN=1 after an intended compiler change."""
    text = to_json(compile_workflow(load_workflow(example_file(example))), indent=2)
    golden = GOLDEN / f"{example}.asl.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("example", EXAMPLES)
def test_compilation_is_byte_identical(example: str) -> None:
    wf = load_workflow(example_file(example))
    first, second = to_json(compile_workflow(wf)), to_json(compile_workflow(wf))
    assert first == second
    assert "\n" not in first and json.loads(first) == compile_workflow(wf)  # compact: what deploys
    assert definition_hash(first) == definition_hash(second)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_next_target_exists_and_every_state_is_reachable(example: str) -> None:
    definition = compile_workflow(load_workflow(example_file(example)))

    def check(scope: dict[str, Any]) -> None:
        states = scope["States"]
        targets = {scope["StartAt"]}
        for state in states.values():
            for key in ("Next", "Default"):
                if key in state:
                    targets.add(state[key])
            targets.update(c["Next"] for c in state.get("Choices", []))
            targets.update(c["Next"] for c in state.get("Catch", []))
            for branch in state.get("Branches", []):
                check(branch)
            if "ItemProcessor" in state:
                check(state["ItemProcessor"])
        assert targets <= set(states), targets - set(states)
        assert set(states) <= targets, f"unreachable: {set(states) - targets}"

    check(definition)


def test_etl_structure_and_static_routing() -> None:
    definition = compile_workflow(load_workflow(example_file("etl")))
    states = all_states(definition)
    # transform follows extract directly: no Choice, extract's exits route by status
    assert states["extract"]["Next"] == "transform"
    assert states["extract.failed"]["Next"] == "transform.upstream_failed"
    assert "transform.check" not in states
    # publish joins two parallel branches: no Choice, its function decides on both statuses and
    # returns its own (SKIPPED / UPSTREAM_FAILED when it does not run)
    assert "publish.check" not in states and "publish.skipped" not in states
    publish = states["publish"]
    assert publish["Parameters"]["Payload"]["upstream"] == {
        "load": {"status.$": "$.res._p1.load.status"},
        "quality_check": {"status.$": "$.res._p1.quality_check.status"},
    }
    assert publish["ResultSelector"]["status.$"] == "$.Payload.status"
    assert states["Parallel 1"]["Next"] == "publish"
    retry = states["extract"]["Retry"][1]
    assert retry == {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 30,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
        "JitterStrategy": "FULL",
    }
    assert states["extract"]["TimeoutSeconds"] == 60
    assert definition["QueryLanguage"] == "JSONPath"


def test_n_shape_compiles_to_a_join_with_signal() -> None:
    definition = compile_workflow(load_workflow(example_file("n_shape")))
    states = all_states(definition)
    wait = states["join_customers.join"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    (awaited,) = wait["Parameters"]["Payload"]["needs"]
    assert awaited in ("fetch_orders", "fetch_customers")
    signal = states[f"{awaited}.signal"]
    assert signal["Parameters"]["Payload"]["joins"] == ["join_customers"]
    # the joined task reads the awaited output from the join result
    payload = states["join_customers"]["Parameters"]["Payload"]
    assert payload["inputs"][f"{awaited}.$"] == f"$.res._j_join_customers.{awaited}.output"
    assert len([s for s in states if s.endswith(".join")]) == 1


def rules_of(run_if: RunIf) -> dict[str, Any]:
    """The Choice of a pooled task (a pooled task never decides its run-if itself: a skipped task
    takes no slot)."""
    wf = Workflow("rules")
    wf.task(name="a")(lambda: 1)
    wf.task(name="b")(lambda: 2)
    wf.task(name="c", after=["a", "b"], run_if=run_if, pool=Pool("p", slots=1))(lambda: 3)
    states = all_states(compile_workflow(wf))
    return states.get("c.check", {})


def test_run_if_rules() -> None:
    ok_a = {"Variable": "$.res._p1.a.status", "StringEquals": "SUCCEEDED"}
    ok_b = {"Variable": "$.res._p1.b.status", "StringEquals": "SUCCEEDED"}
    bad_a = {"Variable": "$.res._p1.a.status", "StringMatches": "*FAILED"}
    bad_b = {"Variable": "$.res._p1.b.status", "StringMatches": "*FAILED"}
    assert rules_of(RunIf.ALL_SUCCESS)["Choices"][0]["And"] == [ok_a, ok_b]
    assert rules_of(RunIf.AT_LEAST_ONE_SUCCESS)["Choices"][0]["Or"] == [ok_a, ok_b]
    assert rules_of(RunIf.NONE_FAILED)["Choices"][0]["And"] == [{"Not": bad_a}, {"Not": bad_b}, {"Or": [ok_a, ok_b]}]
    assert rules_of(RunIf.AT_LEAST_ONE_FAILED)["Choices"][0]["Or"] == [bad_a, bad_b]
    all_failed = rules_of(RunIf.ALL_FAILED)
    assert all_failed["Choices"][0]["And"] == [bad_a, bad_b]
    assert len(all_failed["Choices"]) == 1  # a failure handler that does not run is SKIPPED, never UPSTREAM_FAILED
    assert rules_of(RunIf.ALL_DONE) == {}  # always runs: no Choice state at all
    upstream_failed = rules_of(RunIf.ALL_SUCCESS)["Choices"][1]
    assert upstream_failed == {"Or": [bad_a, bad_b], "Next": "c.upstream_failed"}
    assert rules_of(RunIf.ALL_SUCCESS)["Choices"][0]["Next"] == "c.acquire"


def test_a_plain_task_decides_its_run_if_and_what_follows_it_too() -> None:
    """A multi-dependency task decides in its own invocation; its run state's exit carries no
    status, so the next task (one plain edge) decides too, and a condition edge passes the output."""
    wf = Workflow("decides")
    wf.task(name="a")(lambda: 1)
    wf.condition(name="b")(lambda: True)
    wf.task(name="c", after=["a", "b.true"], run_if=RunIf.NONE_FAILED)(lambda: 3)
    wf.task(name="d", after=["c"])(lambda: 4)
    states = all_states(compile_workflow(wf))
    assert not [s for s in states if s.endswith((".check", ".skipped", ".upstream_failed"))]
    assert states["c"]["Parameters"]["Payload"]["upstream"] == {
        "a": {"status.$": "$.res._p1.a.status"},
        "b": {"status.$": "$.res._p1.b.status", "output.$": "$.res._p1.b.output"},
    }
    assert states["c"]["Next"] == "d" and states["c.failed"]["Next"] == "d"
    assert states["d"]["Parameters"]["Payload"]["upstream"] == {"c": {"status.$": "$.res.c.status"}}
    assert states["d"]["ResultSelector"]["status.$"] == "$.Payload.status"


def test_placeholders_and_render() -> None:
    wf = load_workflow(example_file("etl"))
    text = to_json(compile_workflow(wf))
    subs = placeholders(wf)
    groups = function_groups(wf)
    assert len(groups) < len(wf.tasks)  # tasks of one configuration: one placeholder
    assert set(subs) == {f"fn_{g[0]}" for g in groups} | {JOIN_FUNCTION, FINALIZE_FUNCTION}
    for key in subs:
        if key != JOIN_FUNCTION:
            assert "${" + key + "}" in text
    rendered = render(text, {k: f"arn:aws:lambda:us-east-1:1:function:{k}" for k in subs})
    assert "${" not in rendered
    json.loads(rendered)


def test_tasks_of_one_configuration_share_one_placeholder() -> None:
    wf = Workflow("configs")
    for name in ("a", "b", "c"):  # default configuration: one function
        wf.task(name=name)(lambda: None)
    wf.task(name="big", resources=Resources(memory_mb=2048))(lambda: None)
    wf.task(name="big2", resources=Resources(memory_mb=2048))(lambda: None)
    wf.task(name="slow", resources=Resources(timeout_seconds=600))(lambda: None)
    wf.task(name="env", env={"MODE": "x"})(lambda: None)
    wf.task(name="reads", permissions=[s3_read("bucket/raw/")])(lambda: None)
    states = all_states(compile_workflow(wf))
    called = {name: s["Parameters"]["FunctionName"] for name, s in states.items() if name in wf.tasks}
    assert called == {
        "a": "${fn_a}",
        "b": "${fn_a}",
        "c": "${fn_a}",
        "big": "${fn_big}",
        "big2": "${fn_big}",
        "slow": "${fn_slow}",
        "env": "${fn_env}",
        "reads": "${fn_reads}",
    }
    subs = placeholders(wf)
    assert {k: v for k, v in subs.items() if task_of_placeholder(k)} == {
        "fn_a": "a",
        "fn_big": "big",
        "fn_slow": "slow",
        "fn_env": "env",
        "fn_reads": "reads",
    }
    assert placeholder_tasks(wf)["fn_a"] == ["a", "b", "c"]


def test_a_split_workflows_parts_name_only_their_own_tasks_groups() -> None:
    wf = Workflow("parts")
    for i in range(6):  # t0..t2 in part 1, t3..t5 in part 2; t5 alone has its own configuration
        memory = Resources(memory_mb=2048) if i == 5 else Resources()
        wf.task(name=f"t{i}", after=[f"t{i - 1}"] if i else [], resources=memory)(lambda: None)
    machines = compile_machines(wf, part_tasks=3)
    named = [sorted(set(re.findall(r"\$\{(fn_[a-z]\w*)\}", to_json(p.definition)))) for p in machines.parts]
    assert named == [["fn_t0"], ["fn_t0", "fn_t5"]]
    assert "fn_t0" not in to_json(machines.definition)  # the parent starts the parts and runs Finalize


def test_inline_output_limit_keeps_the_state_under_the_payload_limit() -> None:
    wf = Workflow("wide")
    for i in range(200):
        wf.task(name=f"t{i}")(lambda: None)
    limit = inline_output_limit(wf)
    assert limit * 200 <= STATE_BUDGET_BYTES or limit == MIN_INLINE_OUTPUT
    assert limit * 200 + 20_000 < 262_144


def test_for_each_map_state() -> None:
    wf = load_workflow(example_file("fanout"))
    states = all_states(compile_workflow(wf))
    assert states["process"]["Type"] == "Parallel"  # mode "auto": inline or distributed (test_foreach_scale)
    m = states["process.inline"]
    assert m["Type"] == "Map"
    assert m["MaxConcurrency"] == 4
    assert m["ItemsPath"] == "$.res.list_files.output"
    assert m["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    item = m["ItemProcessor"]["States"]["process.item"]
    assert item["Retry"][1]["MaxAttempts"] == 2
    # the producer keeps its list in the state so the Map can iterate it; big items become refs
    assert states["list_files"]["Parameters"]["Payload"]["items"] == 128
    assert states["list_files"]["Parameters"]["Payload"]["feed"]["mode"] == "auto"


def test_retry_zero_means_no_user_retrier() -> None:
    wf = Workflow("r")
    wf.task(name="a", retry=Retry(max_attempts=0))(lambda: 1)
    states = all_states(compile_workflow(wf))
    assert [r["ErrorEquals"] for r in states["a"]["Retry"]] == [
        [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ]
    ]


def test_quota_check_rejects_an_express_workflow_whose_results_cannot_fit_the_state() -> None:
    from orchestration import CompileError

    wf = Workflow("huge", type="EXPRESS")  # a STANDARD one is split (tests/unit/test_split.py)
    for i in range(900):
        wf.task(name=f"t{i}")(lambda: None)
    with pytest.raises(CompileError, match=r"workflow 'huge' has 900 tasks: .* over the 262144-byte"):
        compile_workflow(wf)
    ok = Workflow("large")
    for i in range(500):
        ok.task(name=f"t{i}")(lambda: None)
    assert len(to_json(compile_workflow(ok))) < 1_048_576


def test_the_plan_prices_each_task_of_a_shared_function_at_its_own_duration() -> None:
    wf = Workflow("priced")
    wf.task(name="a")(lambda: None)
    wf.task(name="b", after=["a"])(lambda: None)  # a's configuration: one function, one placeholder
    cost = plan_workflow(wf, durations={"a": 10.0, "b": 30.0}).cost
    platform = (PLATFORM_MEMORY_MB / 1024) * PLATFORM_SECONDS  # Finalize
    assert cost.gb_seconds == pytest.approx(0.5 * 10 + 0.5 * 30 + platform)
    assert cost.requests == 3
