"""A for-each beyond the plain inline Map (pure): a Parallel state whose one branch runs

    <task>.mode              Choice, "auto" only: the source's list in the state -> inline, stored -> distributed
    <task>.inline            the inline Map (its items as in the plain for-each)
    <task>.inline.results    only when the for-each's results feed another for-each: keep or store them
    <task>.distributed       a Distributed Map: ItemReader on the stored list, ResultWriter under the run
    <task>.results           the task's function reads the results in item order: kept inline or stored

so the for-each's result in the state is what the inline path gives: its items' outputs in item
order, or a reference to that list, which consumers resolve. The Parallel has no Retry (items
retry on their own) and the task's Catch.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestration.artifacts import ARTIFACT_PREFIX
from orchestration.compiler.foreach_quota import feed, mode_of
from orchestration.compiler.layout import Layout, Scope
from orchestration.compiler.paths import (
    REPAIR_NUMBER,
    RESPONSE_OUTPUT,
    RUN_ID,
    WORKFLOW_NAME,
    output_of,
    result_path,
)
from orchestration.compiler.states import (
    Asl,
    Branch,
    ChoiceState,
    MapState,
    ParallelState,
    State,
    TaskState,
    platform_retry,
    select,
)
from orchestration.foreach import ForEachMode
from orchestration.model import Task
from orchestration.protocol import (
    CTX_PATH,
    REF_KEY,
    RES_PATH,
    ArtifactRef,
    ForEachCollect,
    JsonPath,
    StateDocument,
    TaskResponse,
    TaskResult,
    state_path,
)
from orchestration.status import TaskStatus

EXPRESS_MAX_SECONDS = 300  # an Express execution's longest run
PLATFORM_RETRY_SECONDS = 7  # the Lambda service retries' intervals (1 + 2 + 4)
FE_PATH = state_path("fe")  # in the for-each's branch: the Map's result, then the task's response


def execution_type(layout: Layout, task: Task) -> str:
    """EXPRESS when an item can never outlast an Express execution nor wait for a callback (a pool)."""
    if task.name in layout.pools:
        return "STANDARD"
    timeout = min(task.timeout_seconds or task.resources.timeout_seconds, task.resources.timeout_seconds)
    r = task.retry
    attempts = 1 + max(0, r.max_attempts)
    waits = sum(
        min(r.interval_seconds * r.backoff_rate**k, r.max_delay_seconds or float("inf"))
        for k in range(max(0, r.max_attempts))
    )
    worst = attempts * timeout + waits + PLATFORM_RETRY_SECONDS
    return "EXPRESS" if worst <= EXPRESS_MAX_SECONDS else "STANDARD"


def results_prefix(task: str) -> JsonPath:
    """Where the Distributed Map writes its results: under the run's artifact prefix, per pass."""
    key = f"{ARTIFACT_PREFIX}{{}}/{{}}/{task}/results-r{{}}"
    return JsonPath(f"States.Format('{key}', {WORKFLOW_NAME}, {RUN_ID}, {REPAIR_NUMBER})")


def _renamed(branch: Branch, suffix: str) -> Branch:
    """The same states under names ending in `suffix` (state names are unique in a definition)."""
    names = {name: name + suffix for name in branch.states}
    for state in branch.states.values():
        if state.next is not None:
            state.next = names.get(state.next, state.next)
    return Branch(names[branch.start_at], {names[n]: s for n, s in branch.states.items()})


def _collect(layout: Layout, task: Task, **found: JsonPath) -> TaskState:
    return TaskState(
        function=layout.functions[task.name],
        payload=ForEachCollect.template(
            step="collect",
            run=JsonPath(CTX_PATH),
            task=task.name,
            limit=layout.limit,
            **({"feed": fed.model_dump()} if (fed := feed(layout, task.name)) else {}),
            **found,
        ),
        result_selector=TaskResponse.template(output=JsonPath(RESPONSE_OUTPUT)),
        result_path=FE_PATH,
        retry=[platform_retry()],
        end=True,
    )


def scaled_map(
    layout: Layout, task: Task, scope: Scope, catch: list[Asl], inline: MapState, processor: Callable[[], Branch]
) -> MapState | ParallelState:
    """The for-each's run state: `inline` as it is, or the Parallel described above."""
    assert task.for_each is not None
    mode, feeds = mode_of(layout, task), task.name in layout.for_each_sources
    if mode is ForEachMode.INLINE and not feeds:
        return inline
    name, source = task.name, output_of(scope[task.for_each])
    states: dict[str, State] = {}
    if mode is not ForEachMode.DISTRIBUTED:
        inline.result_selector = TaskResponse.template(output=JsonPath("$"))
        inline.result_path, inline.catch = FE_PATH, None
        states[f"{name}.inline"] = inline
        if feeds:
            inline.next = f"{name}.inline.results"
            states[inline.next] = _collect(layout, task, outputs=JsonPath(f"{FE_PATH}.{TaskResponse.key('output')}"))
        else:
            inline.end = True
    if mode is not ForEachMode.INLINE:
        bucket = JsonPath(f"{source}.{ArtifactRef.key('bucket')}")
        s = task.scale
        states[f"{name}.distributed"] = MapState(
            item_reader={
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": select({"Bucket": bucket, "Key": f"{source}.{ArtifactRef.key('object_key')}"}),
            },
            max_concurrency=task.max_concurrency,
            tolerated_failure_count=s.tolerated_failure_count or None,
            tolerated_failure_percentage=float(s.tolerated_failure_percentage) or None,  # a number with a point
            item_selector=inline.item_selector,
            processor=_renamed(processor(), ".d"),
            execution_type=execution_type(layout, task),
            result_writer={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": select({"Bucket": bucket, "Prefix": results_prefix(name)}),
            },
            result_path=FE_PATH,
            next=f"{name}.results",
        )
        states[f"{name}.results"] = _collect(
            layout,
            task,
            manifest=JsonPath(f"{FE_PATH}.ResultWriterDetails"),
            count=JsonPath(f"{source}.{ArtifactRef.key('items')}"),
        )
    start = f"{name}.{mode.value}" if mode is not ForEachMode.AUTO else f"{name}.mode"
    if mode is ForEachMode.AUTO:
        stored = {"Variable": f"{source}.{REF_KEY}", "IsPresent": True}
        states = {start: ChoiceState(choices=[(stored, f"{name}.distributed")], default=f"{name}.inline"), **states}
    doc = StateDocument.key("ctx"), StateDocument.key("res")
    return ParallelState(
        comment=f"For each item of {task.for_each} ({mode.value})",
        parameters=select({doc[0]: CTX_PATH, doc[1]: RES_PATH}),
        branches=[Branch(start, states)],
        result_selector=TaskResult.template(
            status=TaskStatus.SUCCEEDED, output=JsonPath(f"$[0].fe.{TaskResponse.key('output')}")
        ),
        result_path=result_path(name),
        catch=catch,
    )
