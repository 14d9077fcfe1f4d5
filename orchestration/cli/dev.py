"""`orch dev PATH`: run a project's schedules and file arrivals live on the local cloud until Ctrl-C.

Exit status: 0 (stopped by Ctrl-C or at the end of `--for`, every run it followed succeeded or was
skipped at its workflow's limit), 1 a run failed, 2 a user error (no workflow, nothing that `orch dev`
starts, `--files` not a folder, a bad `--for`).
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from orchestration.cli.common import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    WORKFLOW,
    err_console,
    guarded,
    secrets_option,
    set_local_log_levels,
)
from orchestration.cli.display import STATUS_STYLE, duration
from orchestration.errors import OrchestrationError, ParameterError
from orchestration.loader import load_path, select
from orchestration.model import Workflow
from orchestration.triggers import describe
from orchestration.validation import validate

if TYPE_CHECKING:
    from orchestration.operations.dev import DevSession, Note

DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?")
UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", None: "seconds"}


def parse_duration(value: str) -> timedelta:
    """--for: a number with a unit (ms, s, m, h, d; seconds without one)."""
    match = DURATION_RE.fullmatch(value.strip())
    if not match or float(match[1]) <= 0:
        raise ParameterError(f"--for {value!r} is not a duration: write e.g. 30s, 5m, 2h (seconds without a unit)")
    return timedelta(**{UNITS[match[2]]: float(match[1])})


@click.command()
@click.argument("path", type=click.Path())
@WORKFLOW
@click.option(
    "--files",
    "files_dir",
    metavar="DIR",
    help="Watch DIR: a new or changed file DIR/<bucket>/<key> is an S3 Object Created event.",
)
@click.option("--for", "run_for", metavar="DURATION", help="Stop after this long (30s, 5m, 2h), once its runs end.")
@click.option("--verbose", "-v", is_flag=True, help="Show the tasks' own log lines.")
@secrets_option
@guarded
def dev(
    path: str, workflow: str | None, files_dir: str | None, run_for: str | None, verbose: bool, secrets_file: str | None
) -> None:
    """Run the schedules and file-arrival triggers of PATH (a workflow file or a project folder) on the
    local cloud, as the deployed stack would, until Ctrl-C. Runs are kept in the local store."""
    since_ns = time.time_ns()  # a file written from now on is an arrival, even while the cloud starts
    limit = parse_duration(run_for) if run_for is not None else None
    files = Path(files_dir) if files_dir is not None else None
    if files is not None and not files.is_dir():
        raise ParameterError(
            f"--files {files_dir!r} is not a folder: create it, with one subfolder per bucket "
            f"(mkdir -p {files_dir}/my-bucket), or pass the folder whose subfolders stand for buckets"
        )
    found = load_path(path)
    workflows = [select(found, workflow, source=repr(path))] if workflow else [found[n] for n in sorted(found)]
    _check_something_to_run(path, workflows, files)
    from orchestration.operations.dev import dev_triggers

    for wf in workflows:
        if any(dev_triggers(wf)):
            validate(wf)  # every problem at once, before the local cloud starts
    from orchestration.local import LocalCloud
    from orchestration.operations.dev import DevSession
    from orchestration.operations.local_store import LocalStore

    store = LocalStore(cloud=LocalCloud)
    with LocalCloud(secrets=secrets_file, store=store, echo_task_output=verbose) as cloud:
        set_local_log_levels(verbose=verbose)
        session = DevSession(cloud, workflows, on_note=_show, files=files, files_since_ns=since_ns)
        _header(session, store.where, run_for)
        try:
            summary = session.run(limit)
        except KeyboardInterrupt:
            summary = session.summary
            err_console.print(
                f"stopped: {len(summary.interrupted)} run(s) going were stopped (ABORTED)", highlight=False
            )
    failed = summary.failed
    err_console.print(
        f"orch dev: {len(summary.ended)} run(s) ended, {len(failed)} failed; see them with `orch runs list`",
        highlight=False,
    )
    sys.exit(EXIT_RUN_FAILED if failed else EXIT_OK)


def _check_something_to_run(path: str, workflows: list[Workflow], files: Path | None) -> None:
    """A user error when nothing would ever start a run."""
    from orchestration.local.triggering import continuous_trigger
    from orchestration.operations.dev import dev_triggers

    if any(continuous_trigger(wf) for wf in workflows):
        return  # a continuous chain starts at once
    schedules = [t for wf in workflows for t in dev_triggers(wf)[0].values()]
    file_triggers = [t for wf in workflows for t in dev_triggers(wf)[1].values()]
    names = ", ".join(wf.name for wf in workflows)
    if not schedules and not file_triggers:
        raise OrchestrationError(
            f"{path!r} ({names}) declares no schedule and no file trigger, so `orch dev` has nothing to start: "
            "add schedule=Schedule(cron='0 6 * * ? *') or triggers=[on_s3_object_created('my-bucket')] to a "
            "Workflow (`orch run` starts a run by hand, `orch trigger` delivers other events)"
        )
    if not any(t.enabled for t in schedules) and files is None:
        what = "its schedules are disabled (enabled=False)" if schedules else "it has file triggers only"
        raise OrchestrationError(
            f"{path!r} ({names}): {what}, so nothing would start: "
            + ("pass --files DIR to watch a folder for them" if file_triggers else "enable a schedule")
        )


def _header(session: DevSession, where: str, run_for: str | None) -> None:
    from orchestration.operations.dev import dev_triggers

    until = f"for {run_for}" if run_for is not None else "until Ctrl-C"
    err_console.print(f"[bold]orch dev[/]: runs kept in {where}; {until}", highlight=False)
    for wf in session.workflows:
        schedules, files = dev_triggers(wf)
        for name, trig in schedules.items():
            nxt = session.next_fire.get((wf.name, name))
            when = "disabled (enabled=False): not fired" if not trig.enabled else f"next {_at(nxt)}"
            err_console.print(f"  {wf.name} / {name}: {describe(trig)}; {when}", highlight=False, soft_wrap=True)
        for name, event_trig in files.items():
            how = "" if session.watch is not None else " (not watched: pass --files DIR)"
            err_console.print(
                f"  {wf.name} / {name}: {event_trig.description or describe(event_trig)}{how}",
                highlight=False,
                soft_wrap=True,
            )
    if session.watch is not None:
        existing = session.watch.existing()
        err_console.print(
            f"  watching {session.watch.root}/<bucket>/<key>"
            + (f" ({len(existing)} file(s) there already, put in the local S3)" if existing else ""),
            highlight=False,
        )


def _at(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat()


def _show(note: Note) -> None:
    """One line per firing, file, run end or problem."""
    from orchestration.operations.dev import Arrived, Ended, Fired

    now = datetime.now().strftime("%H:%M:%S")
    if isinstance(note, Fired):
        missed = f" ({note.missed} earlier firing(s) slept through: `orch backfill` runs them)" if note.missed else ""
        line = f"schedule {note.workflow}/{note.trigger} fired for {note.scheduled_time.isoformat()}{missed}: "
        lines = [line + _result(note.result)]
    elif isinstance(note, Arrived):
        where = f"file s3://{note.bucket}/{note.key} ({note.size} B)"
        lines = [f"{where} -> {wf}/{trig}: {_result(result)}" for wf, trig, result in note.deliveries]
        lines = lines or [f"{where}: no trigger matches"]
    elif isinstance(note, Ended):
        run = note.record
        style = STATUS_STYLE.get(run.status) or "bold"
        took = duration(run.started_at, run.ended_at)
        stopped = " (stopped with orch dev)" if note.interrupted else ""
        error = f": {run.error}" if run.error and not note.interrupted else ""
        lines = [f"[{style}]{run.status}[/] {run.workflow} run {run.run_id} after {took}{stopped}{error}"]
    else:
        lines = [f"[yellow]![/] {note.message}"]
    for line in lines:
        err_console.print(f"[dim]{now}[/] {line}", highlight=False, soft_wrap=True)


def _result(result: dict[str, Any]) -> str:
    """What the trigger function did with a delivery."""
    status, run_id = result.get("status"), result.get("run_id")
    if status in ("started", "resumed"):
        return f"run {run_id} started"
    if status == "queued":
        return f"run {run_id} queued (the workflow is at max_concurrent_runs)"
    if status == "skipped":
        return f"run {run_id} skipped (the workflow is at max_concurrent_runs, on_limit='skip')"
    if status == "duplicate":
        return f"run {run_id} was started already (a duplicate delivery): nothing new"
    return f"[red]rejected[/]: {result.get('error')}"
