"""What the task functions read in a repair: its plan (`protocol.RepairPlan`), one S3 read per warm
container and repair. A reused task returns its recorded output without running its code or
recording an attempt; a task run again numbers its attempts after those already recorded."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from orchestration.artifacts import repair_plan_key
from orchestration.errors import OrchestrationError
from orchestration.protocol import RepairPlan, RunContext
from orchestration.runtime.deps import Runtime

_CACHED_PLANS = 16
_plans: OrderedDict[tuple[str, str], RepairPlan] = OrderedDict()
_lock = threading.Lock()


def repair_plan(rt: Runtime, run: RunContext) -> RepairPlan | None:
    """The plan of the repair this run context is in; None in a run's first pass."""
    if run.repair == 0:
        return None
    artifacts = rt.need_artifacts()
    key = repair_plan_key(run.workflow, run.run_id, run.repair)
    with _lock:
        plan = _plans.get((artifacts.bucket, key))
    if plan is None:
        plan = RepairPlan.model_validate(artifacts.get(key))
        if (plan.workflow, plan.run_id, plan.number) != (run.workflow, run.run_id, run.repair):
            raise OrchestrationError(
                f"the repair plan at {key} is for run {plan.run_id!r} of {plan.workflow!r}, repair {plan.number}: "
                "it was altered outside `orch repair`; repair the run again"
            )
        with _lock:
            _plans[(artifacts.bucket, key)] = plan
            while len(_plans) > _CACHED_PLANS:
                _plans.popitem(last=False)
    return plan


def reused_output(plan: RepairPlan, task: str, index: int | None) -> Any:
    """The recorded output a reused task (or one item of a reused for-each) returns again."""
    output = plan.reused[task]
    if index is None:
        return output
    if not isinstance(output, list) or not 0 <= index < len(output):
        raise OrchestrationError(
            f"repair {plan.number} of run {plan.run_id!r} reuses for-each task {task!r}, but its plan has no "
            f"recorded output for item {index}: repair the run naming the task (--task {task}) to run it again"
        )
    return output[index]


def attempt_number(plan: RepairPlan | None, task: str, retry_count: int) -> int:
    """An attempt's number: 1 + the state's retry count, after the attempts earlier passes recorded."""
    return retry_count + 1 + (plan.offsets.get(task, 0) if plan else 0)
