"""Task outputs in `orch run`: each task's output in --json, a one-line preview in the table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from orchestration.artifacts import REF_KEY
from orchestration.cli import main
from orchestration.cli.display import PREVIEW_CHARS, output_preview
from orchestration.ledger.records import SHOWN_OUTPUT_BYTES
from tests.samples import example

ETL = str(example("etl"))


def orch(*args: str) -> tuple[int, str]:
    result = CliRunner(env={"COLUMNS": "160"}).invoke(main, list(args))
    return result.exit_code, result.stdout


def test_run_json_gives_each_tasks_output(tmp_path: Path) -> None:
    code, out = orch("run", ETL, "--json", "--run-id", "json-outputs")
    assert code == 0
    tasks = json.loads(out)["tasks"]
    assert tasks["load"]["output"] == {"table": "sales_20261121", "rows": 990}
    assert tasks["publish"]["output"] == "published sales_20261121 (990 rows, total 50010)"
    # 1000 rows went to the artifact bucket: a reference to it, with its size
    extract = tasks["extract"]["output"]
    assert extract["$ref"] == "s3://orch-artifacts/runs/daily_etl/json-outputs/extract/attempt-1.json"
    assert set(extract) == {"$ref", "bytes"} and extract["bytes"] > 32_768


def test_run_json_refers_to_a_large_inline_output(tmp_path: Path) -> None:
    flow = tmp_path / "big.py"
    flow.write_text(
        "from orchestration import Workflow\n"
        "wf = Workflow('big_inline')\n"
        "@wf.task\n"
        f"def text(): return 'x' * {SHOWN_OUTPUT_BYTES}\n"
        "@wf.task\n"
        "def none(): return None\n"
    )
    code, out = orch("run", str(flow), "--json")
    assert code == 0
    tasks = json.loads(out)["tasks"]
    # in the state (under the task's limit) but over what --json shows as is: the ledger holds it
    assert tasks["text"]["output"] == {"$ref": "ledger", "bytes": SHOWN_OUTPUT_BYTES + 2}
    assert tasks["none"]["output"] is None


def test_the_table_previews_outputs() -> None:
    code, out = orch("run", ETL)
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert '{"table":"sales_20261121","rows":990}' in rows["load"]
    assert re.search(r"artifact, \d+\.\d kB", rows["extract"])
    assert '"published sales_20261121 (990 rows, to…' in rows["publish"]


def test_output_previews() -> None:
    assert output_preview(None) == ""
    assert output_preview({"a": [1, 2]}) == '{"a":[1,2]}'
    long = output_preview(list(range(100)))
    assert len(long) == PREVIEW_CHARS and long.endswith("…") and long.startswith("[0,1,2,")
    assert output_preview({REF_KEY: "s3://b/k.json", "bytes": 1_234_567}) == "artifact, 1.2 MB"
