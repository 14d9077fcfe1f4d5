"""The CDK app: `cdk synth` / `cdk deploy` run this file (see cdk.json and docs/deploy.md).

Settings come from CDK context (`-c stackName=... -c workflows=...`, see infra/settings.py). The
cloud assembly goes to `CDK_OUTDIR` (set by the CDK CLI) or `cdk.out`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = str(Path(__file__).resolve().parent)
# `python3 infra/app.py` puts infra/ first on sys.path, where its modules could shadow others:
# import them as the `infra` package from the project root instead.
sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != HERE]
sys.path.insert(0, str(ROOT))


def main() -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        from infra.stack import build_app
        from orchestration.errors import OrchestrationError
    except ImportError as exc:
        print(
            f"error: {exc}. Run the app with the project's virtualenv (make install; then "
            ". .venv/bin/activate, or PATH=$PWD/.venv/bin:$PATH npx cdk synth)",
            file=sys.stderr,
        )
        return 2
    try:
        app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out"))
        app.synth()
    except OrchestrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
