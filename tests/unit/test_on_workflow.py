"""`on_workflow` declarations (pure): statuses, the EventBridge pattern, parameters, run ids, validation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration import Param, Workflow, on_workflow, validate
from orchestration.errors import TriggerError, ValidationError
from orchestration.local.bus import matches
from orchestration.protocol import RUN_ENDED_DETAIL_TYPE, RUN_EVENT_SOURCE, RunEnded
from orchestration.runtime.trigger import plan_run
from orchestration.status import RunStatus
from orchestration.triggers import WorkflowTrigger, chain_problems, describe, triggers_of, upstream_workflows
from orchestration.triggers.runids import upstream_run_id


def flow(name: str, *triggers: Any, params: dict[str, Any] | None = None) -> Workflow:
    wf = Workflow(name, params=params or {}, triggers=list(triggers))

    @wf.task()
    def only() -> int:
        return 1

    return wf


def run_end_event(event_id: str, **detail: Any) -> dict[str, Any]:
    ended = {"workflow": "extract", "run_id": "r-1", "status": "SUCCEEDED", "repair": 0} | detail
    return {
        "id": event_id,
        "source": RUN_EVENT_SOURCE,
        "detail-type": RUN_ENDED_DETAIL_TYPE,
        "time": "2026-11-21T10:00:00Z",
        "resources": [],
        "detail": ended | {"logical_date": "2026-11-20T00:00:00.000Z", "ended_at": "2026-11-21T09:59:58.120Z"},
    }


def test_statuses_default_to_succeeded_and_take_any_case_or_the_enum() -> None:
    assert on_workflow("extract").statuses == (RunStatus.SUCCEEDED,)
    written = on_workflow("extract", ["failed", "Timed_Out", RunStatus.SUCCEEDED_WITH_FAILURES, "ABORTED"])
    assert written.statuses == (
        RunStatus.FAILED,
        RunStatus.TIMED_OUT,
        RunStatus.SUCCEEDED_WITH_FAILURES,
        RunStatus.ABORTED,
    )
    assert on_workflow("extract", "failed").statuses == (RunStatus.FAILED,)  # one status, not its letters


def test_a_workflow_object_gives_its_name() -> None:
    assert on_workflow(flow("extract")).upstream == "extract"


@pytest.mark.parametrize("bad", ["finished", "SKIPPED", "QUEUED", "running"])
def test_a_status_no_run_ends_with_is_refused_naming_the_allowed_ones(bad: str) -> None:
    with pytest.raises(TriggerError) as info:
        on_workflow("extract", ["succeeded", bad])
    message = str(info.value)
    assert f"on_workflow: status {bad.lower()!r} is not a status a run ends with: use " in message
    assert "aborted, failed, succeeded, succeeded_with_failures, timed_out" in message


def test_an_empty_status_list_and_an_unknown_field_are_refused() -> None:
    with pytest.raises(TriggerError, match="statuses is empty"):
        on_workflow("extract", [])
    with pytest.raises(TriggerError, match="maps to 'params', which is no field of the upstream run: use one of "):
        on_workflow("extract", params={"x": "params"})  # never the upstream's parameters


def test_the_pattern_matches_the_upstream_run_ends_with_those_statuses() -> None:
    trig = on_workflow("extract", ["failed", "timed_out"])
    assert trig.pattern == {
        "source": [RUN_EVENT_SOURCE],
        "detail-type": [RUN_ENDED_DETAIL_TYPE],
        "detail": {"workflow": ["extract"], "status": ["FAILED", "TIMED_OUT"], "repair": [0]},
    }
    assert matches(trig.pattern, run_end_event("a", status="FAILED"))
    assert not matches(trig.pattern, run_end_event("b", status="SUCCEEDED"))
    assert not matches(trig.pattern, run_end_event("c", status="FAILED", workflow="other"))
    assert not matches(trig.pattern, run_end_event("d", status="FAILED", repair=1))
    with_repairs = on_workflow("extract", ["failed"], include_repairs=True)
    assert "repair" not in with_repairs.pattern["detail"]
    assert matches(with_repairs.pattern, run_end_event("e", status="FAILED", repair=1))


def test_triggers_are_named_and_described() -> None:
    wf = flow("load", on_workflow("extract"), on_workflow("extract", ["failed"], name="on_failure"))
    assert list(triggers_of(wf)) == ["workflow", "on_failure"]
    assert describe(triggers_of(wf)["on_failure"]) == "after a extract run ends FAILED"
    assert upstream_workflows(wf) == ["extract"]


def test_the_run_id_derives_from_the_upstream_run_and_pass_not_the_event() -> None:
    wf = flow("load", on_workflow("extract", params={"upstream": "run_id"}), params={"upstream": Param(str)})
    first = plan_run({"trigger": "workflow", "event": run_end_event("ev-1")}, wf)
    again = plan_run({"trigger": "workflow", "event": run_end_event("ev-2")}, wf)  # published twice
    assert first.run_id == again.run_id
    assert first.run_id == upstream_run_id(
        "load", "workflow", "extract", "r-1", 0, datetime(2026, 11, 21, 9, 59, 58, 120_000, tzinfo=UTC)
    )
    assert first.run_id.startswith("w-20261121T095958Z-")
    assert first.params == {"upstream": "r-1"}
    assert first.logical_date == "2026-11-20T00:00:00.000Z"
    assert first.trigger == {
        "type": "workflow",
        "name": "workflow",
        "upstream_workflow": "extract",
        "upstream_run_id": "r-1",
        "upstream_repair": 0,
        "status": RunStatus.SUCCEEDED,
        "event_id": "ev-1",
    }
    other_run = plan_run({"trigger": "workflow", "event": run_end_event("ev-3", run_id="r-2")}, wf)
    assert other_run.run_id != first.run_id
    assert upstream_run_id("load", "workflow", "extract", "r-1", 1, None) != upstream_run_id(
        "load", "workflow", "extract", "r-1", 0, None
    )


def test_an_event_the_trigger_does_not_wait_for_is_rejected() -> None:
    from orchestration.errors import ParameterError

    wf = flow("load", on_workflow("extract"))
    with pytest.raises(ParameterError, match="waits for extract runs ending SUCCEEDED"):
        plan_run({"trigger": "workflow", "event": run_end_event("x", status="FAILED")}, wf)
    with pytest.raises(ParameterError, match="is no run end"):
        plan_run({"trigger": "workflow", "event": {"id": "y", "detail": {"workflow": "extract"}}}, wf)


def test_the_event_detail_carries_ids_and_statuses_only() -> None:
    assert set(RunEnded.model_fields) == {"workflow", "run_id", "status", "repair", "logical_date", "ended_at"}


def test_validation_refuses_a_workflow_starting_itself_and_unset_required_parameters() -> None:
    with pytest.raises(ValidationError) as info:
        validate(flow("load", on_workflow("load"), on_workflow("extract", name="x"), params={"day": Param(str)}))
    message = str(info.value)
    assert "workflow 'load' would start itself each time it ends" in message
    assert "leaves required parameter 'day' unset: give it a value with params={'day': 'run_id'}" in message


def test_a_trigger_built_directly_is_checked_too() -> None:
    bad = WorkflowTrigger(upstream="extract", statuses=("done",))
    with pytest.raises(ValidationError, match="status 'done' is not a status a run ends with"):
        validate(flow("load", bad))


def test_chains_name_unknown_upstreams_and_cycles() -> None:
    a = flow("a", on_workflow("c"))
    b = flow("b", on_workflow("a"))
    c = flow("c", on_workflow("b"))
    assert chain_problems([a, b, c]) == [
        "on_workflow triggers form a cycle: a -> b -> c -> a (each run would start the next forever): "
        "remove one of these triggers"
    ]
    assert chain_problems([b, c]) == [
        "workflow 'b', trigger 'workflow': on_workflow('a') names no workflow of this project (its workflows: b, c): "
        "fix the name or add the workflow"
    ]
    assert chain_problems([flow("a"), b, flow("c", on_workflow("a"))]) == []


def test_an_express_upstream_is_refused() -> None:
    fast = Workflow("fast", type="EXPRESS")

    @fast.task()
    def ping() -> int:
        return 1

    [problem] = chain_problems([fast, flow("b", on_workflow("fast"))])
    assert "on_workflow('fast') listens to an EXPRESS workflow" in problem and "type='STANDARD'" in problem
