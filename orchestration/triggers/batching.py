"""File batches (pure): `Batch`, how a file-arrival trigger groups files into one run, and its checks.

A batch opens with its first file and closes when no new file arrived for `quiet_seconds`, when it
holds `max_files`, or `max_wait_seconds` after its first file (a trickle cannot keep it open); then
one run starts with the batch's object keys, sorted, in the parameter `files_param`. The run's
parameters travel in every task's event, so the key list has a byte budget (`BATCH_KEYS_BYTES` of
the run's `MAX_PARAMS_BYTES`): a batch whose next key would not fit closes as full too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from orchestration.errors import ParameterError
from orchestration.protocol import MAX_PARAMS_BYTES

if TYPE_CHECKING:  # pragma: no cover
    from orchestration.model import Workflow

ITEM_PATH = "$.detail.object.key"  # what a batch collects: the S3 object key of each event
MAX_BATCH_FILES = 1_000
BATCH_KEYS_BYTES = 6_144  # the key list as JSON; the rest of MAX_PARAMS_BYTES is for other parameters
MAX_QUIET_SECONDS = 86_400
MAX_WAIT_SECONDS = 7 * 86_400
SAMPLE_KEYS = ["incoming/a.csv", "incoming/b.csv"]


@dataclass(frozen=True)
class Batch:
    """Group the files of a file-arrival trigger into one run.

    >>> on_s3_object_created("landing", prefix="in/", batch=Batch(quiet_seconds=300, max_files=100))
    """

    quiet_seconds: int = 60  # close once no new file arrived for this long (1 s to 1 day)
    max_files: int = 100  # close at once when the batch holds this many files (1 to 1000)
    max_wait_seconds: int = 3_600  # close this long after the first file at the latest (quiet to 7 days)
    files_param: str = "keys"  # the run's parameter receiving the object keys (a list[str] parameter)


def key_bytes(key: str) -> int:
    """What one key adds to the key list as JSON (with its ", " separator)."""
    return len(json.dumps(key, ensure_ascii=False).encode()) + 2


def _seconds(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def batch_problems(
    wf: Workflow, batch: Any, label: str, paths: Mapping[str, Any], constants: Mapping[str, Any]
) -> list[str]:
    """Every problem with a trigger's `batch=` (its ranges, its parameter, the parameters' size)."""
    if not isinstance(batch, Batch):
        return [f"{label}: batch={batch!r} must be Batch(quiet_seconds=..., max_files=..., max_wait_seconds=...)"]
    out: list[str] = []
    if not _seconds(batch.quiet_seconds, 1, MAX_QUIET_SECONDS):
        out.append(f"{label}: quiet_seconds={batch.quiet_seconds!r} must be an integer from 1 to {MAX_QUIET_SECONDS}")
    if not _seconds(batch.max_files, 1, MAX_BATCH_FILES):
        out.append(
            f"{label}: max_files={batch.max_files!r} must be an integer from 1 to {MAX_BATCH_FILES} (a run's "
            f"parameters are at most {MAX_PARAMS_BYTES} bytes: the keys of a bigger batch do not fit)"
        )
    low = batch.quiet_seconds if _seconds(batch.quiet_seconds, 1, MAX_QUIET_SECONDS) else 1
    if not _seconds(batch.max_wait_seconds, low, MAX_WAIT_SECONDS):
        out.append(
            f"{label}: max_wait_seconds={batch.max_wait_seconds!r} must be an integer from quiet_seconds "
            f"({low}) to {MAX_WAIT_SECONDS}"
        )
    if paths:
        out.append(
            f"{label}: a batched trigger's run gets its files' keys in {batch.files_param!r}, not fields of one "
            f"event: remove params={dict(paths)!r} (give fixed values with constants=)"
        )
    out.extend(_param_problems(wf, batch, label, constants))
    return out


def _param_problems(wf: Workflow, batch: Batch, label: str, constants: Mapping[str, Any]) -> list[str]:
    fields = wf.params_model.model_fields
    name = batch.files_param
    if name not in fields:
        known = ", ".join(fields) or "none"
        return [
            f"{label}: files_param={name!r} is not a parameter of {wf.name!r} (known parameters: {known}): "
            f"declare it, e.g. params={{{name!r}: list[str]}}"
        ]
    if name in constants:
        return [f"{label}: parameter {name!r} receives the batch's keys: remove it from constants="]
    adapter: TypeAdapter[Any] = TypeAdapter(fields[name].annotation or Any)
    try:
        accepted = adapter.validate_python(SAMPLE_KEYS) == SAMPLE_KEYS
    except PydanticValidationError:
        accepted = False
    if not accepted:
        return [
            f"{label}: parameter {name!r} receives the batch's object keys, a list of strings, but is declared "
            f"{fields[name].annotation!r}: declare it {name}=list[str]"
        ]
    try:
        values = wf.parse_params({**constants, name: []})
    except ParameterError:  # the constants' own problems are reported by the trigger checks
        return []
    size = len(json.dumps(values, ensure_ascii=False).encode())
    if size + BATCH_KEYS_BYTES > MAX_PARAMS_BYTES:
        return [
            f"{label}: the run's other parameters take {size} bytes as JSON, leaving less than the "
            f"{BATCH_KEYS_BYTES} bytes a batch's keys may take (limit {MAX_PARAMS_BYTES}): pass large values "
            "as an S3 URI"
        ]
    return []
