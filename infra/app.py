"""The CDK app: build the stack of a project folder and write its cloud assembly.

`cdk.json` runs it as `python3 -m orchestration.deploy` (in this repository as in a user's project).
Settings come from CDK context (`-c stackName=... -c workflows=...`, see infra/settings.py). The
cloud assembly goes to `CDK_OUTDIR` (set by the CDK CLI) or `<project>/cdk.out`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

if __name__ == "__main__":  # a cdk.json from before the packaged app: infra/ on sys.path would shadow packages
    sys.exit('error: the CDK app is `python3 -m orchestration.deploy`: make it the "app" of cdk.json')

from infra.quotas import check_template
from infra.stack import build_app
from orchestration.errors import OrchestrationError


def synth(project: Path) -> int:
    """Synthesize the stack of `project`; a user mistake prints one error, not a traceback (exit 2)."""
    try:
        app, stack = build_app(outdir=os.environ.get("CDK_OUTDIR") or str(project / "cdk.out"), root=project)
        assembly = app.synth()
        problems = check_template(assembly.get_stack_by_name(stack.stack_name).template)
        for nested in stack.workflow_stacks:  # each nested stack has the same quotas
            template = json.loads((Path(assembly.directory) / nested.template_file).read_text())
            problems += [f"nested stack {nested.node.id}: {problem}" for problem in check_template(template)]
        if problems:
            raise OrchestrationError("the stack would not deploy:\n  - " + "\n  - ".join(problems))
    except OrchestrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def resource_counts(project: Path, workflows: str, stack_name: str) -> dict[str, int]:
    """Resources per stack (the stack and each nested one) of an in-process synth of `workflows`
    (relative to `project`), without cdk-nag; what `orch plan` reports (found by entry point)."""
    from infra.settings import Settings

    with tempfile.TemporaryDirectory(prefix="orch-plan-") as out:
        app, stack = build_app(
            Settings(stack_name=stack_name, workflows=workflows, nag=False),
            outdir=out,
            root=project,
            nest_as_needed=True,
        )
        assembly = app.synth()
        counts = {stack_name: len(assembly.get_stack_by_name(stack.stack_name).template.get("Resources", {}))}
        for nested in stack.workflow_stacks:
            template = json.loads((Path(assembly.directory) / nested.template_file).read_text())
            counts[f"{stack_name}/{nested.node.id}"] = len(template.get("Resources", {}))
    return counts
