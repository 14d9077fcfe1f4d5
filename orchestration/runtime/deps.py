"""What a platform function works with: `Runtime` (built by `entry` from the environment on AWS,
directly by the local runtime)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestration.artifacts import ArtifactStore
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger
from orchestration.lineage import LineageTarget
from orchestration.model import Workflow
from orchestration.runtime.registry import Env


@dataclass
class Runtime:
    """Everything a platform function may need; each function uses its own part (see the registry)."""

    ledger: RunLedger
    artifacts: ArtifactStore | None = None
    workflow: Workflow | None = None
    stepfunctions: Any = None
    sns: Any = None
    state_machine_arn: str | None = None
    alert_topic_arn: str | None = None
    state_machines: dict[str, str] = field(default_factory=dict)  # state machine name -> workflow
    pools: dict[str, list[str]] = field(default_factory=dict)  # workflow -> the pools its tasks use
    definition_hash: str | None = None
    secret_hint: Callable[[str], str] | None = None  # local runs: how to supply a missing secret
    scheduler: Any = None  # EventBridge Scheduler client: one-time timers (`runtime.timers`)
    timer_group: str | None = None  # the stack's schedule group for timers
    timer_role_arn: str | None = None  # the role Scheduler assumes to invoke a timer's target
    function_arn: str | None = None  # this function's own ARN (a timer may target it)
    notify_topic_arn: str | None = None  # the stack's notification topic (`runtime.notifier`)
    lineage: LineageTarget | None = None  # where the recorder sends OpenLineage events (None: nowhere)
    watchdog_schedule: str | None = None  # a continuous workflow's watchdog schedule (`runtime.continuous`)
    events: Any = None  # EventBridge client: the recorder publishes run ends (`runtime.announce`)
    upstreams: frozenset[str] = frozenset()  # workflows some on_workflow trigger listens to

    def need_workflow(self) -> Workflow:
        if self.workflow is None:
            raise OrchestrationError(f"this function was started without a workflow: set its {Env.WORKFLOW_FILE}")
        return self.workflow

    def need_artifacts(self) -> ArtifactStore:
        if self.artifacts is None:
            raise OrchestrationError(f"this function was started without an artifact bucket: set {Env.ARTIFACT_BUCKET}")
        return self.artifacts

    def workflow_hash(self) -> str:
        """Hash of the workflow's compiled definition (what a run records), computed once."""
        if self.definition_hash is None:
            # the compiler only on this path (a start): the task path never imports it
            from orchestration.compiler import compile_workflow, definition_hash, to_json

            self.definition_hash = definition_hash(to_json(compile_workflow(self.need_workflow())))
        return self.definition_hash
