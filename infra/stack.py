"""The orchestrator stack: the platform plus one `WorkflowDeployment` per discovered workflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.discovery import Discovered, asset_folder, discover
from infra.nag import acknowledge
from infra.settings import Settings
from infra.shared import Platform, stage_code
from infra.workflow import WorkflowDeployment

ROOT = Path(__file__).resolve().parent.parent


class OrchestratorStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, settings: Settings, root: Path = ROOT, **kwargs: Any) -> None:
        super().__init__(scope, id, description="Serverless workflow orchestrator (Step Functions + Lambda)", **kwargs)
        self.settings = settings
        folder, found = discover(root, settings.workflows)
        self.discovered: list[Discovered] = found
        code_dir = stage_code(root, folder, asset_folder(root, folder))
        self.platform = Platform(self, "Platform", settings=settings, code_dir=code_dir)
        self.workflows: dict[str, WorkflowDeployment] = {}
        for item in found:
            cid = "Wf_" + "".join(ch if ch.isalnum() else "_" for ch in item.workflow.name)
            self.workflows[item.workflow.name] = WorkflowDeployment(self, cid, item=item, platform=self.platform)
        self.recorder = self.platform.recorder(
            {dep.name: name for name, dep in self.workflows.items()},
            [dep.state_machine.state_machine_arn for dep in self.workflows.values()],
        )
        cdk.CfnOutput(self, "LedgerTableName", value=self.platform.table.table_name)
        cdk.CfnOutput(self, "ArtifactBucketName", value=self.platform.bucket.bucket_name)
        cdk.CfnOutput(self, "AlertTopicArn", value=self.platform.topic.topic_arn)
        for name, dep in sorted(self.workflows.items()):
            cdk.CfnOutput(
                self,
                f"StateMachine{''.join(c for c in name if c.isalnum())}",
                value=dep.state_machine.state_machine_arn,
                description=f"workflow {name}",
            )
        acknowledge(self)


def build_app(
    settings: Settings | None = None,
    *,
    outdir: str | None = None,
    root: Path = ROOT,
    context: dict[str, Any] | None = None,
) -> tuple[cdk.App, OrchestratorStack]:
    """The CDK app with the stack (and cdk-nag when enabled). Settings default to the app's context."""
    app = cdk.App(outdir=outdir, context=context or {})
    settings = settings or Settings.from_context(app.node.try_get_context)
    stack = OrchestratorStack(app, settings.stack_name, settings=settings, root=root)
    if settings.nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
