"""The platform's CloudWatch metrics, as Embedded Metric Format documents (Powertools' EMF provider).

Each call below builds one self-contained document (its own metric set: safe from the local runtime's
threads) and hands it to the sink. On Lambda the entry point installs `to_stdout`: CloudWatch Logs
turns the printed documents into metrics. Elsewhere (the local runtime, tests) documents are dropped
unless `capture()` collects them, so local runs print nothing.

Dimensions are names the deployer chose (workflow, task, pool) or enums (outcome): never a run id,
a parameter or an output. The dashboard and alarms (infra/constructs/monitoring.py) read these names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from orchestration.runtime.registry import SERVICE

NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "Orchestration"

# metric names
TASK_DURATION = "TaskDuration"  # ms, per attempt
TASK_SUCCEEDED = "TaskSucceeded"  # 1 or 0 per attempt
TASK_FAILED = "TaskFailed"  # 1 or 0 per attempt
TASK_RETRIED = "TaskRetried"  # 1 for an attempt the state machine retried, else 0
RUNS = "Runs"  # 1 per run (or repair pass) that ends, by outcome
RUN_DURATION = "RunDuration"  # ms, from the run's start to its end
QUEUE_DEPTH = "QueueDepth"  # runs waiting to start, per workflow
POOL_USAGE = "PoolUsage"  # slots in use, per pool

# dimension names
SERVICE_DIMENSION = "service"
WORKFLOW = "workflow"
TASK = "task"
OUTCOME = "outcome"
POOL = "pool"

Document = dict[str, Any]
Sink = Callable[[Document], None]

_sink: Sink | None = None


def namespace_of(stack_name: str) -> str:
    """The namespace a deployed stack's functions write to (set as NAMESPACE_ENV by infra)."""
    return f"{DEFAULT_NAMESPACE}/{stack_name}"


def to_stdout(document: Document) -> None:
    print(json.dumps(document, separators=(",", ":")), flush=True)


def set_sink(sink: Sink | None) -> None:
    """Where documents go from now on (None: dropped)."""
    global _sink
    _sink = sink


@contextmanager
def capture() -> Iterator[list[Document]]:
    """Collect the documents emitted inside the block (tests)."""
    previous, documents = _sink, list[Document]()
    set_sink(documents.append)
    try:
        yield documents
    finally:
        set_sink(previous)


def _emit(
    values: Mapping[str, tuple[MetricUnit, float]],
    dimensions: Mapping[str, str],
    *also: Mapping[str, str],
) -> None:
    """One document: `values` under the dimension set `dimensions` and each further set in `also`."""
    sink = _sink
    if sink is None:
        return
    provider = AmazonCloudWatchEMFProvider(
        namespace=os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE,
        service=SERVICE,
        default_dimensions={SERVICE_DIMENSION: SERVICE},
    )
    for name, value in dimensions.items():
        provider.add_dimension(name, value)
    for extra in also:
        provider.add_dimensions(**extra)
    for metric, (unit, amount) in values.items():
        provider.add_metric(name=metric, unit=unit, value=amount)
    sink(dict(provider.serialize_metric_set()))


def task_attempt(workflow: str, task: str, *, duration_ms: int, failed: bool, retried: bool) -> None:
    """An attempt of a task ended: by (workflow, task) and by workflow."""
    _emit(
        {
            TASK_DURATION: (MetricUnit.Milliseconds, duration_ms),
            TASK_SUCCEEDED: (MetricUnit.Count, 0 if failed else 1),
            TASK_FAILED: (MetricUnit.Count, 1 if failed else 0),
            TASK_RETRIED: (MetricUnit.Count, 1 if retried else 0),
        },
        {WORKFLOW: workflow, TASK: task},
        {WORKFLOW: workflow},
    )


def run_ended(workflow: str, outcome: str, *, duration_ms: int | None) -> None:
    """A run (or a repair pass) ended with `outcome`: by (workflow, outcome), by outcome and by workflow."""
    values = {RUNS: (MetricUnit.Count, 1.0)}
    if duration_ms is not None:
        values[RUN_DURATION] = (MetricUnit.Milliseconds, max(duration_ms, 0))
    _emit(values, {WORKFLOW: workflow, OUTCOME: str(outcome)}, {OUTCOME: str(outcome)}, {WORKFLOW: workflow})


def queue_depth(workflow: str, n: int) -> None:
    """Runs of `workflow` waiting for a free slot: after each drain of its queue (`concurrency.drain`:
    a run queued, started, or its slot released)."""
    _emit({QUEUE_DEPTH: (MetricUnit.Count, n)}, {WORKFLOW: workflow})


def pool_usage(pool: str, n: int) -> None:
    """Slots of `pool` in use: after each take or release of its slots (`pool.fill`)."""
    _emit({POOL_USAGE: (MetricUnit.Count, n)}, {POOL: pool})
