"""The code asset: every handler imports from it alone, without moto, the CLI or the local runtime."""

from __future__ import annotations

import json
import subprocess
import sys

from orchestration.runtime.registry import FUNCTIONS
from tests.infra.conftest import Synth

BLOCKER = """
import importlib, json, sys
BLOCKED = ("moto", "click", "rich", "orchestration.cli", "orchestration.local")
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == BLOCKED[0] or name.startswith(tuple(b + "." for b in BLOCKED)) or name in BLOCKED:
            raise ImportError("the handler imported " + name)
sys.meta_path.insert(0, Block())
for handler in sys.argv[1:]:
    module = importlib.import_module(handler.rpartition(".")[0])
    assert callable(module.handler)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"orchestration", "functions", "boto3"})))
print(importlib.import_module("orchestration").__file__)
"""


def test_every_handler_imports_from_the_asset_without_local_only_code(synth: Synth) -> None:
    (asset,) = [p for p in synth.assembly.glob("asset.*") if (p / "functions").is_dir()]
    assert not (asset / "orchestration" / "local").exists() and not (asset / "orchestration" / "cli").exists()
    handlers = [f.handler for f in FUNCTIONS]
    out = subprocess.run(
        [sys.executable, "-c", BLOCKER, *handlers], capture_output=True, text=True, cwd=asset, check=False
    )
    assert out.returncode == 0, out.stderr
    packages, origin = out.stdout.splitlines()
    assert set(json.loads(packages)) >= {"orchestration", "functions"}
    assert origin.startswith(str(asset))  # the asset's copy, not the developer's checkout
