"""Helpers shared by the test folders."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from tests.samples import ROOT

AWS_SDK = ("boto3", "botocore", "moto")


def modules_loaded_by(code: str, *packages: str) -> list[str]:
    """The modules of `packages` (or below them) that running `code` in a fresh interpreter imports."""
    probe = (
        f"import sys\n{code}\n"
        f"print(' '.join(sorted(m for m in sys.modules if m.startswith(tuple(p + '.' for p in {packages!r})) "
        f"or m in {packages!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def invoke(*args: str) -> tuple[int, str, str]:
    """`orch ARGS` in this process (click's CliRunner): exit code, stdout, stderr; an exception that
    is not a SystemExit fails the test with itself."""
    from click.testing import CliRunner

    from orchestration.cli import main

    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def all_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of a compiled definition by name, inside Parallel branches and Map processors too
    (state names are unique in the whole definition: asserted)."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        assert name not in found, f"duplicate state name {name}"
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(all_states(branch))
        if "ItemProcessor" in state:
            found.update(all_states(state["ItemProcessor"]))
    return found
