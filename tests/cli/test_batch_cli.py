"""`orch trigger` on a batched file-arrival trigger: the file joins a batch, no run starts yet."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestration.cli import main
from tests.samples import example, s3_object_created


def test_orch_trigger_adds_the_file_to_a_batch_and_starts_nothing(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_object_created("batches/a.csv", time=None)))
    result = CliRunner().invoke(main, ["trigger", str(example("file_batches")), "--event", str(event), "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["runs"]
    assert entry["status"] == "batched" and entry["batch"].startswith("b-") and "run" not in entry
    assert "file added to batch" in result.stderr and "orch dev" in result.stderr
    listed = CliRunner().invoke(main, ["runs", "list", "--json"])
    assert json.loads(listed.stdout) == []
