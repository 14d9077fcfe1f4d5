"""Task code that raises BaseException subclasses, an exception whose str() fails, huge error
messages, outputs past the payload limit, or hangs: the task ends FAILED with a recorded reason and
the run ends (never SUCCEEDED with a task left PENDING, never left RUNNING).

A task that kills its own process (os._exit, SIGKILL) is out of scope in-process: the local runtime
runs task code in the `orch run` process, so it would end the command itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from orchestration import Retry, RunIf, Workflow
from orchestration.local import LocalCloud
from orchestration.protocol import PAYLOAD_LIMIT_BYTES
from orchestration.status import RunStatus, TaskStatus
from tests.hostile.conftest import open_runs


class CustomBase(BaseException):
    pass


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() of this error fails")


class BadRepr(Exception):
    def __str__(self) -> str:
        return 42  # type: ignore[return-value]


def _raise(exc: BaseException) -> Callable[[], Any]:
    def boom() -> Any:
        raise exc

    return boom


RAISES = [
    ("keyboard_interrupt", KeyboardInterrupt(), "KeyboardInterrupt"),
    ("keyboard_interrupt_class", KeyboardInterrupt, "KeyboardInterrupt"),
    ("generator_exit", GeneratorExit("closing"), "GeneratorExit"),
    ("custom_base", CustomBase("custom"), "CustomBase"),
    ("system_exit_0", SystemExit(0), "Runtime.ExitError"),
    ("system_exit_str", SystemExit("bye"), "Runtime.ExitError"),
    ("bad_str", BadStr(), "BadStr"),
    ("str_returns_int", BadRepr(), "BadRepr"),
    ("empty_message", ValueError(), "ValueError"),
]

_counter = iter(range(10_000))


def _flow(*tasks: tuple[str, Callable[..., Any], dict[str, Any]]) -> Workflow:
    wf = Workflow(f"hostile_task_{next(_counter)}")
    for name, fn, options in tasks:
        wf.task(name=name, **options)(fn)
    return wf


@pytest.mark.parametrize(("case", "exc", "error"), RAISES, ids=[c[0] for c in RAISES])
def test_a_task_raising_anything_ends_failed_with_its_reason(
    cloud: LocalCloud, case: str, exc: BaseException, error: str
) -> None:
    wf = _flow(("boom", _raise(exc), {}), ("after", lambda boom: 1, {}))
    run = cloud.run(wf)
    assert run.status == RunStatus.FAILED
    assert run.tasks["boom"].status == TaskStatus.FAILED
    recorded = run.tasks["boom"].error or ""
    assert recorded.split(":", 1)[0] == error  # "<error>: <message>"
    recorded.encode("utf-8")  # valid text, whatever the exception held
    assert run.tasks["after"].status == TaskStatus.UPSTREAM_FAILED
    assert run.run_id not in open_runs(cloud)


def test_an_error_message_that_is_not_valid_text(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest-xdist cannot ship a captured log line holding a lone surrogate: keep the task's log out
    monkeypatch.setattr("orchestration.runtime.task.logger.error", lambda *a, **k: None)
    wf = _flow(("boom", _raise(ValueError("bad " + chr(0xDCFF) + " text")), {}))
    run = cloud.run(wf)
    assert run.status == RunStatus.FAILED
    assert (run.tasks["boom"].error or "") == "ValueError: bad \\udcff text"  # recorded as valid UTF-8
    assert run.run_id not in open_runs(cloud)


def test_a_task_raising_keyboard_interrupt_is_retried_then_caught(cloud: LocalCloud) -> None:
    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) < 2:
            raise KeyboardInterrupt
        return 7

    wf = _flow(("flaky", flaky, {"retry": Retry(max_attempts=2, interval_seconds=1)}))
    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED
    assert run.tasks["flaky"].attempts == 2


HUGE = [
    ("over_payload_limit", "e" * (PAYLOAD_LIMIT_BYTES + 10)),
    ("over_payload_limit_multibyte", "é" * PAYLOAD_LIMIT_BYTES),
    ("a_megabyte", "m" * 1_000_000),
]


@pytest.mark.parametrize(("case", "message"), HUGE, ids=[c[0] for c in HUGE])
def test_error_messages_larger_than_the_payload_limit(cloud: LocalCloud, case: str, message: str) -> None:
    def huge() -> None:
        raise ValueError(message)

    def cleanup(huge: Any) -> str:
        return "cleaned"

    wf = _flow(
        ("huge", huge, {"retry": Retry(max_attempts=1, interval_seconds=1)}),
        ("cleanup", cleanup, {"run_if": RunIf.ALL_DONE}),
    )
    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED_WITH_FAILURES  # the cleanup ran and succeeded
    assert run.tasks["huge"].status == TaskStatus.FAILED
    assert (run.tasks["huge"].error or "").startswith("ValueError: ")
    causes = [
        detail["cause"]
        for event in cloud.execution_history(run.run_id)
        for key, detail in event.items()
        if key.endswith("FailedEventDetails") and "cause" in detail
    ]
    assert causes, "the failure reached the state machine"
    assert all(len(c.encode()) < 16_384 and "truncated" in c for c in causes)  # cut well below the limit
    assert run.tasks["huge"].attempts == 2  # Retry still applied
    assert run.tasks["cleanup"].status == TaskStatus.SUCCEEDED  # run-if still evaluated
    assert run.run_id not in open_runs(cloud)


def _largest_state(cloud: LocalCloud, run_id: str) -> int:
    """Bytes of the largest state input/output in the execution's history."""
    return max(
        (
            len(str(detail.get(key, "")).encode())
            for event in cloud.execution_history(run_id)
            for detail in event.values()
            if isinstance(detail, dict)
            for key in ("input", "output")
        ),
        default=0,
    )


def test_outputs_that_together_pass_the_payload_limit(cloud: LocalCloud) -> None:
    """Each output fits inline (< 32 KiB) but together they exceed the state's 256 KiB: the runtime
    moves outputs to the artifact bucket so the state stays within the limit."""

    def make(i: int) -> Callable[[], str]:
        return lambda: str(i) * 30_000

    tasks = [(f"t{i}", make(i), {}) for i in range(12)]
    wf = _flow(*tasks, ("last", lambda: "done", {"after": [f"t{i}" for i in range(12)]}))
    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED
    assert {t.status for t in run.tasks.values()} == {TaskStatus.SUCCEEDED}
    assert _largest_state(cloud, run.run_id) < PAYLOAD_LIMIT_BYTES


def test_a_for_each_whose_collected_outputs_overflow(cloud: LocalCloud) -> None:
    def items() -> list[int]:
        return list(range(40))

    def each(item: int) -> str:
        return "x" * 30_000  # inline each, 1.2 MB together

    def after(each: Any) -> int:
        return len(each)

    wf = Workflow(f"hostile_fe_{next(_counter)}")
    wf.task(name="items")(items)
    wf.task(name="each", for_each="items")(each)
    wf.task(name="after")(after)
    run = cloud.run(wf)
    assert run.status == RunStatus.SUCCEEDED
    assert run.tasks["after"].status == TaskStatus.SUCCEEDED
    assert _largest_state(cloud, run.run_id) < PAYLOAD_LIMIT_BYTES


def test_a_for_each_list_too_large_for_the_state(cloud: LocalCloud) -> None:
    """A list an inline for-each iterates must stay in the state: past the limit, its task fails with
    the reason (mode="auto" would run it as a Distributed Map)."""

    def items() -> list[str]:
        return [f"item-{i:06d}" for i in range(40_000)]

    wf = Workflow(f"hostile_fe_{next(_counter)}")
    wf.task(name="items")(items)
    wf.task(name="each", for_each="items", mode="inline")(lambda item: item)
    run = cloud.run(wf)
    assert run.status == RunStatus.FAILED
    assert run.tasks["items"].status == TaskStatus.FAILED
    assert "for-each" in (run.tasks["items"].error or "")
    assert run.tasks["each"].status == TaskStatus.UPSTREAM_FAILED
    assert run.run_id not in open_runs(cloud)


def test_a_task_that_hangs_past_its_timeout_ends_timed_out(cloud: LocalCloud) -> None:
    def hang() -> None:
        time.sleep(6)

    wf = _flow(("hang", hang, {"timeout_seconds": 1}))
    began = time.monotonic()
    run = cloud.run(wf)
    assert time.monotonic() - began < 30
    assert run.status in (RunStatus.FAILED, RunStatus.TIMED_OUT)
    assert run.tasks["hang"].status == TaskStatus.FAILED
    assert run.run_id not in open_runs(cloud)


def test_wait_never_hangs_past_its_own_timeout(cloud: LocalCloud) -> None:
    def hang() -> None:
        time.sleep(8)

    wf = _flow(("hang", hang, {}))
    rid = cloud.start(wf)
    began = time.monotonic()
    run = cloud.wait(rid, timeout_seconds=1)
    assert time.monotonic() - began < 20
    assert run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    assert run.tasks["hang"].status != TaskStatus.RUNNING


def test_an_interrupted_wait_stops_the_run_and_records_it(cloud: LocalCloud) -> None:
    """Ctrl-C while `orch run` waits: the run is stopped (ABORTED) and recorded, not left RUNNING."""

    def slow() -> None:
        time.sleep(3)

    wf = _flow(("slow", slow, {}))
    rid = cloud.start(wf)

    def interrupt(_: Any) -> None:
        raise KeyboardInterrupt

    run = cloud.wait(rid, on_progress=interrupt)
    assert run.status == RunStatus.ABORTED
    assert run.tasks["slow"].status != TaskStatus.RUNNING
    assert rid not in open_runs(cloud)
