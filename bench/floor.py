"""The floor under the local overhead: the same compiled ASL on the same moto interpreter (and the same
adapter), with trivial handlers and no ledger. Deployed by LocalCloud, then every function the state
machine calls is answered by a constant (a task: `{"output": null}`; finalize: a succeeded run), and the
execution is started with StartExecution directly (no run record) and polled the way `LocalCloud.wait`
polls. What the local runtime adds on top (ledger writes, task runtime, finalize's summaries, the
recorder, the final ledger read) is the difference between the overhead and this floor.
"""

from __future__ import annotations

import gc
import json
import time
from typing import Any

from orchestration.grouping import placeholder_tasks
from orchestration.local.cloud import LocalCloud
from orchestration.model import Workflow
from orchestration.protocol import (
    FINALIZE_FUNCTION,
    ExecutionInput,
    FinalizeResult,
    TaskResponse,
)
from orchestration.status import TERMINAL_EXECUTION, RunStatus

TASK_ANSWER = TaskResponse().model_dump(mode="json", by_alias=True)
FINALIZE_ANSWER = FinalizeResult(status=RunStatus.SUCCEEDED, tasks={}).model_dump(mode="json", by_alias=True)


def _execute(cloud: LocalCloud, arn: str, name: str) -> float:
    payload = ExecutionInput(params={}, logical_date=None).model_dump(mode="json", by_alias=True)
    gc.collect()
    t0 = time.perf_counter()
    execution = cloud.sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    delay = 0.002
    while True:
        desc = cloud.sfn.describe_execution(executionArn=execution["executionArn"])
        if desc["status"] in TERMINAL_EXECUTION:
            break
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    seconds = time.perf_counter() - t0
    if desc["status"] != "SUCCEEDED":
        raise RuntimeError(f"floor run {name} ended {desc['status']}: {desc.get('cause') or desc.get('error')}")
    return seconds


def measure(workflow: Workflow, repeats: int = 1) -> dict[str, Any]:
    """Seconds of the first run and the best repeat of `workflow` on the floor."""
    with LocalCloud() as cloud:
        dep = cloud.deploy(workflow)
        for placeholder in placeholder_tasks(workflow):  # one function per task configuration
            cloud.adapter.register(dep.function_arns[placeholder], lambda _event: TASK_ANSWER)
        cloud.adapter.register(cloud._platform_arns[FINALIZE_FUNCTION], lambda _event: FINALIZE_ANSWER)
        runs = [_execute(cloud, dep.state_machine_arn, f"floor-{i}") for i in range(1 + repeats)]
    first, *rest = runs
    return {"run_s": first, "repeat_run_s": min(rest) if rest else None}
