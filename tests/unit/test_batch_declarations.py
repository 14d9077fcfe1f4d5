"""Batched file-arrival declarations (pure): `Batch` ranges, its parameter, the key list's byte budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from orchestration import Param, Workflow
from orchestration.protocol import MAX_PARAMS_BYTES
from orchestration.triggers import on_s3_object_created
from orchestration.triggers.batching import BATCH_KEYS_BYTES, MAX_BATCH_FILES, Batch, key_bytes
from orchestration.triggers.runids import batch_run_id
from orchestration.validation import problems


def _wf(declared: dict[str, Any] | None = None, **trigger: Any) -> Workflow:
    wf = Workflow(
        "t",
        params={"keys": list[str], "n": Param(int, default=1)} if declared is None else declared,
        triggers=[on_s3_object_created("landing", prefix="in/", **trigger)],
    )

    @wf.task
    def a() -> None: ...

    return wf


def test_a_batched_trigger_with_a_list_parameter_is_valid() -> None:
    wf = _wf(batch=Batch(quiet_seconds=300, max_files=100, max_wait_seconds=3600), constants={"n": 2})
    assert problems(wf) == []
    assert wf.triggers[0].batch == Batch(300, 100, 3600, "keys")  # type: ignore[index]
    assert problems(_wf({"files": list[str]}, batch=Batch(files_param="files"))) == []


@pytest.mark.parametrize(
    ("trigger", "fragment"),
    [
        ({"batch": Batch(quiet_seconds=0)}, "quiet_seconds=0 must be an integer from 1 to 86400"),
        ({"batch": Batch(quiet_seconds=1.5)}, "quiet_seconds=1.5 must be an integer"),  # type: ignore[arg-type]
        ({"batch": Batch(max_files=0)}, "max_files=0 must be an integer from 1 to 1000"),
        ({"batch": Batch(max_files=MAX_BATCH_FILES + 1)}, f"at most {MAX_PARAMS_BYTES} bytes"),
        ({"batch": Batch(quiet_seconds=600, max_wait_seconds=300)}, "from quiet_seconds (600) to 604800"),
        ({"batch": Batch(max_wait_seconds=True)}, "max_wait_seconds=True"),  # type: ignore[arg-type]
        ({"batch": Batch(files_param="files")}, "files_param='files' is not a parameter of 't'"),
        ({"batch": Batch(), "params": {"n": "$.detail.size"}}, "remove params={'n': '$.detail.size'}"),
        ({"batch": Batch(), "constants": {"keys": ["x"]}}, "remove it from constants="),
        ({"batch": {"quiet_seconds": 5}}, "must be Batch(quiet_seconds=..."),
    ],
)
def test_bad_batches_name_the_value_and_the_fix(trigger: dict[str, Any], fragment: str) -> None:
    found = problems(_wf(**trigger))
    assert any(fragment in p for p in found), found


def test_the_files_parameter_must_take_a_list_of_strings() -> None:
    found = problems(_wf({"keys": str}, batch=Batch()))
    assert any("declare it keys=list[str]" in p for p in found), found
    assert problems(_wf({"keys": list}, batch=Batch())) == []


def test_other_parameters_must_leave_the_key_lists_budget() -> None:
    big = "x" * (MAX_PARAMS_BYTES - BATCH_KEYS_BYTES)
    found = problems(_wf({"keys": list[str], "note": str}, batch=Batch(), constants={"note": big}))
    assert any(f"leaving less than the {BATCH_KEYS_BYTES} bytes" in p for p in found), found


def test_a_full_key_list_fits_the_run_parameters() -> None:
    keys, used = [], 0
    while used + key_bytes(key := f"incoming/2026/11/21/file-{len(keys):05d}.csv") <= BATCH_KEYS_BYTES:
        keys.append(key)
        used += key_bytes(key)
    assert len(json.dumps(keys).encode()) <= BATCH_KEYS_BYTES  # what `nbytes` counts, and no less
    assert len(keys) == 161  # keys of 35 characters: 161 a batch at most, whatever max_files says


def test_batch_run_ids_are_stable_and_distinct_from_event_runs() -> None:
    at = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)
    rid = batch_run_id("wf", "files", "ev-1", at)
    assert rid == batch_run_id("wf", "files", "ev-1", at) and rid.startswith("b-20261121T083000Z-")
    assert rid != batch_run_id("wf", "other", "ev-1", at) and len(rid) <= 80
