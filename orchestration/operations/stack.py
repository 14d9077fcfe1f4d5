"""A deployed stack's runs (`--stack NAME`): its run ledger, state machines and task logs, through boto3.

What the stack holds is found through CloudFormation: the ledger table and the artifact bucket from the
stack's Outputs (or, when a deployment left them out, the template's Outputs resolved against the
stack's resources), each workflow's state machine and task functions from the template's resources
tagged `orch:workflow` (`protocol.WORKFLOW_TAG`) and their DefinitionSubstitutions, in the stack and its
nested stacks, with their physical ids.
The template is read once, when a command first needs a workflow's resources.
"""

from __future__ import annotations

import heapq
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from orchestration.errors import OperationError, RunNotFound, StackError
from orchestration.ledger import RunLedger, RunRecord
from orchestration.ledger.keys import BY_STATUS, BY_WORKFLOW, STATUS_PK, WORKFLOW_PK
from orchestration.operations.source import LogLine, RunFilter, newest_first
from orchestration.operations.stack_template import NESTED_STACK, StackResources, TaskFunction, resolve
from orchestration.protocol import WORKFLOW_TAG
from orchestration.runtime.concurrency import CANCEL_ERROR, cancel_queued
from orchestration.status import RunStatus, is_terminal
from orchestration.times import iso, parse_iso

if TYPE_CHECKING:
    pass

SHARED_LABEL_TASKS = 4  # a shared function's unattributed lines name up to this many of its tasks
LEDGER_OUTPUT = "LedgerTableName"
BUCKET_OUTPUT = "ArtifactBucketName"
CANCEL_WAIT_SECONDS = 20.0  # how long `cancel` waits for the recorder to record ABORTED
POLL_SECONDS = 0.2
# Log events are searched from a little before the run was created to a little after it ended.
LOG_MARGIN = timedelta(minutes=1)
LOG_TAIL = timedelta(minutes=15)
# Fail fast on a wrong endpoint; throttling is still retried.
CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=60, retries={"mode": "standard", "max_attempts": 3})


class StackRuns:
    """`RunSource` of a deployed stack: reads its ledger, stops its executions, searches its logs."""

    def __init__(
        self,
        stack_name: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        session: boto3.Session | None = None,
        endpoint_url: str | None = None,
        cancel_wait_seconds: float = CANCEL_WAIT_SECONDS,
    ) -> None:
        self.stack_name = stack_name
        try:
            self.session = session or boto3.Session(region_name=region, profile_name=profile)
        except ProfileNotFound:
            raise StackError(
                f"no AWS profile named {profile!r} (for stack {stack_name!r}): "
                "pass --profile with a profile from ~/.aws/config, or leave it out"
            ) from None
        if not self.session.region_name:
            raise StackError(
                f"no AWS region for stack {stack_name!r}: pass --region, or set AWS_REGION or the profile's region"
            )
        self.region: str = self.session.region_name
        self.where = f"stack {stack_name} ({self.region})"
        self.endpoint_url = endpoint_url
        self.cancel_wait_seconds = cancel_wait_seconds
        self._cfn = self.client("cloudformation")
        with self.aws("describe"):
            self.outputs = self._describe_outputs()
        table = self.outputs.get(LEDGER_OUTPUT) or self.resources.outputs.get(LEDGER_OUTPUT)
        if not table:
            raise StackError(
                f"{self.where} has no run ledger (no {LEDGER_OUTPUT} output): it is not an orchestrator "
                "stack, or its deployment did not finish; check --stack and --region"
            )
        self.table: str = table
        self.bucket: str | None = self.outputs.get(BUCKET_OUTPUT) or self.resources.outputs.get(BUCKET_OUTPUT)
        self.ledger = RunLedger(self.table, self.client("dynamodb"))

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG)

    def wait(self, workflow: str, run_id: str, *, repair: int, timeout_seconds: float = 3600.0) -> RunRecord:
        """The run once pass `repair` of it has ended (polling the ledger, 1 s apart)."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            run = self.get_run(run_id, workflow)
            if run.repair >= repair and is_terminal(run.status):
                return run
            if time.monotonic() > deadline:
                raise OperationError(
                    f"run {run_id!r} had not ended after {timeout_seconds:g} s: follow it with orch runs show"
                )
            time.sleep(1.0)

    @contextmanager
    def aws(self, doing: str) -> Iterator[None]:
        """Turn what boto3 raises into a StackError naming the stack, the region and the fix."""
        try:
            yield
        except (NoCredentialsError, PartialCredentialsError):
            raise StackError(
                f"no AWS credentials to {doing} {self.where}: set AWS_PROFILE (or --profile), "
                "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
        except EndpointConnectionError as exc:
            raise StackError(
                f"cannot reach AWS to {doing} {self.where} ({exc.kwargs.get('endpoint_url')}): "
                "check --region, AWS_ENDPOINT_URL and the network"
            ) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "?"), error.get("Message", "")
            if code == "ValidationError" and "does not exist" in message:
                raise StackError(
                    f"no stack named {self.stack_name!r} in region {self.region}: check --stack and --region "
                    "(`aws cloudformation list-stacks` lists them)"
                ) from None
            hint = " (the credentials' identity lacks a permission)" if "AccessDenied" in code else ""
            raise StackError(f"AWS refused to {doing} {self.where}: {code}: {message}{hint}") from None
        except BotoCoreError as exc:
            raise StackError(f"cannot {doing} {self.where}: {exc}") from None

    # -- what the stack holds ---------------------------------------------------------------

    def _describe_outputs(self) -> dict[str, str]:
        (stack,) = self._cfn.describe_stacks(StackName=self.stack_name)["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) if "OutputValue" in o}

    @cached_property
    def resources(self) -> StackResources:
        """The workflows' state machines and task functions (template and resources read once)."""
        found = StackResources({}, {}, {})
        stacks = [self.stack_name]  # and its nested stacks (a stack of many workflows has some)
        with self.aws("read the template of"):
            while stacks:
                name = stacks.pop()
                body = self._cfn.get_template(StackName=name)["TemplateBody"]
                physical: dict[str, str] = {}
                for page in self._cfn.get_paginator("list_stack_resources").paginate(StackName=name):
                    for res in page["StackResourceSummaries"]:
                        if res.get("PhysicalResourceId"):
                            physical[res["LogicalResourceId"]] = res["PhysicalResourceId"]
                            if res.get("ResourceType") == NESTED_STACK:
                                stacks.append(res["PhysicalResourceId"])
                template: Mapping[str, Any] = json.loads(body) if isinstance(body, str) else body
                part = resolve(template, physical)
                found.state_machines.update(part.state_machines)
                found.tasks.update(part.tasks)
                if name == self.stack_name:
                    found.outputs.update(part.outputs)
        return found

    @property
    def state_machines(self) -> dict[str, str]:
        """Workflow name -> its state machine's ARN."""
        return self.resources.state_machines

    def task_functions(self, workflow: str) -> dict[str, TaskFunction]:
        """Task name -> its function, for one workflow; StackError when the stack has none of it."""
        found = {task: fn for (wf, task), fn in self.resources.tasks.items() if wf == workflow}
        if not found:
            raise StackError(
                f"{self.where} has no task function tagged {WORKFLOW_TAG}={workflow}: "
                "redeploy the stack with this version of orch (it tags them)"
            )
        return found

    # -- RunSource --------------------------------------------------------------------------

    def list_runs(self, which: RunFilter) -> list[RunRecord]:
        """Through the ledger's indexes: by workflow (and status), by status, or every status merged."""
        since = None if which.since is None else iso(_utc(which.since))
        page = max(1, min(which.limit, 500))
        if which.workflow is not None:
            where = {"status": which.status} if which.status is not None else None
            streams = [
                self.ledger.index_runs(BY_WORKFLOW, WORKFLOW_PK(which.workflow), since=since, where=where, page=page)
            ]
        else:
            statuses = [which.status] if which.status is not None else list(RunStatus)
            streams = [self.ledger.index_runs(BY_STATUS, STATUS_PK(s), since=since, page=page) for s in statuses]
        merged = heapq.merge(*streams, key=lambda r: (r.created_at, r.run_id), reverse=True)
        with self.aws("list the runs of"):
            chosen = list(islice((run for run in merged if which.matches(run)), max(0, which.limit)))
        return newest_first(chosen, which)

    def get_run(self, run_id: str, workflow: str | None = None) -> RunRecord:
        return self._run(run_id, workflow, attempts=True)

    def _run(self, run_id: str, workflow: str | None, *, attempts: bool) -> RunRecord:
        with self.aws("read the run ledger of"):
            if workflow is None:
                workflows = sorted({run.workflow for run in self.ledger.find_runs(run_id)})
                if len(workflows) > 1:
                    raise RunNotFound(
                        f"run id {run_id!r} is used by workflows {', '.join(workflows)} in {self.where}: "
                        "name the workflow (--workflow)"
                    )
                workflow = workflows[0] if workflows else None
            run = None if workflow is None else self.ledger.get_run(workflow, run_id, attempts=attempts)
        if run is None:
            of = f" of workflow {workflow!r}" if workflow else ""
            raise RunNotFound(f"no run {run_id!r}{of} in {self.where}: `orch runs list --stack {self.stack_name}`")
        return run

    def notices(self, run: RunRecord) -> list[dict[str, Any]]:
        from orchestration.ledger.notices import run_notices

        with self.aws("read the run ledger of"):
            return run_notices(self.ledger, run.workflow, run.run_id)

    def graph(self, run: RunRecord) -> Mapping[str, Sequence[str]] | None:
        """None: the stack keeps the compiled definition, not the workflow's graph (an order-only
        `after=` edge leaves no trace in the definition)."""
        return None

    def cancel(self, run_id: str, workflow: str | None = None) -> RunRecord:
        """StopExecution (error "Cancelled", the cause names the caller), then the run as the ledger
        has it once the recorder recorded ABORTED (EventBridge delivers the status change to it). If
        that takes longer than `cancel_wait_seconds`, the run is returned as it stands (not ended):
        the stop was requested and the recorder will record it."""
        run = self._run(run_id, workflow, attempts=False)
        if is_terminal(run.status):
            raise OperationError(
                f"run {run_id!r} of workflow {run.workflow!r} has already ended ({run.status}) in {self.where}: "
                "there is nothing to cancel"
            )
        if run.status == RunStatus.QUEUED and not run.execution_arn:
            run = self._cancel_queued(run)
            if is_terminal(run.status):
                return self._run(run.run_id, run.workflow, attempts=True)
        arn = run.execution_arn or self._execution_arn(run)
        sfn = self.client("stepfunctions")
        with self.aws("stop a run of"):
            try:
                sfn.stop_execution(executionArn=arn, error=CANCEL_ERROR, cause=f"cancelled by {self.caller()}")
            except sfn.exceptions.ExecutionDoesNotExist:
                raise OperationError(
                    f"run {run_id!r} of workflow {run.workflow!r} is {run.status} and has no execution "
                    f"{arn} in {self.where} to stop"
                ) from None
        return self._await_end(run)

    def _cancel_queued(self, run: RunRecord) -> RunRecord:
        """Withdraw a queued run (closed ABORTED); the run with its execution when a drain started it first."""
        with self.aws("cancel a queued run of"):
            current = cancel_queued(self.ledger, run, self.caller(), wait_seconds=self.cancel_wait_seconds)
        if not current.execution_arn and not is_terminal(current.status):
            raise OperationError(
                f"run {run.run_id!r} of workflow {run.workflow!r} is QUEUED in {self.where} but neither in its "
                "workflow's queue nor started (its start was interrupted; the delivery's retry resumes it): "
                "cancel it again in a minute"
            )
        return current

    def _execution_arn(self, run: RunRecord) -> str:
        machine = self.state_machines.get(run.workflow)
        if machine is None:
            raise StackError(f"{self.where} has no state machine tagged {WORKFLOW_TAG}={run.workflow}")
        return f"{machine.replace(':stateMachine:', ':execution:', 1)}:{run.run_id}"

    def caller(self) -> str:
        try:
            return str(self.client("sts").get_caller_identity()["Arn"])
        except (BotoCoreError, ClientError):
            return "an unknown caller (STS GetCallerIdentity failed)"

    def _await_end(self, run: RunRecord) -> RunRecord:
        deadline = time.monotonic() + self.cancel_wait_seconds
        with self.aws("read the run ledger of"):
            while True:
                current = self.ledger.get_run_item(run.workflow, run.run_id)
                if current is None or is_terminal(current.status) or time.monotonic() >= deadline:
                    break
                time.sleep(POLL_SECONDS)
        return self._run(run.run_id, run.workflow, attempts=True)

    def logs(self, run_id: str, task: str | None = None, workflow: str | None = None) -> Iterator[LogLine]:
        """CloudWatch Logs of the run's task functions (`task`'s only, when given), filtered by run id.

        Powertools JSON lines are matched on their `run_id` key and give their task and attempt; any
        other line is kept when it holds the run id as a word (a task's print() without the run id
        is not found: use `ctx.logger`). Tasks of one configuration share a function and its log
        group: such a line is shown under all of them (`a|b|c`), as is its own task's."""
        run = self._run(run_id, workflow, attempts=False)
        functions = self.task_functions(run.workflow)
        if task is not None and task not in functions:
            raise StackError(
                f"workflow {run.workflow!r} has no task {task!r} in {self.where} "
                f"(its tasks: {', '.join(sorted(functions))})"
            )
        groups: dict[str, list[str]] = {}  # log group -> the tasks writing to it (a shared function: several)
        for name, fn in sorted(functions.items()):
            if fn.log_group is not None and (task is None or fn.function == functions[task].function):
                groups.setdefault(fn.log_group, []).append(name)
        window = _window(run)
        logs = self.client("logs")
        lines: list[tuple[int, LogLine]] = []
        with self.aws("read the logs of"):
            for group, names in sorted(groups.items()):
                # a line without a task key (a print) in a shared function's logs: any of its tasks' (a|b|c)
                label = "|".join(names) if len(names) <= SHARED_LABEL_TASKS else f"{names[0]}|...({len(names)})"
                for event in _events(logs, group, run_id, window):
                    line = parse_line(event, run, label)
                    if line is not None and (task is None or line.task in (task, label)):
                        lines.append((int(event.get("timestamp", 0)), line))
        lines.sort(key=lambda pair: (pair[0], pair[1].task))
        return iter([line for _, line in lines])


# -- helpers (pure, but `_events`) ------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _ms(moment: datetime) -> int:
    return int(_utc(moment).timestamp() * 1000)


def _window(run: RunRecord) -> tuple[int | None, int | None]:
    """Epoch milliseconds to search the run's log events in (None: unbounded)."""
    created = parse_iso(run.created_at) or parse_iso(run.started_at)
    ended = parse_iso(run.ended_at)
    return (
        None if created is None else _ms(created - LOG_MARGIN),
        None if ended is None else _ms(ended + LOG_TAIL),
    )


def _events(logs: Any, group: str, run_id: str, window: tuple[int | None, int | None]) -> Iterator[dict[str, Any]]:
    """FilterLogEvents on the group for events holding the run id; none if the group does not exist."""
    request: dict[str, Any] = {"logGroupName": group, "filterPattern": json.dumps(run_id)}
    start, end = window
    if start is not None:
        request["startTime"] = start
    if end is not None:
        request["endTime"] = end
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**request):
            yield from page.get("events", [])
    except logs.exceptions.ResourceNotFoundException:
        return  # the function never ran (Lambda creates the group on the first write)


def parse_line(event: Mapping[str, Any], run: RunRecord, task: str) -> LogLine | None:
    """One log event of `task`'s function as a LogLine of `run`; None when it is another run's."""
    text = str(event.get("message", "")).rstrip("\n")
    at = iso(datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC))
    record = _json_object(text)
    if record is not None and "run_id" in record:
        if record.get("run_id") != run.run_id or record.get("workflow", run.workflow) != run.workflow:
            return None
        message = record.get("message")
        message = message if isinstance(message, str) else json.dumps(message)
        if record.get("exception"):
            message = f"{message}\n{record['exception']}"
        attempt = record.get("attempt")
        return LogLine(at, str(record.get("task") or task), attempt if isinstance(attempt, int) else None, message)
    if not _holds_word(text, run.run_id):
        return None
    return LogLine(at, task, None, text)


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _holds_word(text: str, word: str) -> bool:
    """`word` in `text` not as part of a longer run id (run ids are [A-Za-z0-9_-]+)."""
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(word)}(?![A-Za-z0-9_-])", text) is not None
