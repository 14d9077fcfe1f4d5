"""LocalCloud: an in-process moto with the run ledger, the artifact bucket, one Lambda function per
task and the compiled state machine; runs execute on moto's ASL interpreter with the real task code.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from pydantic import ValidationError as PydanticValidationError

from orchestration.artifacts import ArtifactStore
from orchestration.compiler import child_workflows, compile_machines, definition_hash, function_groups, render, to_json
from orchestration.compiler.states import substitution
from orchestration.errors import OrchestrationError
from orchestration.ledger import RunLedger, RunRecord, TaskRecord, table_spec
from orchestration.lineage import LineageTarget
from orchestration.local.aws import EMPTY_ZIP, LOCAL_TRUST, EmbeddedAws, function_name, status_change_event
from orchestration.local.bus import LocalBus
from orchestration.local.capture import TaskLogs
from orchestration.local.chains import Followers
from orchestration.local.environ import TaskEnvironment
from orchestration.local.moto_adapter import Adapter
from orchestration.local.notify import LocalNotifier
from orchestration.local.parts import deploy_parts
from orchestration.local.queueing import StoreSlots, wait_admitted
from orchestration.local.secrets import LocalSecrets, SecretsSource, forget_cached
from orchestration.local.timers import LocalTimers
from orchestration.model import Workflow
from orchestration.pools import POOL_FUNCTION, stack_pools
from orchestration.protocol import (
    FINALIZE_FUNCTION,
    JOIN_FUNCTION,
    FinalizeResult,
    function_placeholder,
    workflow_placeholder,
)
from orchestration.runtime.deps import Runtime
from orchestration.runtime.entry import bind
from orchestration.runtime.registry import FINALIZE, JOIN, POOL, SERVICE, SUBFLOW, TASK, TRIGGER, Env, PlatformFunction
from orchestration.runtime.starter import start_run
from orchestration.status import TERMINAL_EXECUTION, ExecutionStatus
from orchestration.times import iso
from orchestration.triggers import upstream_workflows

if TYPE_CHECKING:
    from orchestration.operations.local_store import LocalStore


class StartOptions(TypedDict, total=False):
    logical_date: datetime | None  # the run's logical date (a scheduled run gets its scheduled time)
    run_id: str | None  # the execution name; generated when omitted
    trigger: Mapping[str, Any] | None  # what started the run, as recorded in the ledger


@dataclass
class Deployment:
    workflow: Workflow
    definition: str  # the compiled ASL with placeholders: what infra/ deploys
    definition_hash: str
    state_machine_arn: str
    function_arns: dict[str, str]
    trigger: Runtime  # the workflow's trigger function's runtime (its function: `trigger.function_arn`)


CANCEL_CHECK_SECONDS = 0.25  # how often a run kept in a local store looks for a cancel request
STORE_SAVE_SECONDS = 1.0  # how often a run kept in a local store is saved while it goes


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


class LocalCloud:
    """Context manager: `with LocalCloud() as cloud: cloud.run(workflow, {...})`."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        table_name: str = "orch-ledger",
        bucket_name: str = "orch-artifacts",
        secrets: SecretsSource = None,  # a JSON file (name -> value) or a mapping; default $ORCH_SECRETS_FILE
        store: LocalStore | None = None,  # keep runs there (`orch` commands); None: forget them at exit
        echo_task_output: bool = True,  # let the tasks' own output through to the terminal too
        part_tasks: int | None = None,  # split every workflow into parts of at most this many tasks (tests)
    ) -> None:
        self.region, self.part_tasks = region, part_tasks
        self.table_name = table_name
        self.bucket_name = bucket_name
        self.adapter = Adapter()
        self.deployments: dict[str, Deployment] = {}
        self._aws = EmbeddedAws(region)
        self._platform_arns: dict[str, str] = {}
        self.secrets = LocalSecrets.load(secrets)
        self._environ = TaskEnvironment()
        self.store = store
        self.logs = TaskLogs(echo=echo_task_output)
        self._shared_slots: StoreSlots | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        session = self._aws.start()
        self.dynamodb = session.client("dynamodb")
        self.s3 = session.client("s3")
        self.sfn = session.client("stepfunctions")
        self.lambda_ = session.client("lambda")
        self.iam = session.client("iam")
        self.scheduler = session.client("scheduler")
        self.dynamodb.create_table(**table_spec(self.table_name))
        self.s3.create_bucket(Bucket=self.bucket_name)
        self.role_arn = self.iam.create_role(RoleName="orch-local", AssumeRolePolicyDocument=LOCAL_TRUST)["Role"]["Arn"]
        self.ledger = RunLedger(self.table_name, self.dynamodb)
        self._deploying = threading.RLock()  # concurrent deliveries may deploy a workflow at once
        self.artifacts = ArtifactStore(self.bucket_name, self.s3)
        self.secrets.seed(session)
        self.adapter.install()
        self.logs.install()
        self.logs.watch(logging.getLogger(SERVICE))
        self.adapter.on_child = self._child_status
        self.timers = LocalTimers(self.scheduler, self.adapter.handlers)
        # Run ends the recorder publishes reach the deployed workflows' on_workflow triggers.
        self.bus = LocalBus(self._trigger_functions, region=self.region)
        self.timers.start()
        self.notifier = LocalNotifier(self.sfn, self.adapter.handlers)
        # the runs trigger functions start here (continuous chains) are followed to their end
        self.followers = Followers(lambda wf, run_id: self.wait(run_id, workflow=wf), self.ledger, self.sfn)
        if self.store is not None:  # other processes may work on the store's workflows at once
            self._shared_slots = StoreSlots.share(self.store.root, self.ledger)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.store is not None:
                self.store.save(self)
        finally:
            self._close()

    def _close(self) -> None:
        if hasattr(self, "timers"):
            self.timers.stop()
            self.followers.stop()
        if self._shared_slots is not None:
            self._shared_slots.close()
        self.logs.uninstall()
        self.adapter.uninstall()
        self._environ.restore()
        forget_cached()
        self._aws.stop()

    # -- deployment --------------------------------------------------------------------------

    def _function(self, name: str, fn: PlatformFunction, rt: Runtime, **settings: Any) -> str:
        """A moto Lambda function whose invocations the adapter answers with `fn`'s work in-process."""
        arn = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role_arn,
            Handler=fn.handler,
            Code={"ZipFile": EMPTY_ZIP},
            Environment={"Variables": {Env.LEDGER_TABLE: self.table_name, Env.ARTIFACT_BUCKET: self.bucket_name}},
            **settings,
        )["FunctionArn"]
        self.adapter.register(arn, bind(fn, replace(rt, function_arn=arn)))
        return str(arn)

    def _trigger_functions(self) -> list[tuple[Workflow, Callable[[Any], Any]]]:
        """Each deployed workflow's trigger function as invoked here (the runs it starts are followed)."""
        return [
            (d.workflow, self.adapter.handlers[str(d.trigger.function_arn)]) for d in list(self.deployments.values())
        ]

    def _runtime(self, **fields: Any) -> Runtime:
        """A platform function's runtime here: the ledger, and what sets timers (`runtime.timers`)."""
        return Runtime(
            ledger=self.ledger,
            scheduler=self.scheduler,
            timer_group=self.timers.group,
            timer_role_arn=self.role_arn,
            **fields,
        )

    def _platform(self, texts: Sequence[str]) -> dict[str, str]:
        """The platform functions' ARNs, each created when a definition first calls it."""
        rt = self._runtime(artifacts=self.artifacts, stepfunctions=self.sfn)
        for key, fn in ((JOIN_FUNCTION, JOIN), (FINALIZE_FUNCTION, FINALIZE), (POOL_FUNCTION, POOL)):
            if key not in self._platform_arns and any(substitution(key) in text for text in texts):
                self._platform_arns[key] = self._function(f"orch-{fn.name}", fn, rt)
        return dict(self._platform_arns)

    def deploy(self, workflow: Workflow) -> Deployment:
        """Compile the workflow and create its functions and state machine (once per workflow), after
        those of the workflows it runs."""
        with self._deploying:
            return self._deploy(workflow)

    def _deploy(self, workflow: Workflow) -> Deployment:
        existing = self.deployments.get(workflow.name)
        if existing is not None:
            if existing.workflow is not workflow:
                raise OrchestrationError(
                    f"another workflow named {workflow.name!r} is already deployed in this local cloud: "
                    "give each workflow a unique name"
                )
            return existing
        text = to_json((machines := compile_machines(workflow, part_tasks=self.part_tasks)).definition)
        stack_pools([*(d.workflow for d in self.deployments.values()), workflow])  # one slot count per pool
        rt = self._runtime(artifacts=self.artifacts, workflow=workflow, secret_hint=self.secrets.hint)
        arns = self._platform([text, *(to_json(part.definition) for part in machines.parts)])
        self._environ.add(workflow)
        for name, child in child_workflows(workflow).items():
            arns[workflow_placeholder(name)] = self.deploy(child).state_machine_arn
        for task in [workflow.tasks[group[0]] for group in function_groups(workflow)]:  # one per configuration
            fn_arn = arns[function_placeholder(task.name)] = self._function(
                function_name(workflow.name, task.name),
                SUBFLOW if task.subflow else TASK,
                rt,
                MemorySize=task.resources.memory_mb,
                Timeout=task.resources.timeout_seconds,
                EphemeralStorage={"Size": task.resources.ephemeral_storage_mb},
            )
            handler = self._environ.wrap(task, self.adapter.handlers[fn_arn])  # the group's tasks: one env
            self.adapter.register(fn_arn, self.logs.wrap(workflow.name, task.name, handler))  # by the event's task
        arns.update(deploy_parts(self.sfn, self.role_arn, workflow.name, machines.parts, arns))  # split: its parts
        arn = self.sfn.create_state_machine(
            name=workflow.name, definition=render(text, arns), roleArn=self.role_arn, type=workflow.type
        )["stateMachineArn"]
        digest = definition_hash(text)
        trigger = self._runtime(
            workflow=workflow, stepfunctions=self.sfn, state_machine_arn=arn, definition_hash=digest
        )  # "_trigger" is no task's name: task names start with a letter
        trigger.function_arn = self._function(function_name(workflow.name, "_trigger"), TRIGGER, trigger)
        if workflow.notify:  # its notifier function hears of its executions' status changes (local.notify)
            fn, name = self.notifier.FUNCTION, function_name(workflow.name, "_notify")
            self.notifier.functions[workflow.name] = self._function(name, fn, self._runtime(workflow=workflow))
        fn_arn = trigger.function_arn
        self.adapter.register(fn_arn, self.followers.wrap(workflow.name, self.adapter.handlers[fn_arn]))
        dep = Deployment(workflow, text, digest, arn, arns, trigger)
        self.deployments[workflow.name] = dep
        return dep

    # -- runs --------------------------------------------------------------------------------

    def start(
        self, workflow: Workflow, params: Mapping[str, Any] | None = None, **options: Unpack[StartOptions]
    ) -> str:
        """Validate parameters, record the run and start its execution; returns the run id."""
        dep = self.deploy(workflow)
        logical_date, trigger = options.get("logical_date"), options.get("trigger")
        run_id = options.get("run_id") or new_run_id()
        started = start_run(
            workflow=workflow,
            ledger=self.ledger,
            stepfunctions=self.sfn,
            state_machine_arn=dep.state_machine_arn,
            definition_hash=dep.definition_hash,
            run_id=run_id,
            params=params or {},
            logical_date=iso(logical_date) if logical_date else None,
            trigger=trigger or {"type": "manual"},
        )
        if started.status == "duplicate":
            raise OrchestrationError(f"run id {run_id!r} already exists in the ledger: choose another run id")
        return run_id

    def wait(
        self,
        run_id: str,
        *,
        workflow: str | None = None,
        on_progress: Callable[[RunRecord], None] | None = None,
        progress_interval: float = 0.1,
        timeout_seconds: float = 900.0,
    ) -> RunRecord:
        """Block until the run's execution ends; returns its ledger record. A QUEUED run is waited
        for until it starts; a SKIPPED one returns at once.

        A run still going after `timeout_seconds` is stopped (ABORTED) so a stuck local run cannot
        hang a test suite or a terminal forever.
        """
        workflow = workflow or self.workflow_of(run_id)
        if self.store is not None:
            self.store.save(self, (workflow, run_id))  # other commands see the run going (or queued)
        run = wait_admitted(self.ledger, workflow, run_id, timeout_seconds, store=self.store, stepfunctions=self.sfn)
        if run.execution_arn is None:  # skipped, or cancelled while queued: it never started
            if self.store is not None:
                self.store.save(self, (workflow, run_id))
            self._complete_tasks(run)
            return run
        self.notifier.status_changed(run.execution_arn, ExecutionStatus.RUNNING)
        # Each poll is an emulated API call that competes with the interpreter's threads for the GIL:
        # poll often at first (short runs end fast), then back off.
        delay, next_progress, next_cancel_check = 0.002, 0.0, time.monotonic() + CANCEL_CHECK_SECONDS
        next_save = time.monotonic() + STORE_SAVE_SECONDS
        deadline = time.monotonic() + timeout_seconds
        while True:
            desc = self.sfn.describe_execution(executionArn=run.execution_arn)
            if desc["status"] in TERMINAL_EXECUTION:
                break
            if self.store is not None and time.monotonic() >= next_cancel_check:
                next_cancel_check = time.monotonic() + CANCEL_CHECK_SECONDS
                if time.monotonic() >= next_save:  # other commands (orch runs show, orch ui) see it go
                    next_save = time.monotonic() + STORE_SAVE_SECONDS
                    self.store.save(self, (workflow, run_id))
                if self.store.cancel_requested(workflow, run_id):
                    self._stop(run.execution_arn, "Cancelled", "cancelled with `orch runs cancel`")
            if time.monotonic() > deadline:
                self._stop(
                    run.execution_arn, "LocalRunTimeout", f"the local run took longer than {timeout_seconds:g} s"
                )
                continue
            try:
                if on_progress and time.monotonic() >= next_progress:
                    began = time.monotonic()
                    current = self.ledger.get_run(workflow, run_id)
                    if current is not None:
                        on_progress(current)
                    # reading a big run is not free: never spend more than a third of the time on it
                    next_progress = time.monotonic() + max(progress_interval, 2 * (time.monotonic() - began))
                time.sleep(delay)
            except KeyboardInterrupt:  # Ctrl-C: stop the run and record it, rather than leave it RUNNING
                self._stop(run.execution_arn, "Interrupted", "the local run was interrupted (Ctrl-C)")
                on_progress = None
            delay = min(delay * 1.5, 0.05)
        # On AWS the recorder function receives this status change from EventBridge (it closes a run
        # no finalize step closed, frees its slot, starts queued runs); here the same code gets it.
        from orchestration.runtime.recorder import record_status

        record_status(status_change_event(run.execution_arn, desc), self._recorder_runtime())
        final = self._finished_run(workflow, run_id, desc)
        assert final is not None
        self._complete_tasks(final)
        self.notifier.status_changed(run.execution_arn, desc["status"])
        if self.store is not None:
            self.store.save(self, (workflow, run_id))  # its child runs are saved when the cloud closes
        return final

    def _stop(self, execution_arn: str, error: str, cause: str) -> None:
        self.sfn.stop_execution(executionArn=execution_arn, error=error, cause=cause)

    def _finished_run(self, workflow: str, run_id: str, desc: Mapping[str, Any]) -> RunRecord | None:
        """A finished run: its task summaries and outputs come with the execution's output (Finalize
        returns what the ledger holds), so only the run item is read; otherwise, or when the outputs
        were too large to come along, the ledger is read with the attempts (they hold the outputs)."""
        if desc["status"] == ExecutionStatus.SUCCEEDED:
            try:
                output = FinalizeResult.model_validate_json(desc.get("output") or "{}")
            except PydanticValidationError:
                return self.ledger.get_run(workflow, run_id)
            run = self.ledger.get_run_item(workflow, run_id) if output.outputs else None
            if run is not None:
                run.tasks = {name: TaskRecord(name, **t.model_dump()) for name, t in output.tasks.items()}
                return run
        return self.ledger.get_run(workflow, run_id)

    def run(
        self,
        workflow: Workflow,
        params: Mapping[str, Any] | None = None,
        *,
        on_progress: Callable[[RunRecord], None] | None = None,
        **options: Unpack[StartOptions],
    ) -> RunRecord:
        """Start a run (as `start`) and wait for it."""
        return self.wait(self.start(workflow, params, **options), workflow=workflow.name, on_progress=on_progress)

    def _complete_tasks(self, run: RunRecord) -> None:
        """List every task of the workflow, PENDING for those the run never reached."""
        dep = self.deployments.get(run.workflow)
        if dep is None:
            return
        run.tasks = {name: run.tasks.get(name, TaskRecord(name)) for name in dep.workflow.tasks}

    def _child_status(self, execution_arn: str, status: ExecutionStatus) -> None:
        """An execution a state machine started (a child run) started or ended: the recorder hears of
        it, as it does on AWS from EventBridge (it marks the run RUNNING, or closes it if it ended
        without its Finalize step, e.g. stopped with its parent)."""
        from orchestration.runtime.recorder import record_status

        desc = dict(self.sfn.describe_execution(executionArn=execution_arn))
        if status == ExecutionStatus.RUNNING:
            desc.pop("stopDate", None)
        else:
            desc.setdefault("stopDate", datetime.now(UTC))
        record_status(status_change_event(execution_arn, {**desc, "status": status}), self._recorder_runtime())
        self.notifier.status_changed(execution_arn, status)

    def _recorder_runtime(self) -> Runtime:
        """What the recorder works with here: the ledger, to free a run's pool slots the pools, the
        bus to publish the ends of runs some deployed workflow's on_workflow trigger listens to, and
        where to write OpenLineage events (the local store)."""
        workflows = [d.workflow for d in list(self.deployments.values())]
        listened = frozenset(u for wf in workflows for u in upstream_workflows(wf))
        lineage = LineageTarget(file=self.store.lineage_file) if self.store is not None else None
        pools = stack_pools(workflows)
        return self._runtime(stepfunctions=self.sfn, pools=pools, events=self.bus, upstreams=listened, lineage=lineage)

    def workflow_of(self, run_id: str) -> str:
        """The workflow of a run in this cloud's ledger (LedgerError when two have a run with this id)."""
        run = self.ledger.get_run_by_id(run_id, attempts=False)
        if run is None:
            raise OrchestrationError(f"run {run_id!r} is not in the ledger")
        return run.workflow

    def repair(
        self,
        run_id: str,
        *,
        tasks: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        allow_changed_definition: bool = False,
        workflow: Workflow | None = None,
        trigger: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """Repair a finished run (`operations.repair.repair_run`) and wait for the repair to end; the
        run's workflow must be deployed in this cloud (`workflow` deploys it)."""
        from orchestration.operations.repair import repair_run

        name = workflow.name if workflow is not None else self.workflow_of(run_id)
        dep = self.deploy(workflow) if workflow is not None else self.deployments.get(name)
        if dep is None:
            raise OrchestrationError(f"workflow {name!r} of run {run_id!r} is not deployed in this local cloud")
        repair_run(
            workflow=dep.workflow,
            ledger=self.ledger,
            artifacts=self.artifacts,
            stepfunctions=self.sfn,
            state_machine_arn=dep.state_machine_arn,
            definition_hash=dep.definition_hash,
            run_id=run_id,
            tasks=tasks,
            params=params,
            allow_changed_definition=allow_changed_definition,
            trigger=trigger,
        )
        return self.wait(run_id, workflow=name)

    def execution_history(self, run_id: str) -> list[dict[str, Any]]:
        run = self.ledger.get_run(self.workflow_of(run_id), run_id)
        if run is None or run.execution_arn is None:
            return []
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=run.execution_arn)
        return [event for page in pages for event in page["events"]]
