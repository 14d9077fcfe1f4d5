"""Lineage: the datasets tasks read and write, and the OpenLineage events each run emits.

A dataset is named by an S3 URI (`s3://bucket/key/path`) or a table name (`namespace.name`, e.g.
`warehouse.orders`). Tasks declare them (`@workflow.task(reads=[...], writes=[...])`) and report
more at run time (`ctx.lineage.read(...)`, `ctx.lineage.wrote(...)`); the task runtime records both
on the attempt in the run ledger, and the recorder function turns them into OpenLineage events when
the run ends (`orchestration.runtime.lineage`). This module is pure: it never imports openlineage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypedDict, TypeVar

from orchestration.errors import OrchestrationError, WorkflowDefinitionError
from orchestration.permissions import BUCKET_RE

S3_SCHEME = "s3://"
# namespace.name: two or more dot-separated identifiers (letters, digits, _ $ -; not starting with a digit)
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*(\.[A-Za-z_][A-Za-z0-9_$-]*)+$")
ACCEPTED = (
    "an S3 URI s3://bucket/key (e.g. 's3://my-bucket/raw/orders/') "
    "or a table name namespace.name (e.g. 'warehouse.orders')"
)
INPUTS, OUTPUTS = "inputs", "outputs"  # keys of an attempt's recorded datasets


class DatasetError(OrchestrationError):
    """A dataset name that is neither an S3 URI nor a table name."""


def dataset(value: object, where: str) -> str:
    """`value` checked as a dataset name (returned as is); `where` says who named it, for the error."""
    if not isinstance(value, str):
        raise DatasetError(f"{where}: a dataset is a string, {ACCEPTED}; got {type(value).__name__} {value!r}")
    if value.startswith(S3_SCHEME):
        bucket, _, key = value[len(S3_SCHEME) :].partition("/")
        if not BUCKET_RE.match(bucket) or ".." in bucket:
            raise DatasetError(f"{where}: {value!r} does not name a valid S3 bucket ({bucket!r}); use {ACCEPTED}")
        if not key.strip("/") or any(c.isspace() for c in key) or "*" in key:
            raise DatasetError(
                f"{where}: {value!r} has no object key or prefix (or one with spaces or wildcards); use {ACCEPTED}"
            )
        return value
    if "://" in value or not TABLE_RE.match(value):
        raise DatasetError(f"{where}: {value!r} is not a dataset name; use {ACCEPTED}")
    return value


def datasets(values: Iterable[str] | str | None, where: str) -> tuple[str, ...]:
    """A task's declared datasets (`reads=` / `writes=`), checked, duplicates dropped, order kept."""
    if values is None:
        return ()
    if isinstance(values, str):
        raise DatasetError(
            f"{where}: takes a list of datasets, got the string {values!r}: write [{values!r}] (each one {ACCEPTED})"
        )
    return tuple(dict.fromkeys(dataset(v, where) for v in values))


class _Declared(Protocol):  # orchestration.model.Task (which imports this module)
    reads: tuple[str, ...]
    writes: tuple[str, ...]


_Task = TypeVar("_Task", bound=_Declared)


class DatasetOptions(TypedDict, total=False):
    """The lineage options of `@workflow.task` and `@workflow.condition`."""

    reads: Iterable[str]  # datasets the task reads
    writes: Iterable[str]  # datasets the task writes


def with_datasets(add: Callable[..., _Task], fn: Any, options: Mapping[str, Any], **fixed: Any) -> _Task:
    """`add(fn, **fixed, **options)` (Workflow._add) without the options reads= and writes=, which are
    checked first and set on the task it returns."""
    where = f"task {options.get('name') or getattr(fn, '__name__', fn)!r}"
    try:
        reads = datasets(options.get("reads"), f"{where}: reads=")
        writes = datasets(options.get("writes"), f"{where}: writes=")
    except DatasetError as exc:
        raise WorkflowDefinitionError(str(exc)) from None
    task = add(fn, **fixed, **{k: v for k, v in options.items() if k not in DatasetOptions.__annotations__})
    task.reads, task.writes = reads, writes
    return task


def openlineage_name(name: str) -> tuple[str, str]:
    """(namespace, name) of a dataset by the OpenLineage naming conventions: an S3 object or prefix is
    namespace `s3://bucket`, name the key path; a table `ns.rest` is namespace `ns`, name `rest`."""
    if name.startswith(S3_SCHEME):
        bucket, _, key = name[len(S3_SCHEME) :].partition("/")
        return f"{S3_SCHEME}{bucket}", key
    namespace, _, rest = name.partition(".")
    return namespace, rest


@dataclass
class LineageReport:
    """`ctx.lineage`: the datasets a task attempt read and wrote, its declarations first."""

    task: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def read(self, uri: str) -> None:
        """Record that the task read dataset `uri` (an S3 URI or a table name namespace.name)."""
        self._add(self.inputs, dataset(uri, f"task {self.task!r}: ctx.lineage.read"))

    def wrote(self, uri: str) -> None:
        """Record that the task wrote dataset `uri` (an S3 URI or a table name namespace.name)."""
        self._add(self.outputs, dataset(uri, f"task {self.task!r}: ctx.lineage.wrote"))

    @staticmethod
    def _add(into: list[str], name: str) -> None:
        if name not in into:
            into.append(name)

    def recorded(self) -> dict[str, list[str]] | None:
        """What the attempt's ledger item keeps ({"inputs": [...], "outputs": [...]}), None when empty."""
        if not self.inputs and not self.outputs:
            return None
        return {INPUTS: list(self.inputs), OUTPUTS: list(self.outputs)}


DEFAULT_NAMESPACE = "orchestration"  # the OpenLineage namespace of the jobs, unless configured


@dataclass(frozen=True)
class LineageTarget:
    """Where the recorder function sends a run's OpenLineage events: a file (the run's lineage.jsonl
    in a local store: `file(workflow, run_id)` gives its path) or an HTTP endpoint (deployed: its
    URL, with the API key read from Secrets Manager by name when `api_key_secret` is set)."""

    namespace: str = DEFAULT_NAMESPACE
    url: str | None = None
    endpoint: str = "api/v1/lineage"
    api_key_secret: str | None = None
    file: Callable[[str, str], Path] | None = None
