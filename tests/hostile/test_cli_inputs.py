"""`orch run` run ids and parameters, `orch compile -o` paths: exit 2 naming the value and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.conftest import cli, write
from tests.samples import ROOT

FLOW = (
    "wf = Workflow('hostile_cli', params={'name': Param(str, default='x')})\n"
    "@wf.task\ndef a(ctx): return ctx.params.name\n"
)

BAD_RUN_IDS = [
    ("too_long", "r" * 81),
    ("space", "my run"),
    ("tab", "run\t1"),
    ("unicode", "rün-1"),
    ("emoji", "run-🚀"),
    ("slash", "a/b"),
    ("dotdot", ".."),
    ("dotdot_path", "../other_workflow/run"),
    ("hash_key_separator", "run#1"),
    ("colon", "run:1"),
    ("brackets", "run[1]"),
    ("wildcard", "run*"),
    ("newline", "run\n1"),
    ("empty", ""),
]


@pytest.mark.parametrize(("case", "run_id"), BAD_RUN_IDS, ids=[c[0] for c in BAD_RUN_IDS])
def test_run_ids_step_functions_would_refuse(tmp_path: Path, case: str, run_id: str) -> None:
    code, out, err = cli("run", write(tmp_path, FLOW), "--run-id", run_id, "-q")
    assert code == 2, (out, err)
    assert "--run-id" in err and repr(run_id) in err
    assert "A-Z" in err  # says which characters are allowed


def test_a_run_id_of_80_allowed_characters_runs(tmp_path: Path) -> None:
    code, _, err = cli("run", write(tmp_path, FLOW), "--run-id", "R_-9" * 20, "-q")
    assert code == 0, err


def test_a_run_id_refused_by_the_library_too(quiet_logs: None) -> None:
    from orchestration.errors import ParameterError
    from orchestration.local import LocalCloud
    from orchestration.model import Workflow

    wf = Workflow("hostile_lib_run_id")
    wf.task(lambda: 1, name="a")
    with LocalCloud() as cloud:
        with pytest.raises(ParameterError, match="run id"):
            cloud.run(wf, run_id="../escape")
        assert cloud.ledger.list_runs(wf.name) == []


BAD_PARAMS = [
    ("no_equals", ["name"], "KEY=VALUE"),
    ("empty_key", ["=x"], "KEY=VALUE"),
    ("twice", ["name=a", "name=b"], "twice"),
    ("unknown_key", ["nom=a"], "nom"),
    ("key_with_equals_is_unknown", ["na=me=x"], "na"),
    ("lone_surrogate", ["name=\udcff"], "UTF-8"),
    ("high_surrogate", ["name=a\ud800b"], "UTF-8"),
    ("too_long", ["name=" + "x" * 9000], "bytes"),
    ("bad_json", ["name={not json"], "JSON"),
]


@pytest.mark.parametrize(("case", "params", "says"), BAD_PARAMS, ids=[c[0] for c in BAD_PARAMS])
def test_parameter_values_that_are_not_valid_text(tmp_path: Path, case: str, params: list[str], says: str) -> None:
    args = [a for p in params for a in ("--param", p)]
    code, out, err = cli("run", write(tmp_path, FLOW), *args, "-q")
    assert code == 2, (out, err)
    assert says in err and "param" in err


def test_a_value_with_equals_signs_is_the_value(tmp_path: Path) -> None:
    code, out, err = cli("run", write(tmp_path, FLOW), "--param", "name=a=b=c", "--json")
    assert code == 0, err
    assert '"a=b=c"' in out


def test_invalid_utf8_in_argv_from_a_real_shell(tmp_path: Path) -> None:
    path = write(tmp_path, FLOW)
    bad = b"name=\xff\xfe".decode("utf-8", "surrogateescape")
    argv = [sys.executable, "-m", "orchestration", "run", path, "-q", "--param", bad]
    env = {**os.environ, "PYTHONUTF8": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, errors="replace")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "UTF-8" in proc.stderr


def test_compile_output_dir_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    code, _, err = cli("compile", write(tmp_path, FLOW), "-o", str(target))
    assert code == 2
    assert "taken" in err and "directory" in err.lower()


def test_compile_output_dir_under_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    code, _, err = cli("compile", write(tmp_path, FLOW), "-o", str(target / "sub"))
    assert code == 2
    assert "sub" in err and "-o" in err and "Traceback" not in err


def test_compile_output_file_occupied_by_a_directory(tmp_path: Path) -> None:
    (tmp_path / "out" / "hostile_cli.asl.json").mkdir(parents=True)
    code, _, err = cli("compile", write(tmp_path, FLOW), "-o", str(tmp_path / "out"))
    assert code == 2
    assert "hostile_cli.asl.json" in err and "directory" in err


def test_compile_output_dir_unwritable(tmp_path: Path) -> None:
    code, _, err = cli("compile", write(tmp_path, FLOW), "-o", "/proc/orch-cannot-write-here")
    assert code == 2
    assert "/proc/orch-cannot-write-here" in err and "-o" in err


def test_compile_output_file_unwritable(tmp_path: Path) -> None:
    code, _, err = cli("compile", write(tmp_path, FLOW), "-o", "/proc/self")
    assert code == 2
    assert "/proc/self" in err
