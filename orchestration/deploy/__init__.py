"""The CDK app of a project that uses orchestration: its `cdk.json` says

    {"app": "python3 -m orchestration.deploy", "context": {"stackName": "...", "workflows": "workflows"}}

`cdk synth` / `cdk deploy` run it in the project folder (the one holding cdk.json). The stack is built
by the function registered under the `orchestration.deploy` entry point (`infra.app:synth`, installed
with this package): the library finds it by name and never imports infra itself.
Settings come from CDK context: see docs/deploy.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path

ENTRY_POINT_GROUP, ENTRY_POINT = "orchestration.deploy", "stack"


@contextmanager
def _project_folder_hidden(project: Path) -> Iterator[None]:
    """Import our `infra` even when the project has a package of that name: `python -m` puts the
    project folder first on sys.path, so leave it out while the stack's code is imported."""
    hidden = {str(project), "", "."}
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if p not in hidden and Path(p or ".").resolve() != project]
    try:
        yield
    finally:
        sys.path[:] = saved


def main(argv: list[str] | None = None) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    project = Path.cwd().resolve()
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    found = entry_points(group=ENTRY_POINT_GROUP, name=ENTRY_POINT)
    if not found:
        print(
            f"error: no {ENTRY_POINT_GROUP!r} entry point named {ENTRY_POINT!r} is installed: reinstall the "
            "orchestration package into the virtualenv that `python3` runs",
            file=sys.stderr,
        )
        return 2
    try:
        with _project_folder_hidden(project):
            synth: Callable[[Path], int] = next(iter(found)).load()
    except ImportError as exc:
        print(
            f"error: {exc}. The CDK app needs aws-cdk-lib: install this package into the virtualenv that "
            "`python3` runs (activate it before `npx cdk synth`).",
            file=sys.stderr,
        )
        return 2
    return synth(project)
