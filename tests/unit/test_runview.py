"""`orch runs show` in the terminal: what a person sees of one run (header, tasks, timeline, graph)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from orchestration.cli.runview import MAX_ROWS, describe_trigger, render_run, run_json
from orchestration.ledger import Attempt, RunRecord
from orchestration.ledger.records import SHOWN_OUTPUT_BYTES, task_records
from orchestration.status import RunStatus, TaskStatus
from orchestration.times import iso

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
OK, FAILED, RUNNING = TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.RUNNING
Graph = Mapping[str, Sequence[str]]


def at(seconds: float) -> str:
    return iso(T0 + timedelta(seconds=seconds))


def attempt(task: str, n: int, status: str, start: float | None, end: float | None, **kw: Any) -> Attempt:
    return Attempt(
        task,
        n,
        status,
        started_at="" if start is None else at(start),
        ended_at=None if end is None else at(end),
        duration_ms=None if start is None or end is None else int((end - start) * 1000),
        **kw,
    )


def record(
    attempts: list[Attempt], status: str = RunStatus.SUCCEEDED, ended: float | None = 100, **kw: Any
) -> RunRecord:
    return RunRecord(
        "run-1",
        "daily_etl",
        status,
        created_at=at(0),
        started_at=at(0),
        ended_at=None if ended is None else at(ended),
        attempts=attempts,
        tasks=task_records(attempts, []),
        **kw,
    )


def shown(run: RunRecord, graph: Graph | None = None, width: int = 100, **kw: Any) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(render_run(run, graph, width=width, **kw))
    return console.export_text()


def bars(text: str) -> dict[str, str]:
    """Each timeline row's bar area (the columns right of the labels), by task name."""
    lines = text.splitlines()
    start = lines.index("timeline") + 1
    axis = next(i for i in range(start, len(lines)) if "└" in lines[i])
    left = lines[axis].index("└")
    return {line[:left].strip(): line[left:].ljust(len(lines[axis]) - left) for line in lines[start:axis]}


def table_rows(text: str) -> dict[str, list[str]]:
    """The task table's rows (not its heading): cells by task name."""
    rows = [[cell.strip() for cell in line.split("│")] for line in text.splitlines() if "│" in line]
    return {cells[0]: cells[1:] for cells in rows}


def test_the_header_says_which_run_how_it_ended_and_what_started_it() -> None:
    run = record(
        [attempt("extract", 1, OK, 0, 100)],
        logical_date="2026-11-21T00:00:00.000Z",
        definition_hash="d41d8cd98f00",
        trigger={"type": "schedule", "name": "nightly", "scheduled_time": "2026-11-21T00:00:00.000Z"},
        error="States.TaskFailed: boom",
    )
    text = shown(run)
    header = text.split("\ntasks\n")[0]
    assert re.search(r"run\s+run-1", header) and re.search(r"workflow\s+daily_etl", header)
    assert re.search(r"status\s+SUCCEEDED", header)
    assert re.search(r"started\s+2026-11-21T10:00:00.000Z", header)
    assert re.search(r"ended\s+2026-11-21T10:01:40.000Z", header)
    assert re.search(r"duration\s+1m 40s *\n", header)
    assert re.search(r"logical date\s+2026-11-21T00:00:00.000Z", header)
    assert re.search(r"trigger\s+schedule nightly at 2026-11-21T00:00:00.000Z", header)
    assert re.search(r"definition\s+d41d8cd98f00", header)
    assert re.search(r"error\s+States.TaskFailed: boom", header)
    assert "repair" not in header


def test_the_header_lists_repairs_when_the_record_has_them() -> None:
    run = record([attempt("extract", 1, OK, 0, 100)])
    run.__dict__["repairs"] = [{"started_at": at(200), "tasks": ["load"], "reason": "fixed the loader"}]
    header = shown(run).split("\ntasks\n")[0]
    assert re.search(r"repair 1\s+started at 2026-11-21T10:03:20.000Z, reason fixed the loader", header)


@pytest.mark.parametrize(
    ("trigger", "said"),
    [
        ({"type": "manual"}, "manual"),
        ({"type": "manual", "identity": "arn:aws:iam::1:user/ana"}, "manual identity arn:aws:iam::1:user/ana"),
        (
            {"type": "event", "name": "uploads", "event_id": "e-7", "source": "aws.s3", "time": None},
            "event e-7 from aws.s3 (trigger uploads)",
        ),
        (
            {"type": "workflow", "parent_run_id": "p-1", "parent_workflow": "outer", "parent_task": "child"},
            "run p-1 of outer, task child",
        ),
        (
            {"type": "workflow", "name": "after", "upstream_workflow": "extract", "upstream_run_id": "r-9"}
            | {"upstream_repair": 0, "status": "SUCCEEDED", "event_id": "ev-1"},
            "extract run r-9 ended SUCCEEDED (trigger after)",
        ),
        (
            {"type": "workflow", "name": "after", "upstream_workflow": "extract", "upstream_run_id": "r-9"}
            | {"upstream_repair": 2, "status": "FAILED"},
            "extract run r-9 (repair 2) ended FAILED (trigger after)",
        ),
        ({"type": "backfill", "backfill_id": "b-2", "window": {"start": "x"}}, "backfill backfill id b-2"),
        ({"type": "repair", "repair": 2, "of_run": "run-1"}, "repair repair 2, of run run-1"),
        ({"type": "external", "note": "started outside the trigger function"}, "external: started outside"),
        ({}, "unknown"),
    ],
)
def test_a_trigger_is_described_in_a_few_words(trigger: dict[str, Any], said: str) -> None:
    assert describe_trigger(trigger).startswith(said)


def test_the_task_table_shows_each_tasks_outcome_in_graph_order() -> None:
    attempts = [
        attempt("extract", 1, OK, 0, 10, output={"rows": 990}),
        attempt("split", 1, OK, 10, 30, index=0, output=1),
        attempt("split", 1, OK, 12, 40, index=1, output=2),
        attempt("split", 1, OK, 14, 35, index=2, output=3),
        attempt("load", 1, FAILED, 40, 100, error="KeyError", message="'table'"),
    ]
    graph = {"load": ["split"], "split": ["extract"], "extract": [], "publish": ["load"]}
    text = shown(record(attempts, RunStatus.FAILED), graph)
    rows = table_rows(text)
    names = [line.split("│")[0].strip() for line in text.split("\ntimeline\n")[0].splitlines() if "│" in line]
    assert names == ["extract", "split", "load", "publish"]
    assert rows["extract"][:5] == ["SUCCEEDED", "1", "", "+0 ms", "10.0 s"] and rows["extract"][6] == '{"rows":990}'
    assert rows["split"][:5] == ["SUCCEEDED", "1", "3", "+10.0 s", "30.0 s"] and rows["split"][6] == "[1,2,3]"
    assert rows["load"][:5] == ["FAILED", "1", "", "+40.0 s", "1m 00s"] and rows["load"][5] == "KeyError: 'table'"
    assert rows["publish"][:2] == ["PENDING", "0"]  # in the graph, never reached


def test_bars_sit_where_the_attempts_ran_on_the_run_axis() -> None:
    run = record([attempt("first", 1, OK, 0, 50), attempt("second", 1, OK, 50, 100)])
    rows = bars(shown(run))
    first, second = rows["first"], rows["second"]
    cols = len(first)
    assert cols == len(second) == 100 - len("second ")  # labels and bars fill the width
    assert set(first.rstrip()) == {"█"} and abs(len(first.rstrip()) - cols / 2) <= 1  # the left half
    assert set(second.lstrip()) == {"█"} and abs(len(second.lstrip()) - cols / 2) <= 1  # the right half


def test_a_retry_shows_two_segments_with_the_wait_between_them() -> None:
    run = record([attempt("load", 1, FAILED, 0, 20), attempt("load", 2, OK, 60, 100)])
    bar = bars(shown(run))["load"]
    match = re.fullmatch(r"(▓+)(·+)(█+)", bar)
    assert match is not None, bar
    # the first attempt took the first fifth of the run, the wait two fifths, the retry the rest
    for part, share in zip(match.groups(), (0.2, 0.4, 0.4), strict=True):
        assert abs(len(part) - share * len(bar)) <= 1


def test_retries_without_a_wait_are_still_told_apart() -> None:
    attempts = [attempt("load", n, FAILED, 30 * (n - 1), 30 * n) for n in (1, 2, 3)]
    bar = bars(shown(record(attempts, RunStatus.FAILED, ended=90)))["load"]
    assert re.fullmatch(r"▓+│▓+│▓+", bar), bar  # three attempts, each after the next begins with a mark


def test_a_record_without_attempts_draws_each_task_as_one_bar() -> None:
    run = record([attempt("extract", 1, OK, 0, 50), attempt("load", 1, FAILED, 50, 100)], RunStatus.FAILED)
    run.attempts = []  # the tasks' summaries only
    text = shown(run)
    rows = bars(text)
    half = len(rows["load"]) // 2
    assert set(rows["extract"][: half - 1]) == {"█"} and set(rows["load"][half + 1 :]) == {"▓"}
    assert "the record holds no attempts: one bar per task" in text


def test_a_for_each_task_has_one_segment_per_attempt_number() -> None:
    attempts = [
        attempt("fan", 1, OK, 0, 30, index=0),
        attempt("fan", 1, FAILED, 10, 50, index=1),
        attempt("fan", 2, OK, 60, 80, index=1),
    ]
    bar = bars(shown(record(attempts, ended=100)))["fan"]
    # attempt 1 of its items (0 to 50 s, one failed), a wait, attempt 2 (60 to 80 s), then nothing
    match = re.fullmatch(r"(▓+)(·+)(█+)( +)", bar)
    assert match is not None, bar
    for part, share in zip(match.groups(), (0.5, 0.1, 0.2, 0.2), strict=True):
        assert abs(len(part) - share * len(bar)) <= 1


def test_the_failed_task_is_red_and_the_running_one_cyan() -> None:
    run = record(
        [attempt("bad", 1, FAILED, 0, 40), attempt("slow", 1, RUNNING, 40, None)],
        RunStatus.RUNNING,
        ended=None,
    )
    console = Console(width=100, color_system="truecolor")
    segments = list(console.render(render_run(run, {"bad": [], "slow": []}, now=T0 + timedelta(seconds=80))))

    def colours(text: str) -> set[str | None]:
        return {s.style.color.name if s.style and s.style.color else None for s in segments if text in s.text}

    assert colours("▓") == {"red"} and colours("▒") == {"cyan"}
    assert "red" in colours("FAILED") and "cyan" in colours("RUNNING")
    assert "red" in colours("bad ✗") and "cyan" in colours("slow ▸")  # the graph


def test_a_running_attempt_reaches_now_and_the_header_counts_so_far() -> None:
    run = record(
        [attempt("extract", 1, OK, 0, 20), attempt("load", 1, RUNNING, 20, None)], RunStatus.RUNNING, ended=None
    )
    text = shown(run, now=T0 + timedelta(seconds=40))
    assert re.search(r"duration\s+40.0 s so far", text)
    rows = bars(text)
    half = len(rows["load"]) // 2
    assert set(rows["extract"][:half]) == {"█"} and set(rows["load"][half:]) == {"▒"}
    assert rows["load"][:half].strip() == ""


def test_an_ended_runs_open_attempt_stops_at_the_run_end() -> None:
    run = record([attempt("load", 1, RUNNING, 50, None)], RunStatus.ABORTED, ended=100)
    bar = bars(shown(run, now=T0 + timedelta(days=3)))["load"]
    assert bar.strip() and set(bar[len(bar) // 2 :]) == {"▒"} and bar[: len(bar) // 2].strip() == ""


def test_a_zero_duration_run_and_attempts_without_times_still_render() -> None:
    run = record([attempt("a", 1, OK, 0, 0), attempt("b", 1, OK, None, None)], ended=0)
    text = shown(run)
    rows = bars(text)
    assert rows["a"].strip() == "█" and rows["a"].startswith("█")
    assert rows["b"].strip() == ""
    assert "not drawn: 1 attempt without a start time" in text
    assert re.search(r"10:00:00.000\s+0 ms\s+10:00:00.000", text)  # a run under a minute: milliseconds
    only_undated = record([attempt("b", 1, FAILED, None, None)], ended=0)
    assert "1 attempt without a start time" in shown(only_undated)


def test_without_a_graph_tasks_come_in_the_order_they_started() -> None:
    attempts = [attempt("late", 1, OK, 50, 60), attempt("early", 1, OK, 0, 10), attempt("mid", 1, OK, 20, 30)]
    text = shown(record(attempts), None)
    assert list(table_rows(text)) == list(bars(text)) == ["early", "mid", "late"]
    assert "graph" not in text.splitlines()


def test_thousands_of_tasks_are_capped_keeping_the_failed_ones() -> None:
    attempts = [attempt(f"t{i:04d}", 1, OK, i / 10, i / 10 + 1) for i in range(2000)]
    attempts[1500] = attempt("t1500", 1, FAILED, 150, 151)
    graph = {f"t{i:04d}": [] for i in range(2000)}  # one wide layer
    text = shown(record(attempts, RunStatus.FAILED, ended=201), graph)
    rows = bars(text)
    assert len(rows) == MAX_ROWS and "t1500" in rows and "t0000" in rows
    assert "t1999" not in rows
    assert f"{2000 - MAX_ROWS} more tasks not shown" in text
    assert list(table_rows(text)) == list(rows)  # the table shows the same tasks
    layer = " ".join(text.split("\ngraph\n")[1].split())  # the long line wraps
    assert layer.startswith("layer 1: t0000 ✓, t0001 ✓") and layer.endswith("t0019 ✓, … 1980 more")


def test_lines_fit_a_narrow_terminal() -> None:
    run = record([attempt("a_task_with_a_very_long_name_indeed", 1, OK, 0, 100)])
    text = shown(run, width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert bars(text) == {"a_task_with_a_…": "█" * (60 - 16)}  # the label is cut, the bar keeps the rest


def test_the_graph_is_shown_in_layers_coloured_by_status() -> None:
    attempts = [attempt("extract", 1, OK, 0, 10), attempt("clean", 1, FAILED, 10, 20), attempt("count", 1, OK, 10, 30)]
    graph = {"report": ["clean", "count"], "count": ["extract"], "clean": ["extract"], "extract": []}
    text = shown(record(attempts, RunStatus.FAILED), graph)
    layers = text.split("\ngraph\n")[1].strip().splitlines()
    # upstream tasks first; within a layer, the graph's own order (count was listed before clean)
    assert layers == ["layer 1: extract ✓", "layer 2: count ✓, clean ✗", "layer 3: report ·"]
    assert list(bars(text)) == ["extract", "count", "clean", "report"]  # the timeline follows it


def test_run_json_adds_every_attempt_oldest_first_with_its_output_view() -> None:
    attempts = [
        attempt("load", 2, OK, 50, 60, output="x" * SHOWN_OUTPUT_BYTES),
        attempt("load", 1, FAILED, 10, 20, error="Boom", message="no table"),
    ]
    data = run_json(record(attempts))
    assert data["run_id"] == "run-1" and data["tasks"]["load"]["status"] == OK
    assert [(a["attempt"], a["status"], a["error"]) for a in data["attempts"]] == [(1, FAILED, "Boom"), (2, OK, None)]
    assert data["attempts"][1]["output"] == {"$ref": "ledger", "bytes": SHOWN_OUTPUT_BYTES + 2}
    assert data["attempts"][0]["started_at"] == at(10) and data["attempts"][0]["duration_ms"] == 10_000
