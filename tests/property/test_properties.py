"""Property-based tests (hypothesis): every generated declaration, parameter set, schedule, pattern and
delivery is either accepted or rejected with the project's own error type, never another exception.
Workflows that validate compile deterministically and run to an outcome on the local cloud.

`pytest -s tests/property` prints how many examples each property tried.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from orchestration import OrchestrationError, Param, Pool, RunIf, Workflow, compile_workflow, to_json
from orchestration.errors import ParameterError
from orchestration.local import LocalCloud
from orchestration.runtime.trigger import plan_run
from orchestration.status import TERMINAL_RUN, TERMINAL_TASK, TaskStatus
from orchestration.triggers import EventTrigger, Schedule
from orchestration.triggers.checks import trigger_problems
from orchestration.triggers.patterns import pattern_problems
from orchestration.validation import problems
from tests.reference import expected_statuses

TRIED: Counter[str] = Counter()
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
anything = json_value | st.binary(max_size=8) | st.sets(st.integers(), max_size=3)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print("\nhypothesis examples tried: " + ", ".join(f"{k} {v}" for k, v in sorted(TRIED.items())))


TYPED = Workflow(
    "typed",
    params={
        "day": str,
        "rows": Param(int, default=10),
        "ratio": Param(float, default=0.5),
        "on": Param(bool, default=True),
    },
)


@given(st.dictionaries(st.text(max_size=8) | st.sampled_from(["day", "rows", "ratio", "on"]), anything, max_size=5))
@settings(max_examples=300, deadline=None)
def test_parameters_are_parsed_or_refused_with_a_parameter_error(values: dict[str, Any]) -> None:
    TRIED["parameters"] += 1
    try:
        parsed = TYPED.parse_params(values)
    except ParameterError as exc:
        assert str(exc).startswith("bad parameters for workflow 'typed'")
        return
    assert set(parsed) == {"day", "rows", "ratio", "on"} and isinstance(parsed["rows"], int)


@given(
    cron=st.text(max_size=40) | st.sampled_from(["0 6 ? * MON-FRI *", "*/5 * * * ? *", "0 0 L * ? 2030"]),
    rate=st.none() | st.text(max_size=20) | st.sampled_from(["1 hour", "15 minutes", "0 days"]),
    timezone=st.text(max_size=20) | st.sampled_from(["UTC", "Europe/Paris", "Mars/Olympus"]),
    window=st.none() | st.integers(-5, 2000),
    retries=st.integers(-3, 300),
    age=st.integers(0, 100_000),
)
@settings(max_examples=300, deadline=None)
def test_schedules_are_accepted_or_described(
    cron: str, rate: str | None, timezone: str, window: int | None, retries: int, age: int
) -> None:
    TRIED["schedules"] += 1
    wf = Workflow(
        "sched",
        schedule=Schedule(
            cron=cron or None,
            rate=rate,
            timezone=timezone,
            flexible_window_minutes=window,
            retry_attempts=retries,
            max_event_age_seconds=age,
        ),
    )
    found = trigger_problems(wf)
    assert all(isinstance(p, str) and p for p in found)


@given(json_value)
@settings(max_examples=300, deadline=None)
def test_event_patterns_are_accepted_or_described(pattern: Any) -> None:
    TRIED["event patterns"] += 1
    found = pattern_problems(pattern)
    assert all(isinstance(p, str) and p for p in found)


INGEST = Workflow(
    "ingest",
    params={"key": str, "priority": Param(int, default=5)},
    triggers=[
        EventTrigger(
            name="arrived",
            pattern={"source": ["aws.s3"]},
            params={"key": "$.detail.object.key", "priority": "$.detail.priority"},
        )
    ],
    schedule=Schedule(cron="0 6 * * ? *", params={"key": "daily.csv"}, name="daily"),
)


@INGEST.task
def read(ctx: Any) -> str:
    return str(ctx.params.key)


EXTREMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
delivery = st.fixed_dictionaries(
    {"trigger": st.sampled_from(["arrived", "daily", "nope"]) | json_value},
    optional={
        "event": json_value
        | st.fixed_dictionaries(
            {"id": json_value, "time": json_value | st.sampled_from(EXTREMES)},
            optional={"detail": json_value},
        ),
        "scheduled_time": json_value | st.sampled_from(EXTREMES),
        "execution_id": json_value,
        "attempt": json_value,
    },
)


@given(payload=delivery)
@settings(max_examples=400, deadline=None)
@example(payload={"trigger": "arrived", "event": {"id": "e1", "time": EXTREMES[0]}})
@example(payload={"trigger": "arrived", "event": {"id": "e1", "time": EXTREMES[1]}})
@example(payload={"trigger": "daily", "scheduled_time": EXTREMES[0]})
@example(payload={"trigger": "daily", "scheduled_time": EXTREMES[1]})
def test_deliveries_are_planned_or_refused_with_a_parameter_error(payload: dict[str, Any], quiet_logs: None) -> None:
    TRIED["deliveries"] += 1
    try:
        planned = plan_run(payload, INGEST)
    except ParameterError:
        return
    assert RUN_ID.match(planned.run_id), planned.run_id


@st.composite
def dags(draw: st.DrawFn) -> tuple[Workflow, set[str]]:
    """A random DAG of up to 7 tasks; each may fail; each has a random run-if; some are pooled (a
    pooled task's run-if is a Choice state, a plain task decides its own)."""
    n = draw(st.integers(1, 7))
    wf = Workflow(f"dag{draw(st.integers(0, 10**6))}")
    failing: set[str] = set()
    for i in range(n):
        name = f"t{i}"
        after = draw(st.lists(st.sampled_from([f"t{j}" for j in range(i)]), unique=True, max_size=3)) if i else []
        fails = draw(st.booleans()) and draw(st.booleans())
        if fails:
            failing.add(name)

        def body(ctx: Any, _fails: bool = fails, _name: str = name) -> str:
            if _fails:
                raise RuntimeError(f"{_name} fails on purpose")
            return _name

        body.__name__ = name
        pool = POOL if draw(st.booleans()) and draw(st.booleans()) else None
        wf.task(name=name, after=after, run_if=draw(st.sampled_from(list(RunIf))), pool=pool)(body)
    return wf, failing


POOL = Pool("prop", slots=2)


@given(dags())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_dags_validate_and_compile_deterministically(case: tuple[Workflow, set[str]]) -> None:
    TRIED["DAG compiles"] += 1
    wf, _ = case
    assert problems(wf) == []
    assert to_json(compile_workflow(wf)) == to_json(compile_workflow(wf))


@pytest.fixture(scope="module")
def cloud(quiet_logs: None) -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        yield c


@given(case=dags())
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_random_dags_run_to_an_outcome_on_the_local_cloud(cloud: LocalCloud, case: tuple[Workflow, set[str]]) -> None:
    TRIED["DAG runs"] += 1
    wf, failing = case
    try:
        run = cloud.run(wf)
    except OrchestrationError:  # a second workflow with a name already drawn
        return
    assert run.status in TERMINAL_RUN
    assert {t.status for t in run.tasks.values()} <= TERMINAL_TASK, {n: t.status for n, t in run.tasks.items()}
    for name, task in run.tasks.items():
        if task.status == TaskStatus.SUCCEEDED:
            assert name not in failing
        if task.status == TaskStatus.FAILED:
            assert name in failing and "fails on purpose" in (task.error or "")
    roots = [n for n, t in wf.tasks.items() if not t.after]
    assert all(run.tasks[n].status != TaskStatus.SKIPPED for n in roots)  # a task without dependencies always runs
    assert {n: t.status for n, t in run.tasks.items()} == expected_statuses(wf, failing)


@given(
    name=st.text(max_size=90),
    task=st.text(max_size=70),
    retry=st.none() | st.integers(-3, 200) | st.booleans() | st.text(max_size=3),
    interval=st.integers(-5, 10**6),
    backoff=st.floats(-2, 20, allow_nan=False),
    memory=st.integers(-1, 20_000),
    timeout=st.none() | st.integers(-10, 10**9),
    concurrency=st.integers(-5, 50_000),
    run_if=st.text(max_size=20) | st.sampled_from([r.value for r in RunIf]),
)
@settings(max_examples=300, deadline=None)
@example(name="\x00", task="t", retry=None, interval=1, backoff=2.0, memory=512, timeout=None, concurrency=1, run_if="")
def test_declarations_are_accepted_or_refused_with_the_projects_errors(
    name: str,
    task: str,
    retry: Any,
    interval: int,
    backoff: float,
    memory: int,
    timeout: int | None,
    concurrency: int,
    run_if: str,
) -> None:
    """Any declaration either validates and compiles, or is refused by the project's own errors."""
    from orchestration import Resources, Retry

    TRIED["declarations"] += 1
    try:
        wf = Workflow(name)
        source = wf.task(name="source")(lambda: [1, 2])
        policy = (
            Retry(max_attempts=retry, interval_seconds=interval, backoff_rate=backoff)
            if isinstance(retry, int)
            else retry
        )
        wf.task(
            name=task,
            after=[source],
            retry=policy,
            timeout_seconds=timeout,
            resources=Resources(memory_mb=memory),
            run_if=run_if,
        )(lambda ctx: None)
        wf.task(name="each", for_each=source, max_concurrency=concurrency)(lambda item: item)
    except OrchestrationError:
        return
    found = problems(wf)
    if not found:
        assert to_json(compile_workflow(wf)) == to_json(compile_workflow(wf))
    else:
        assert all(isinstance(p, str) and p for p in found)
