"""The model and compiler are pure: importing them never imports the AWS SDK."""

from __future__ import annotations

import subprocess
import sys

from tests.samples import ROOT


def test_core_imports_no_boto3() -> None:
    code = (
        "import sys\n"
        "import orchestration, orchestration.compiler, orchestration.model, orchestration.graph, "
        "orchestration.validation, orchestration.render, orchestration.loader\n"
        "from orchestration import compile_workflow, load_workflow\n"
        "wf = load_workflow('examples/etl.py')\n"
        "compile_workflow(wf)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'moto'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_public_api_is_small_and_explicit() -> None:
    import orchestration

    assert set(orchestration.__all__) >= {"Workflow", "Retry", "RunIf", "Param", "Resources", "compile_workflow"}
    for name in orchestration.__all__:
        assert hasattr(orchestration, name)
