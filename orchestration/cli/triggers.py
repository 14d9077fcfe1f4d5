"""`orch trigger` and `orch schedule`: run event triggers locally, preview schedules.

`orch trigger FILE --event EVENT.json` exit status: 0 every matching run succeeded (or, with
--dry-run, some workflow matched); 1 a run failed; 2 a user error (bad file, bad event, an event
whose fields do not make valid parameters); 3 no workflow's pattern matches the event.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from orchestration.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    FILE,
    WORKFLOW,
    err_console,
    guarded,
    parse_iso_option,
    run_exit,
    set_local_log_levels,
    workflows_in,
)
from orchestration.errors import OrchestrationError
from orchestration.status import RunStatus, is_ok_run
from orchestration.triggers import EventTrigger, Schedule, TriggerError, describe, next_fire_times, triggers_of
from orchestration.validation import validate

EXIT_NO_MATCH = 3


def _read_event(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise OrchestrationError(f"--event {source!r} cannot be read ({exc.strerror}): pass a JSON file or -") from None
    except UnicodeDecodeError as exc:
        raise OrchestrationError(
            f"--event {source!r} is not UTF-8 text (byte {exc.start}): save the event as UTF-8 JSON"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OrchestrationError(f"--event {source!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise OrchestrationError(f"--event {source!r} is nested too deeply to read: flatten the event") from None


@click.command()
@FILE
@WORKFLOW
@click.option(
    "--event", "event_file", required=True, metavar="EVENT.json", help="EventBridge event (JSON file, or - for stdin)."
)
@click.option("--dry-run", is_flag=True, help="Only say which workflows match; start nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the matches and runs.")
@guarded
def trigger(file: str, workflow: str | None, event_file: str, dry_run: bool, as_json: bool) -> None:
    """Deliver an EventBridge event to the file's workflows, as their rules would on AWS."""
    from orchestration.local.triggering import complete_event, deliver, matching_triggers

    workflows = workflows_in(file, workflow)
    for wf in workflows:
        validate(wf)
    event = complete_event(_read_event(event_file))
    matched = matching_triggers(workflows, event)
    names = [f"{wf.name}/{name}" for wf, name in matched]
    report: dict[str, Any] = {"event_id": event["id"], "matched": names, "runs": []}
    if not matched:
        declared = sum(1 for wf in workflows for t in triggers_of(wf).values() if isinstance(t, EventTrigger))
        msg = (
            f"no workflow matched: the event (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r}) matches none of the {declared} event trigger(s) in {file}"
        )
        if as_json:
            click.echo(json.dumps(report, indent=2))
        err_console.print(msg, highlight=False, soft_wrap=True)
        sys.exit(EXIT_NO_MATCH)
    if dry_run:
        if as_json:
            click.echo(json.dumps(report, indent=2))
        else:
            for wf, name in matched:
                click.echo(f"would start {wf.name} (trigger {name})")
        return
    from orchestration.local import LocalCloud

    worst = EXIT_OK
    from orchestration.operations.local_store import LocalStore

    with LocalCloud(store=LocalStore(cloud=LocalCloud), echo_task_output=False) as cloud:
        set_local_log_levels()
        for wf, name in matched:
            result = deliver(cloud, wf, name, event)
            entry: dict[str, Any] = {"workflow": wf.name, "trigger": name, **result}
            if result["status"] == "rejected":
                worst = max(worst, EXIT_USAGE)
                err_console.print(
                    f"[red]✗[/] {wf.name} ({name}): rejected: {result['error']}", highlight=False, soft_wrap=True
                )
            elif result["status"] == "duplicate":
                err_console.print(describe_duplicate(wf.name, name, result), highlight=False, soft_wrap=True)
            elif result["status"] == "batched":  # its run starts when the batch closes (orch dev keeps it open)
                err_console.print(
                    f"+ {wf.name} ({name}): file added to batch {result.get('batch')}; a batch lives while "
                    "its local cloud does: use `orch dev` to batch files locally",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                record = cloud.wait(result["run_id"])
                entry["run"] = record.as_dict()
                worst = max(worst, run_exit(record.status))
                if not as_json:
                    mark = "[green]✓[/]" if is_ok_run(record.status) else "[red]✗[/]"
                    if record.status == RunStatus.SKIPPED:  # at the workflow's limit: not a failure
                        mark = f"[yellow]-[/] {record.error} (not a failure of this delivery):"
                    elif result["status"] == "queued":
                        mark += " (waited in the queue for a free slot)"
                    err_console.print(
                        f"{mark} {wf.name} ({name}): run {record.run_id} {record.status} "
                        f"params={json.dumps(record.params)}",
                        highlight=False,
                        soft_wrap=True,
                    )
            report["runs"].append(entry)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    sys.exit(worst)


def describe_duplicate(workflow: str, trigger: str, result: dict[str, Any]) -> str:
    """What `orch trigger` says of a delivery the trigger found already started."""
    return (
        f"= {workflow} ({trigger}): duplicate delivery: run {result.get('run_id')} was already started "
        "for this event; nothing new started"
    )


@click.command()
@FILE
@WORKFLOW
@click.option("-n", "count", type=click.IntRange(1, 1000), default=5, show_default=True, help="How many fire times.")
@click.option("--after", default=None, metavar="ISO8601", help="Preview from this moment (default: now).")
@guarded
def schedule(file: str, workflow: str | None, count: int, after: str | None) -> None:
    """Preview the next fire times of the workflows' schedules, in each schedule's time zone."""
    start = None
    if after:
        start = parse_iso_option("--after", after)
        if start.tzinfo is None:
            raise OrchestrationError(f"--after {after!r} has no time zone: add Z or an offset, e.g. {after}Z")
    shown = 0
    for wf in workflows_in(file, workflow):
        for name, trig in triggers_of(wf).items():
            if not isinstance(trig, Schedule):
                continue
            shown += 1
            try:
                times = next_fire_times(trig, count, after=start)
            except TriggerError as exc:
                raise OrchestrationError(f"{wf.name} schedule {name!r}: {exc}") from None
            except OverflowError:
                raise OrchestrationError(
                    f"{wf.name} schedule {name!r} has no {count} fire times after --after {after!r} "
                    "before the year 9999 ends: preview from an earlier date"
                ) from None
            click.echo(f"{wf.name} / {name}: {describe(trig)}" + ("" if trig.enabled else " (disabled)"))
            for moment in times:
                click.echo(f"  {moment.isoformat()}  ({moment.strftime('%a')})")
    if not shown:
        raise OrchestrationError(
            f"{file!r} declares no schedule: add schedule=Schedule(cron=... or rate=...) to the Workflow"
        )
