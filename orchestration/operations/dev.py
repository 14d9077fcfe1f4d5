"""`orch dev`: a project's schedules and file arrivals, live, on one local cloud.

Each schedule fires at its fire times (as a backfill plans them: `triggers.backfill.next_firing`)
through `local.triggering.fire`, the trigger function's own code, so run ids, logical dates, limits
(`max_concurrent_runs`) and duplicates are the deployed scheduler's. A watched folder stands for S3:
a new or changed file `DIR/<bucket>/<key>` is put into the local cloud's bucket and becomes the
"Object Created" event S3 sends EventBridge, delivered to every matching rule (`matching_triggers`,
`deliver`). Each run is followed to its end on a thread of its own, so runs overlap as on AWS.

The loop reads time from an injected `Clock` (its `now` and `sleep`), so a test can step through
hours of fire times in milliseconds.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchestration.errors import OrchestrationError
from orchestration.local.aws import ACCOUNT
from orchestration.local.triggering import continuous_trigger, deliver, fire, matching_triggers, start_chain
from orchestration.model import Workflow
from orchestration.status import is_ok_run
from orchestration.triggers import EventTrigger, Schedule, triggers_of
from orchestration.triggers.backfill import next_firing

if TYPE_CHECKING:
    from orchestration.ledger import RunRecord
    from orchestration.local import LocalCloud

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
STARTS = ("started", "resumed", "queued")  # trigger results whose run this session follows to its end
TICK = timedelta(microseconds=1)


class Clock(Protocol):
    def now(self) -> datetime: ...  # aware

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real time; sleeps at most a second at once, so a suspended laptop catches up on waking."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, 1.0))


# -- what the session reports ------------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    """A schedule fired; `result` is the trigger function's (`TriggerResult`)."""

    workflow: str
    trigger: str
    scheduled_time: datetime
    result: dict[str, Any]
    missed: int = 0  # earlier firings that came due while the machine slept, not fired


@dataclass(frozen=True)
class Arrived:
    """A file arrived: its event was delivered to each matching trigger (workflow, trigger, result)."""

    bucket: str
    key: str
    size: int
    deliveries: list[tuple[str, str, dict[str, Any]]]


@dataclass(frozen=True)
class Ended:
    record: RunRecord
    interrupted: bool  # stopped because the session stopped


@dataclass(frozen=True)
class Problem:
    message: str


Note = Fired | Arrived | Ended | Problem


@dataclass
class DevSummary:
    ended: list[RunRecord] = field(default_factory=list)
    interrupted: set[str] = field(default_factory=set)  # run ids stopped by Ctrl-C

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.ended if r.run_id not in self.interrupted and not is_ok_run(r.status)]


# -- the watched folder ------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFile:
    bucket: str
    key: str
    path: Path
    size: int


class FolderWatch:
    """Files under `root/<bucket>/`, polled with os.scandir. `poll()` returns those new or changed
    since the last poll once their size and modification time held still for one poll (a file being
    written is not reported half-way). Files last changed before `since_ns` (epoch ns, default now)
    were there already: `existing()`."""

    def __init__(self, root: Path, since_ns: int | None = None) -> None:
        self.root = root
        self._since_ns = time.time_ns() if since_ns is None else since_ns  # the file system's real time
        self._seen: dict[Path, tuple[int, int]] = {}
        self._pending: dict[Path, tuple[int, int]] = {}
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self._existing: list[LocalFile] = []
        for path, sig in self._scan().items():
            if sig[0] < self._since_ns:
                self._seen[path] = sig
                self._existing.append(self._file(path, sig))
            else:
                self._pending[path] = sig

    def existing(self) -> list[LocalFile]:
        return list(self._existing)

    def poll(self) -> list[LocalFile]:
        current = self._scan()
        ready = []
        for path, sig in current.items():
            if self._seen.get(path) == sig:
                continue
            if self._pending.get(path) == sig:
                del self._pending[path]
                self._seen[path] = sig
                ready.append(self._file(path, sig))
            else:
                self._pending[path] = sig
        for gone in set(self._seen) - set(current):
            del self._seen[gone]
        return sorted(ready, key=lambda f: (f.bucket, f.key))

    def _file(self, path: Path, sig: tuple[int, int]) -> LocalFile:
        bucket, _, key = path.relative_to(self.root).as_posix().partition("/")
        return LocalFile(bucket, key, path, sig[1])

    def _scan(self) -> dict[Path, tuple[int, int]]:
        """(mtime ns, size) of every file under a bucket folder; names starting with '.' are skipped."""
        found: dict[Path, tuple[int, int]] = {}
        try:
            entries = _entries(self.root)
        except OSError as exc:
            self._warn(f"--files {str(self.root)!r} cannot be read ({exc.strerror})")
            return found
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                self._warn(f"{entry.name!r} is not in a bucket folder: put files in {self.root}/<bucket>/<key>")
            elif not BUCKET_RE.match(entry.name):
                self._warn(
                    f"folder {entry.name!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots, "
                    "hyphens): its files are not watched"
                )
            else:
                self._walk(Path(entry.path), found)
        return found

    def _walk(self, folder: Path, found: dict[Path, tuple[int, int]]) -> None:
        try:
            entries = _entries(folder)
        except OSError:
            return  # removed while scanned
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    self._walk(Path(entry.path), found)
                elif entry.is_file():
                    st = entry.stat()
                    found[Path(entry.path)] = (st.st_mtime_ns, st.st_size)
            except OSError:
                continue

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warnings.append(message)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return list(it)


def object_created(bucket: str, key: str, size: int, etag: str, at: datetime, region: str) -> dict[str, Any]:
    """The event S3 sends EventBridge when an object is put (`detail-type` "Object Created")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": f"{time.time_ns():018X}"},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }


# -- the session -------------------------------------------------------------------------------


def dev_triggers(wf: Workflow) -> tuple[dict[str, Schedule], dict[str, EventTrigger]]:
    """The workflow's schedules and its file (S3 "Object Created") triggers, by name."""
    schedules, files = {}, {}
    for name, trig in triggers_of(wf).items():
        if isinstance(trig, Schedule):
            schedules[name] = trig
        elif isinstance(trig, EventTrigger) and trig.event_bus == "default" and is_file_trigger(trig):
            files[name] = trig
    return schedules, files


def is_file_trigger(trig: EventTrigger) -> bool:
    source = trig.pattern.get("source")
    return isinstance(source, list) and "aws.s3" in source


class DevSession:
    """Fires `workflows`' schedules and delivers file arrivals under `files` on `cloud` until stopped."""

    def __init__(
        self,
        cloud: LocalCloud,
        workflows: Sequence[Workflow],
        *,
        on_note: Callable[[Note], None],
        files: Path | None = None,
        files_since_ns: int | None = None,
        clock: Clock | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        self.cloud = cloud
        self.workflows = list(workflows)
        self.on_note = on_note
        self.clock = clock or SystemClock()
        self.poll_seconds = poll_seconds
        self.started_at = self.clock.now()
        self.schedules = [
            (wf, name, trig) for wf in self.workflows for name, trig in dev_triggers(wf)[0].items() if trig.enabled
        ]
        self.next_fire: dict[tuple[str, str], datetime | None] = {
            (wf.name, name): next_firing(trig, self.started_at) for wf, name, trig in self.schedules
        }
        self.watch = FolderWatch(files, files_since_ns) if files is not None else None
        self.summary = DevSummary()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._buckets: set[str] = set()
        self.chains = [wf for wf in self.workflows if continuous_trigger(wf) is not None]
        for wf in self.workflows:  # all of them: a workflow started by another's run end (on_workflow) too
            cloud.deploy(wf)  # a workflow that cannot deploy fails now, not at its first firing
        for existing in self.watch.existing() if self.watch else ():
            self._put(existing)

    def run(self, duration: timedelta | None = None) -> DevSummary:
        """Until `duration` has passed (then wait for the runs going to end) or Ctrl-C (then stop them)."""
        began = self.clock.now()
        deadline = None if duration is None else began + duration
        next_poll = began
        for wf in self.chains:  # a continuous workflow's chain then goes on by itself in the cloud
            self.on_note(Fired(wf.name, "continuous", began, _safely(start_chain, self.cloud, wf), 0))
        try:
            while True:
                now = self.clock.now()
                if deadline is not None and now >= deadline:
                    break
                self._fire_due(now)
                if self.watch is not None and now >= next_poll:
                    self._poll()
                    next_poll = now + timedelta(seconds=self.poll_seconds)
                wake = [t for t in self.next_fire.values() if t is not None]
                wake += [next_poll] if self.watch is not None else []
                wake += [deadline] if deadline is not None else []
                if not wake:
                    self.clock.sleep(1.0)  # nothing will ever fire: wait for Ctrl-C
                    continue
                self.clock.sleep(max(0.0, (min(wake) - self.clock.now()).total_seconds()))
            for thread in self._threads:  # the runs going end on their own
                thread.join()
        except KeyboardInterrupt:
            self._stop_all()
            raise
        return self.summary

    # -- schedules ------------------------------------------------------------------------------

    def _fire_due(self, now: datetime) -> None:
        due = []
        for wf, name, trig in self.schedules:
            at = self.next_fire[(wf.name, name)]
            if at is None or at > now:
                continue
            missed = -1
            while at is not None and at <= now:  # fire the latest due: the others were slept through
                last, missed = at, missed + 1
                at = next_firing(trig, last + TICK)
            self.next_fire[(wf.name, name)] = at
            due.append((last, wf, name, missed))
        for scheduled, wf, name, missed in sorted(due, key=lambda d: d[0]):
            result = _safely(fire, self.cloud, wf, name, scheduled)
            self.on_note(Fired(wf.name, name, scheduled, result, missed))
            self._follow(wf, result)

    # -- files ----------------------------------------------------------------------------------

    def _poll(self) -> None:
        assert self.watch is not None
        arrived = self.watch.poll()
        for message in self.watch.warnings:
            self.on_note(Problem(message))
        self.watch.warnings.clear()
        for file in arrived:
            etag = self._put(file)
            if etag is None:
                continue
            event = object_created(file.bucket, file.key, file.size, etag, self.clock.now(), self.cloud.region)
            deliveries = []
            matched = matching_triggers(self.workflows, event)
            for wf, name in matched:
                result = _safely(deliver, self.cloud, wf, name, event)
                deliveries.append((wf.name, name, result))
            self.on_note(Arrived(file.bucket, file.key, file.size, deliveries))
            for (wf, _), (_, _, result) in zip(matched, deliveries, strict=True):
                self._follow(wf, result)

    def _put(self, file: LocalFile) -> str | None:
        """Put the file into the local cloud's S3 (the bucket created first); its ETag, or None."""
        try:
            body = file.path.read_bytes()
            if file.bucket not in self._buckets:
                self.cloud.s3.create_bucket(Bucket=file.bucket)
                self._buckets.add(file.bucket)
            return str(self.cloud.s3.put_object(Bucket=file.bucket, Key=file.key, Body=body)["ETag"]).strip('"')
        except OSError as exc:
            self.on_note(Problem(f"{file.path} cannot be read ({exc.strerror}): not delivered"))
            return None

    # -- runs -----------------------------------------------------------------------------------

    def _follow(self, wf: Workflow, result: dict[str, Any]) -> None:
        """Wait for the run on a thread of its own (a queued one until it starts, then ends)."""
        if result.get("status") not in STARTS:
            return
        run_id = str(result["run_id"])

        def wait() -> None:
            try:
                record = self.cloud.wait(run_id, workflow=wf.name)
            except OrchestrationError as exc:
                self.on_note(Problem(f"{wf.name} run {run_id}: {exc}"))
                return
            with self._lock:
                self.summary.ended.append(record)
                interrupted = run_id in self.summary.interrupted
            self.on_note(Ended(record, interrupted))

        thread = threading.Thread(target=wait, name=f"dev-{run_id}", daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _stop_all(self) -> None:
        """Stop every execution going, again as queued runs take the freed slots, until all ended."""
        while any(t.is_alive() for t in self._threads):
            for wf in self.workflows:
                arn = self.cloud.deploy(wf).state_machine_arn
                going = self.cloud.sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
                for execution in going:
                    with self._lock:
                        self.summary.interrupted.add(execution["name"])
                    self.cloud.sfn.stop_execution(
                        executionArn=execution["executionArn"], error="Interrupted", cause="orch dev was stopped"
                    )
            for thread in self._threads:
                thread.join(timeout=0.05)


def _safely(deliver_it: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """The trigger function's result; a delivery the local cloud refuses is a rejection, said."""
    try:
        return deliver_it(*args)
    except OrchestrationError as exc:
        return {"status": "rejected", "error": str(exc)}
