"""Platform functions describe rejected values by type and size: a secret-looking value fed through
every rejection path never reaches their logs (nor the errors Lambda would log), the reason does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from orchestration.errors import OrchestrationError
from orchestration.loader import load_workflow
from orchestration.local import LocalCloud
from orchestration.local.triggering import complete_event
from orchestration.runtime.deps import Runtime
from orchestration.runtime.finalize import run_finalize
from orchestration.runtime.join import run_join
from orchestration.runtime.log import logger
from orchestration.runtime.recorder import record_status
from orchestration.runtime.redact import MalformedPayload, check_params, describe
from orchestration.runtime.registry import SERVICE
from orchestration.runtime.subflow import run_subflow
from orchestration.runtime.trigger import run_trigger
from tests.samples import S3_EVENT, example

SECRET = "AKIAIOSFODNN7EXAMPLE-wJalrXUtnFEMI-SECRET"


@pytest.fixture(scope="module")
def wf() -> Any:
    return load_workflow(str(example("file_arrival")))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the platform logger wrote: its records as its JSON formatter renders them (with
    their extra keys), and whatever reached stdout/stderr."""
    with caplog.at_level(logging.DEBUG, logger=SERVICE):

        def text() -> str:
            out = capfd.readouterr()
            lines = [logger.registered_formatter.format(r) for r in caplog.records]
            return "\n".join(lines) + out.out + out.err

        yield text


@pytest.fixture
def rt(cloud: LocalCloud, wf: Any) -> Runtime:
    dep = cloud.deploy(wf)
    return Runtime(cloud.ledger, workflow=wf, stepfunctions=cloud.sfn, state_machine_arn=dep.state_machine_arn)


def test_describe_says_type_and_size_only() -> None:
    assert describe(SECRET) == f"str of {len(SECRET)} chars"
    assert describe({"a": SECRET, "b": 1, "c": 2}) == "dict with 3 keys"
    assert describe([SECRET]) == "list of 1 item"
    assert describe(b"xy") == "bytes of 2 bytes"
    assert (describe(None), describe(4.5), describe(True)) == ("null", "float", "bool")


@pytest.mark.parametrize(
    ("delivery", "reason"),
    [
        (
            {"trigger": "report_requested", "event": {"id": "r1", "detail": {"key": "k", "priority": SECRET}}},
            "parameter 'priority': Input should be a valid integer, unable to parse string as an integer "
            f"(got str of {len(SECRET)} chars)",
        ),
        ({"trigger": SECRET, "event": S3_EVENT}, f"no trigger named by this delivery (got str of {len(SECRET)} chars"),
        ({"trigger": "weekday_morning", "scheduled_time": SECRET}, "without a valid ISO 8601 scheduled_time (got str"),
        (
            {"trigger": "weekday_morning", "scheduled_time": [SECRET]},
            "'scheduled_time': Input should be a valid string",
        ),
        (
            {"trigger": "weekday_morning", "scheduled_time": "2026-01-01T00:00:00Z", "attempt": {"k": SECRET}},
            "'attempt",
        ),
        ({"trigger": "csv_arrived", "event": {"detail": {"x": SECRET}}}, "has no event with an id"),
    ],
)
def test_trigger_rejections_name_the_reason_not_the_value(
    rt: Runtime, logs: Callable[[], str], delivery: dict[str, Any], reason: str
) -> None:
    if "event" in delivery and isinstance(delivery["event"], dict) and "id" in delivery["event"]:
        delivery = {**delivery, "event": complete_event(delivery["event"])}
    result = run_trigger(delivery, rt)
    text = logs()
    assert result["status"] == "rejected"
    assert reason in result["error"] and reason in text
    assert SECRET not in text and SECRET not in result["error"]


def test_recorder_describes_a_malformed_event(rt: Runtime, logs: Callable[[], str]) -> None:
    for event in ({"detail": SECRET}, {"detail": {"name": SECRET}}, [SECRET, SECRET]):
        assert record_status(event, rt) == {"action": "ignored"}  # type: ignore[arg-type]
    text = logs()
    assert "not an execution status change event" in text and "list of 2 items" in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("run", "payload", "fragment"),
    [
        (
            run_join,
            {"action": "wait", "token": 7, "run_id": SECRET, "task": "t"},
            "'wait.token': Input should be a valid string (got int)",
        ),
        (run_join, {"action": SECRET}, "is malformed (dict with 1 key): '<payload>': union_tag_invalid (got dict"),
        (
            run_finalize,
            {"run": {"run_id": SECRET}, "leaves": SECRET, "tasks": {}},
            "'leaves': Input should be a valid list",
        ),
        (run_subflow, {"step": "start", "run": SECRET, "task": "t"}, "'start.run': Input should be"),
    ],
)
def test_platform_payload_errors_describe_values(
    rt: Runtime, logs: Callable[[], str], run: Callable[[Any, Runtime], Any], payload: Any, fragment: str
) -> None:
    with pytest.raises(MalformedPayload) as info:
        run(payload, rt)
    message = str(info.value)  # what Lambda would log as the function's error
    assert fragment in message and "redeploy" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in message and SECRET not in logs()


def test_child_parameters_are_checked_without_echoing_them(wf: Any) -> None:
    with pytest.raises(OrchestrationError) as info:
        check_params(wf, {"key": "k", "priority": SECRET, "extra": SECRET})
    message = str(info.value)
    assert "parameter 'priority'" in message and "unknown parameter 'extra'" in message and SECRET not in message
    with pytest.raises(OrchestrationError, match="'key' is required"):
        check_params(wf, {})
