"""The local store: runs started on this machine, kept in `.orch/` (or `$ORCH_HOME`), no server.

Each run is a folder, written atomically (a file is replaced whole, never half-written):

    .orch/runs/<workflow>/<run_id>/
        ledger.jsonl    every ledger item of the run, as DynamoDB JSON, one per line, the run item first
        artifacts/...   the run's objects of the artifact bucket (key runs/<workflow>/<run_id>/...)
        logs.jsonl      the lines its tasks wrote (orch logs)
        lineage.jsonl   its OpenLineage run events, one per line (orchestration.lineage)
        graph.json      its task graph (task -> upstream tasks)
        source.json     the file defining its workflow (where `orch repair` reloads the task code from)
        owner.json      the process running it (while it runs)
        cancel          present when `orch runs cancel` asked that process to stop it

A command that runs workflows (`orch run`, `orch repair`, `orch backfill`, `orch trigger`) works on
the embedded local cloud and saves what changed into the store; `load` puts a stored run back into
a local cloud (to repair it). Reading commands read the files directly.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import inspect
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchestration.errors import OperationError, OrchestrationError, RunNotFound
from orchestration.operations.source import LogLine, RunFilter, newest_first
from orchestration.status import TERMINAL_RUN, RunStatus
from orchestration.times import now_iso

if TYPE_CHECKING:
    from orchestration.ledger import RunLedger, RunRecord
    from orchestration.model import Workflow

HOME_ENV = "ORCH_HOME"
DEFAULT_HOME = ".orch"
LEDGER, LOGS, GRAPH, CANCEL, OWNER = "ledger.jsonl", "logs.jsonl", "graph.json", "cancel", "owner.json"
LINEAGE = "lineage.jsonl"
SOURCE = "source.json"
ARTIFACTS = "artifacts"
ARTIFACT_ROOT = "runs/"  # the bucket prefix every run's artifacts sit under (orchestration.artifacts)


class EmbeddedCloud(Protocol):
    """What the store needs of a local cloud (orchestration.local.LocalCloud)."""

    table_name: str
    bucket_name: str
    dynamodb: Any
    s3: Any
    ledger: RunLedger

    @property
    def logs(self) -> Any: ...  # orchestration.local.capture.TaskLogs

    @property
    def deployments(self) -> Mapping[str, Any]: ...  # workflow name -> Deployment (its `.workflow`)


def home() -> Path:
    """The store's folder: $ORCH_HOME, else .orch in the current directory."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).absolute()


class LocalStore:
    """Runs kept in a folder (see the module docstring); a `RunSource`."""

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        cloud: Callable[[], AbstractContextManager[EmbeddedCloud]] | None = None,
    ) -> None:
        self.root = Path(root).absolute() if root is not None else home()
        self._cloud = cloud  # opens a local cloud, for the operations that need one (closing a run)
        self.where = f"the local store {self._shown_root()}"
        if self.root.exists() and not self.root.is_dir():
            raise OrchestrationError(
                f"the local store {str(self.root)!r} is a file, not a folder: move it away or set {HOME_ENV}"
            )

    def _shown_root(self) -> str:
        try:
            return str(self.root.relative_to(Path.cwd()))
        except ValueError:
            return str(self.root)

    def run_dir(self, workflow: str, run_id: str) -> Path:
        return self.root / "runs" / workflow / run_id

    def lineage_file(self, workflow: str, run_id: str) -> Path:
        """Where the run's OpenLineage events go (the recorder's file transport)."""
        return self.run_dir(workflow, run_id) / LINEAGE

    # -- writing ----------------------------------------------------------------------------

    def save(self, cloud: EmbeddedCloud, run: tuple[str, str] | None = None) -> list[tuple[str, str]]:
        """Write every run the cloud's ledger holds, or only `run` (workflow, run_id): items,
        artifacts, new log lines, graph; returns the (workflow, run_id) of the runs written."""
        from orchestration.ledger.keys import PK
        from orchestration.ledger.records import run_from_item

        by_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for item in _scan(cloud) if run is None else _run_items(cloud, *run):
            key = _run_of(item[PK]["S"])
            if key is not None:
                by_run.setdefault(key, []).append(item)
        objects = _objects_by_run(cloud, f"{ARTIFACT_ROOT}{run[0]}/{run[1]}/" if run else ARTIFACT_ROOT)
        saved = []
        for (workflow, run_id), items in sorted(by_run.items()):
            run_items = [i for i in items if i.get("sk", {}).get("S") == "RUN" and "workflow" in i]
            if not run_items:
                continue  # attempts of a run whose item is not written yet: the next save has it
            with self._locked(workflow, run_id) as folder:
                rest = sorted((i for i in items if i is not run_items[0]), key=lambda i: (i[PK]["S"], i["sk"]["S"]))
                _write(folder / LEDGER, "".join(json.dumps(i, sort_keys=True) + "\n" for i in [run_items[0], *rest]))
                for rel, bucket_key in objects.pop((workflow, run_id), {}).items():
                    path = folder / ARTIFACTS / rel
                    if not path.exists():  # an artifact key is written once (one per attempt)
                        body = cloud.s3.get_object(Bucket=cloud.bucket_name, Key=bucket_key)["Body"].read()
                        _write_bytes(path, body)
                lines = cloud.logs.take(workflow, run_id)
                if lines:
                    with (folder / LOGS).open("a", encoding="utf-8") as out:
                        out.writelines(json.dumps(line.__dict__) + "\n" for line in lines)
                running = run_from_item(run_items[0]).status not in TERMINAL_RUN
                if running:
                    _write(folder / OWNER, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
                else:
                    (folder / OWNER).unlink(missing_ok=True)
                    (folder / CANCEL).unlink(missing_ok=True)
                dep = cloud.deployments.get(workflow)
                source = _source_file(dep.workflow) if dep else None
                if source is not None and not (folder / SOURCE).exists():
                    _write(folder / SOURCE, json.dumps({"file": source, "workflow": workflow}))
                if dep is not None and not (folder / GRAPH).exists():
                    graph = {name: [d.upstream for d in deps] for name, deps in dep.workflow.dependencies().items()}
                    _write(folder / GRAPH, json.dumps(graph, sort_keys=True))
            saved.append((workflow, run_id))
        return saved

    @contextlib.contextmanager
    def _locked(self, workflow: str, run_id: str) -> Iterator[Path]:
        """The run's folder, under an exclusive lock (two commands never write one run at once)."""
        folder = self.run_dir(workflow, run_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OrchestrationError(
                f"cannot write the local store at {str(self.root)!r} ({exc.strerror}): "
                f"make it writable or set {HOME_ENV} to a writable folder"
            ) from None
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self, cloud: EmbeddedCloud, workflow: str, run_id: str) -> None:
        """Put a stored run (its ledger items and artifacts) into the cloud, to work on it there."""
        folder = self.run_dir(workflow, run_id)
        items = self._items(folder)
        if not items:
            raise RunNotFound(f"run {run_id!r} of workflow {workflow!r} is not in {self.where}")
        for i in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]
            pending: dict[str, Any] = {cloud.table_name: batch}
            while pending:
                pending = cloud.dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        prefix = f"{ARTIFACT_ROOT}{workflow}/{run_id}/"
        for path in sorted((folder / ARTIFACTS).rglob("*")):
            if path.is_file():
                key = prefix + path.relative_to(folder / ARTIFACTS).as_posix()
                cloud.s3.put_object(Bucket=cloud.bucket_name, Key=key, Body=path.read_bytes())

    def source(self, run: RunRecord) -> str | None:
        """The workflow file a stored run was started from, if known."""
        try:
            data = json.loads((self.run_dir(run.workflow, run.run_id) / SOURCE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return str(data["file"]) if isinstance(data, dict) and data.get("file") else None

    def has(self, workflow: str, run_id: str) -> bool:
        """Whether the store holds this run."""
        return (self.run_dir(workflow, run_id) / LEDGER).is_file()

    def cancel_requested(self, workflow: str, run_id: str) -> bool:
        return (self.run_dir(workflow, run_id) / CANCEL).exists()

    def cancelled_by(self, workflow: str, run_id: str) -> str | None:
        """Who asked to cancel the run (user@host), if anyone did."""
        try:
            return (self.run_dir(workflow, run_id) / CANCEL).read_text(encoding="utf-8").strip() or "unknown"
        except FileNotFoundError:
            return None

    # -- reading (RunSource) ----------------------------------------------------------------

    def _items(self, folder: Path) -> list[dict[str, Any]]:
        try:
            text = (folder / LEDGER).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _run_folders(self) -> Iterator[Path]:
        runs = self.root / "runs"
        if runs.is_dir():
            for folder in runs.glob("*/*"):
                if (folder / LEDGER).is_file():
                    yield folder

    def _run_item(self, folder: Path) -> RunRecord | None:
        from orchestration.ledger.records import run_from_item

        with (folder / LEDGER).open(encoding="utf-8") as ledger:
            first = ledger.readline()
        return run_from_item(json.loads(first)) if first.strip() else None

    def list_runs(self, which: RunFilter) -> list[RunRecord]:
        runs = (self._run_item(folder) for folder in self._run_folders())
        return newest_first((run for run in runs if run is not None), which)

    def _locate(self, run_id: str, workflow: str | None) -> Path:
        if workflow is not None:
            folder = self.run_dir(workflow, run_id)
            if (folder / LEDGER).is_file():
                return folder
            raise RunNotFound(f"no run {run_id!r} of workflow {workflow!r} in {self.where}: see `orch runs list`")
        found = sorted(f for f in (self.root / "runs").glob(f"*/{_glob_safe(run_id)}") if (f / LEDGER).is_file())
        if not found:
            raise RunNotFound(
                f"no run {run_id!r} in {self.where}: see `orch runs list` (or pass --stack NAME for a deployed stack)"
            )
        if len(found) > 1:
            names = ", ".join(f.parent.name for f in found)
            raise RunNotFound(f"run id {run_id!r} is used by workflows {names}: pass --workflow NAME")
        return found[0]

    def get_run(self, run_id: str, workflow: str | None = None) -> RunRecord:
        from orchestration.ledger.records import assemble_run

        folder = self._locate(run_id, workflow)
        run = assemble_run(self._items(folder))
        if run is None:
            raise RunNotFound(f"run {run_id!r} in {self.where} has no run record: {str(folder)!r} is damaged")
        return run

    def notices(self, run: RunRecord) -> list[dict[str, Any]]:
        from orchestration.ledger.notices import notices_of

        return notices_of(self._items(self.run_dir(run.workflow, run.run_id)))

    def graph(self, run: RunRecord) -> Mapping[str, Sequence[str]] | None:
        try:
            graph = json.loads((self.run_dir(run.workflow, run.run_id) / GRAPH).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return graph if isinstance(graph, dict) else None

    def cancel(self, run_id: str, workflow: str | None = None, *, wait_seconds: float = 30.0) -> RunRecord:
        """Ask the process running the run to stop it (it polls for the request) and wait until it
        recorded the stop; a run whose process is gone (killed) is closed ABORTED here."""
        run = self.get_run(run_id, workflow)
        if run.status in TERMINAL_RUN:
            raise OperationError(f"run {run_id!r} has already ended ({run.status}): nothing to cancel")
        folder = self.run_dir(run.workflow, run.run_id)
        if not _alive(folder / OWNER):
            return self.close_abandoned(run, "Aborted: cancelled; the local process that ran it had ended")
        _write(folder / CANCEL, caller())
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            current = self.get_run(run.run_id, run.workflow)
            if current.status in TERMINAL_RUN:
                return current
            time.sleep(0.1)
        raise OperationError(
            f"asked the process running {run_id!r} to stop it, but it has not recorded the stop within "
            f"{wait_seconds:g} s: check that process"
        )

    def close_abandoned(self, run: RunRecord, reason: str) -> RunRecord:
        """Record a run whose process is gone as ABORTED (the ledger's own close, on a local cloud)."""
        if self._cloud is None:
            raise OperationError(f"run {run.run_id!r} was left {run.status} by a process that has ended")
        with self._cloud() as cloud:
            self.load(cloud, run.workflow, run.run_id)
            cloud.ledger.close_run(run.workflow, run.run_id, RunStatus.ABORTED, at=now_iso(), error=reason)
            self.save(cloud)
        return self.get_run(run.run_id, run.workflow)

    def logs(self, run_id: str, task: str | None = None, workflow: str | None = None) -> Iterator[LogLine]:
        folder = self._locate(run_id, workflow)
        try:
            text = (folder / LOGS).read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        for raw in text.splitlines():
            try:
                line = LogLine(**json.loads(raw))
            except (ValueError, TypeError):
                continue  # a line cut by a crash: skip it
            if task is None or line.task == task:
                yield line


def _alive(owner: Path) -> bool:
    """Whether the process named in an owner file still runs (on this host)."""
    try:
        data = json.loads(owner.read_text(encoding="utf-8"))
        pid, host = int(data["pid"]), str(data["host"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return False
    return process_alive(pid, host)


def process_alive(pid: int, host: str) -> bool:
    """Whether a process still runs (one of another host is assumed to)."""
    if host != socket.gethostname():
        return True  # another machine's process: assume it runs (it will see the request)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def caller() -> str:
    """Who runs this command, as a run records what started or cancelled it: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _glob_safe(run_id: str) -> str:
    """Run ids are [A-Za-z0-9_-]; anything else (a glob character) cannot name a stored run."""
    return run_id if run_id.replace("-", "").replace("_", "").isalnum() else "\0"


def _run_of(pk: str) -> tuple[str, str] | None:
    """(workflow, run_id) of a partition key of the per-workflow layout; None for any other."""
    from orchestration.ledger.keys import WORKFLOW_PK

    if not pk.startswith(WORKFLOW_PK.text):
        return None
    workflow, _, rest = pk[len(WORKFLOW_PK.text) :].partition("#")
    kind, _, run_id = rest.partition("#")
    return (workflow, run_id) if kind in ("RUN", "ATTEMPT") and run_id else None


def _scan(cloud: EmbeddedCloud) -> Iterator[dict[str, Any]]:
    from orchestration.ledger.codec import pages

    for page in pages(cloud.dynamodb.scan, TableName=cloud.table_name):
        yield from page["Items"]


def _run_items(cloud: EmbeddedCloud, workflow: str, run_id: str) -> Iterator[dict[str, Any]]:
    from orchestration.ledger.codec import pages
    from orchestration.ledger.keys import attempt_pk, run_pk

    for pk in (run_pk(workflow, run_id), attempt_pk(workflow, run_id)):
        request = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}}
        for page in pages(cloud.dynamodb.query, TableName=cloud.table_name, **request):
            yield from page["Items"]


def _objects_by_run(cloud: EmbeddedCloud, prefix: str) -> dict[tuple[str, str], dict[str, str]]:
    """(workflow, run_id) -> {key under the run's prefix: bucket key} of the cloud's artifacts."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for page in cloud.s3.get_paginator("list_objects_v2").paginate(Bucket=cloud.bucket_name, Prefix=prefix):
        for obj in page.get("Contents", []):
            parts = obj["Key"][len(ARTIFACT_ROOT) :].split("/", 2)
            if len(parts) == 3 and all(parts) and ".." not in parts[2].split("/"):
                out.setdefault((parts[0], parts[1]), {})[parts[2]] = obj["Key"]
    return out


def _write(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: Path, body: bytes) -> None:
    """Replace the file whole (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _source_file(workflow: Workflow) -> str | None:
    """The file that defines a workflow's tasks (where `orch repair` reloads them from)."""
    for task in workflow.tasks.values():
        with contextlib.suppress(TypeError, OSError):
            found = inspect.getsourcefile(task.fn)
            if found:
                return str(Path(found).absolute())
    return None
