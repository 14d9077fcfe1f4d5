"""Task outputs in the ledger: read back from attempt items, derived per task, shown by `orch run --json`."""

from __future__ import annotations

from typing import Any

import pytest

from orchestration.artifacts import REF_KEY
from orchestration.ledger import Attempt, RunLedger, TaskRecord
from orchestration.ledger.records import SHOWN_OUTPUT_BYTES, attempt_from_item, attempt_item, output_view, task_records
from tests.unit.test_ledger_items import FakeDynamo

T = "2026-01-02T03:04:05.678Z"
REF = {REF_KEY: "s3://orch-artifacts/runs/wf/r1/big/attempt-1.json", "bytes": 50_000}


def attempt(task: str, number: int, status: str, output: Any = None, index: int | None = None) -> Attempt:
    return Attempt(task, number, status, T, T, 1, None if status != "FAILED" else "ValueError", None, index, output)


@pytest.mark.parametrize("output", [None, 0, "", [], {"b": 1, "a": [REF]}, REF, "ünïcode"])
def test_an_attempt_output_reads_back_as_written(output: Any) -> None:
    att = attempt("t", 1, "SUCCEEDED", output)
    item = attempt_item("etl", "r1", att)
    assert "output" in item  # even None: a succeeded attempt records what it returned
    assert attempt_from_item(item) == att
    if isinstance(output, dict):  # the task's key order is kept
        assert list(attempt_from_item(item).output) == list(output)


@pytest.mark.parametrize("status", ["RUNNING", "FAILED"])
def test_an_attempt_that_did_not_succeed_has_no_output(status: str) -> None:
    assert "output" not in attempt_item("etl", "r1", attempt("t", 1, status, "ignored"))


def test_each_task_output_is_its_last_succeeded_attempts() -> None:
    attempts = [
        attempt("retried", 1, "FAILED"),
        attempt("retried", 2, "SUCCEEDED", {"rows": 3}),
        # a for-each: items recorded out of order, item 1 retried
        attempt("fan", 1, "SUCCEEDED", "b", index=1),
        attempt("fan", 1, "SUCCEEDED", "c", index=2),
        attempt("fan", 1, "SUCCEEDED", "a", index=0),
        attempt("fan", 2, "SUCCEEDED", "b2", index=1),
        attempt("big", 1, "SUCCEEDED", REF),
        attempt("broke", 1, "FAILED"),
        attempt("going", 1, "RUNNING"),
    ]
    records = task_records(attempts, [])
    assert {name: rec.output for name, rec in records.items()} == {
        "retried": {"rows": 3},
        "fan": ["a", "b2", "c"],
        "big": REF,
        "broke": None,
        "going": None,
    }


def test_a_failed_for_each_has_no_output_even_if_items_succeeded() -> None:
    attempts = [attempt("fan", 1, "SUCCEEDED", "a", index=0), attempt("fan", 1, "FAILED", index=1)]
    summary = TaskRecord("fan", "FAILED", 1, T, T, "ValueError", 2)
    assert task_records(attempts, [summary])["fan"].output is None


def test_a_for_each_over_no_item_outputs_an_empty_list() -> None:
    client = FakeDynamo(query=[{"Items": []}])
    outcomes = {"fan": {"status": "SUCCEEDED", "output": []}, "none": {"status": "SUCCEEDED", "output": None}}
    records = RunLedger("T", client).finalize_tasks("etl", "r1", outcomes, T)
    assert (records["fan"].items, records["fan"].output) == (0, [])
    assert (records["none"].items, records["none"].output) == (None, None)
    # the summaries say 0 items, so the output reads back as [] from the ledger too
    assert task_records([], records.values())["fan"].output == []


def test_json_view_of_outputs() -> None:
    assert output_view(None) is None
    assert output_view({"rows": 3}) == {"rows": 3}
    assert output_view(REF) == {"$ref": REF[REF_KEY], "bytes": 50_000}
    assert output_view([1, REF]) == [1, {"$ref": REF[REF_KEY], "bytes": 50_000}]
    fits = "x" * (SHOWN_OUTPUT_BYTES - 2)  # with its quotes, exactly the limit
    assert output_view(fits) == fits
    assert output_view(fits + "x") == {"$ref": "ledger", "bytes": SHOWN_OUTPUT_BYTES + 1}
    assert TaskRecord("t", "SUCCEEDED", 1, output=REF).as_dict()["output"] == output_view(REF)


def test_a_task_that_succeeded_on_retry_shows_no_error_while_its_run_goes_on() -> None:
    attempts = [
        Attempt("load", 1, "FAILED", "t1", "t2", 5, "IOError", "disk"),
        Attempt("load", 2, "SUCCEEDED", "t3", "t4", 5, output=1),
    ]
    rec = task_records(attempts, [])["load"]
    assert (rec.status, rec.attempts, rec.error, rec.output) == ("SUCCEEDED", 2, None, 1)
    assert task_records(attempts[:1], [])["load"].error == "IOError: disk"
