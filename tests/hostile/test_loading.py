"""Workflow files that exit or are interrupted while imported; two workflows with one name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import cli, write

OK = "wf = Workflow('ok')\n@wf.task\ndef a(): return 1\n"

IMPORT_EXITS = [
    ("sys_exit_0", "import sys\nsys.exit(0)\n", "SystemExit"),
    ("sys_exit_3", "import sys\nsys.exit(3)\n", "SystemExit"),
    ("sys_exit_msg", "import sys\nsys.exit('bye')\n", "SystemExit"),
    ("raise_system_exit", "raise SystemExit(None)\n", "SystemExit"),
    ("exit_builtin", "exit(4)\n", "SystemExit"),
    ("keyboard_interrupt", "raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ("generator_exit", "raise GeneratorExit('x')\n", "GeneratorExit"),
    ("custom_base", "class Boom(BaseException): pass\nraise Boom('kaboom')\n", "Boom"),
    ("bad_str", "class E(Exception):\n    def __str__(self): raise RuntimeError('no str')\nraise E()\n", "E"),
]


@pytest.mark.parametrize("command", ["validate", "compile", "graph", "run", "trigger"])
@pytest.mark.parametrize(("case", "body", "kind"), IMPORT_EXITS, ids=[c[0] for c in IMPORT_EXITS])
def test_a_file_that_exits_while_imported_is_a_usage_error(
    tmp_path: Path, command: str, case: str, body: str, kind: str
) -> None:
    path = write(tmp_path, OK + body)
    extra = ["--event", "-"] if command == "trigger" else []
    extra += ["-o", str(tmp_path / "out")] if command == "compile" else []
    code, out, err = cli(command, path, *extra, input="{}")
    assert code == 2, (out, err)
    assert "wf.py" in err and kind in err
    assert "error:" in err


def test_the_failed_import_can_be_retried_after_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, OK + "raise KeyboardInterrupt\n")
    assert cli("validate", path)[0] == 2
    Path(path).write_text("from orchestration import Workflow\n" + OK)
    assert cli("validate", path)[0] == 0


DUPLICATES = [
    (
        "same_file_two_objects",
        "a = Workflow('dup')\n@a.task\ndef x(): return 1\nb = Workflow('dup')\n@b.task\ndef y(): return 2\n",
    ),
    (
        "same_file_function_local",
        "def make():\n    w = Workflow('dup')\n    @w.task\n    def x(): return 1\n    return w\n"
        "a = make()\nb = make()\n",
    ),
    ("one_object_two_names", "a = Workflow('dup')\n@a.task\ndef x(): return 1\nb = a\n"),
]


@pytest.mark.parametrize(("case", "body"), DUPLICATES, ids=[c[0] for c in DUPLICATES])
@pytest.mark.parametrize("command", ["validate", "compile", "run"])
def test_two_workflows_with_one_name(tmp_path: Path, case: str, body: str, command: str) -> None:
    path = write(tmp_path, body)
    extra = ["-o", str(tmp_path / "out")] if command == "compile" else []
    code, out, err = cli(command, path, *extra)
    if case == "one_object_two_names":  # the same workflow bound twice is one workflow
        assert code == 0, err
        return
    assert code == 2, (out, err)
    assert "'dup'" in err and "unique" in err


def test_a_child_workflow_with_the_name_of_another(tmp_path: Path) -> None:
    body = (
        "child = Workflow('dup')\n@child.task\ndef c(): return 1\n"
        "parent = Workflow('parent')\nparent.run_workflow('step', workflow=child)\n"
        "other = Workflow('dup')\n@other.task\ndef d(): return 2\n"
    )
    code, out, err = cli("validate", write(tmp_path, body))
    assert code == 2, (out, err)
    assert "'dup'" in err


FOLDER_CASES = [
    ("two_files_one_name", {"a.py": "w = Workflow('same')\n@w.task\ndef x(): return 1\n", "b.py": None}, "same"),
    ("one_file_exits", {"a.py": OK, "b.py": "import sys\nsys.exit(1)\n"}, "SystemExit"),
    ("one_file_interrupted", {"a.py": OK, "b.py": "raise KeyboardInterrupt\n"}, "KeyboardInterrupt"),
]


@pytest.mark.parametrize(("case", "files", "says"), FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_a_folder_of_workflows_for_deployment(
    tmp_path: Path, case: str, files: dict[str, str | None], says: str
) -> None:
    """The deploy app's discovery lists every problem of the folder, as an InfraError (no traceback)."""
    from infra.discovery import discover
    from infra.settings import InfraError

    for name, body in files.items():
        write(tmp_path, body if body is not None else files["a.py"] or "", name=name)
    with pytest.raises(InfraError, match=says):
        discover(tmp_path, ".")
