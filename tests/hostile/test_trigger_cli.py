"""`orch trigger --event FILE` with events of the wrong type or encoding: exit 2 naming the file and
the fix; a duplicate delivery said plainly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.cli.triggers import describe_duplicate
from tests.hostile.conftest import cli
from tests.samples import S3_EVENT, example

FILE = str(example("file_arrival"))


CLI_EVENTS = [
    ("list", "[1, 2]", "JSON object"),
    ("string", '"hello"', "JSON object"),
    ("null", "null", "JSON object"),
    ("number", "3.5", "JSON object"),
    ("not_json", "{nope", "not valid JSON"),
    ("invalid_utf8", b'{"id": "\xff"}', "UTF-8"),
    ("nan", "NaN", "JSON object"),
    ("deeply_nested", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("case", "text", "says"), CLI_EVENTS, ids=[c[0] for c in CLI_EVENTS])
def test_orch_trigger_with_events_of_the_wrong_type(tmp_path: Path, case: str, text: str | bytes, says: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, out, err = cli("trigger", FILE, "--event", str(path))
    assert code == 2, (out, err)
    assert says in err and "event" in err


def test_orch_trigger_with_an_event_file_that_is_a_directory(tmp_path: Path) -> None:
    code, _, err = cli("trigger", FILE, "--event", str(tmp_path))
    assert code == 2
    assert str(tmp_path) in err


def test_orch_trigger_with_a_time_past_year_9999_after_offset(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({**S3_EVENT, "id": "cli-9999", "time": "9999-12-31T23:59:59-05:00"}))
    code, out, err = cli("trigger", FILE, "--event", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["runs"][0]["run"]["status"] == "SUCCEEDED"


def test_a_duplicate_delivery_is_said_plainly() -> None:
    line = describe_duplicate("wf", "t", {"status": "duplicate", "run_id": "e-1"})
    assert "duplicate" in line and "e-1" in line
    assert "resumed" not in line and "run started" not in line
