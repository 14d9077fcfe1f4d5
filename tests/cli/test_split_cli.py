"""`orch compile`, `orch graph` and `orch validate` on a workflow too big for one state machine."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from orchestration.cli import main

BIG = """
from orchestration import Workflow

wide = Workflow("wide")
for i in range(800):  # 800 results cannot share one 256 KiB state: the workflow is split
    wide.task(name=f"t{i:03d}", after=[f"t{i - 1:03d}"] if i % 100 else [])(lambda: None)
"""


def test_a_split_workflow_compiles_to_a_parent_and_its_parts(tmp_path: Path) -> None:
    source = tmp_path / "wide.py"
    source.write_text(BIG)
    runner = CliRunner()
    result = runner.invoke(main, ["compile", str(source), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    # parts of at most 386 tasks here: each holds its results and one per dependency
    assert written == ["wide.asl.json", *(f"wide.part{k}.asl.json" for k in (1, 2, 3))]
    parent = json.loads((tmp_path / "out" / "wide.asl.json").read_text())
    assert len(parent["States"]["Parts"]["Branches"]) == 3
    assert result.output.count("bytes deployed") == 4
    graph = runner.invoke(main, ["graph", str(source)])
    assert graph.exit_code == 0
    assert "split into 3 state machines" in graph.output
    assert "part 1: 386 tasks: t000, t001" in graph.output
    assert runner.invoke(main, ["validate", str(source)]).exit_code == 0
