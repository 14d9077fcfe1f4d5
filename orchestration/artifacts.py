"""Large task outputs: stored in the artifact bucket, travelling through the state as references.

Step Functions rejects any state payload over 262,144 bytes (States.DataLimitExceeded, which Catch
cannot handle). The task runtime keeps outputs up to a per-task limit inline and writes larger ones
to S3; consuming tasks resolve references transparently.

An output travels encoded (`ArtifactStore.offload`): as the task's value, as an `ArtifactRef` to it,
or, when the value holds a reference's key or the literal wrapper's key anywhere, wrapped as a
`LiteralOutput`, so that only the runtime makes references and a task's data is never taken for
one. A for-each's list is encoded item by item (the Map state iterates it), and so is the list a
for-each collects: decoding (`unwrap`) walks lists, then unwraps literals and resolves references.
A reference is fetched only from this store's bucket and under the consuming run's own prefix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from orchestration.errors import ArtifactError
from orchestration.protocol import LIT_KEY, REF_KEY, ArtifactRef

ARTIFACT_PREFIX = "runs/"  # every task output lives under it (infra grants and expires this prefix)
_MARKERS = (REF_KEY, LIT_KEY)
_SUFFIX = ".json"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def workflow_prefix(workflow: str) -> str:
    """The key prefix of one workflow's artifacts: its task functions may touch nothing else."""
    return f"{ARTIFACT_PREFIX}{workflow}/"


def run_prefix(workflow: str, run_id: str) -> str:
    """The key prefix of every artifact of one run."""
    return f"{workflow_prefix(workflow)}{run_id}/"


def repair_plan_key(workflow: str, run_id: str, number: int) -> str:
    """Where repair `number` of a run keeps its plan (`protocol.RepairPlan`), under the run's prefix."""
    return f"{run_prefix(workflow, run_id)}repair-{number}{_SUFFIX}"


def artifact_key(workflow: str, run_id: str, task: str, attempt: int, index: int | None = None) -> str:
    """Where one attempt's output is stored (without the .json suffix)."""
    key = f"{run_prefix(workflow, run_id)}{task}/attempt-{attempt}"
    return key if index is None else f"{key}/item-{index:06d}"


def is_ref(value: Any) -> bool:
    """Is this encoded output (or item of one) a reference? Only the runtime writes one there."""
    return isinstance(value, dict) and REF_KEY in value


def _marked(value: Any) -> bool:
    """Does the value hold a reference's or a literal's key at any depth?"""
    if isinstance(value, dict):
        return any(k in _MARKERS or _marked(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_marked(v) for v in value)
    return False


def unwrap(value: Any, ref: Callable[[dict[str, Any]], Any]) -> Any:
    """An encoded output decoded: lists element by element, a literal as the value it wraps, a
    reference as `ref` makes it (fetched, or shown)."""
    if isinstance(value, list):
        return [unwrap(v, ref) for v in value]
    if isinstance(value, dict):
        if LIT_KEY in value and len(value) == 1:
            return value[LIT_KEY]
        if REF_KEY in value:
            return ref(value)
    return value


def ref_view(ref: dict[str, Any]) -> dict[str, Any]:
    """A reference as the CLI shows it: {"$ref": "s3://bucket/key", "bytes": size}."""
    return {"$ref": ref.get(REF_KEY), "bytes": ref.get("bytes")}


def shown(value: Any) -> Any:
    """An encoded output as the task returned it, with each reference as `ref_view` shows it."""
    return unwrap(value, ref_view)


class ArtifactStore:
    """S3 store for task outputs; takes an injectable boto3 S3 client."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    def put(self, key: str, text: str) -> dict[str, Any]:
        body = text.encode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        except Exception as exc:  # boto errors carry the details
            raise ArtifactError(f"could not write s3://{self.bucket}/{key}: {exc}") from exc
        return ArtifactRef(uri=f"s3://{self.bucket}/{key}", bytes=len(body)).model_dump(by_alias=True)

    def put_list(self, key: str, values: list[Any]) -> dict[str, Any]:
        """Encoded `values` stored as one JSON list at `key`: a list reference (with its length, bucket
        and key, which a Distributed Map's ItemReader reads); resolving it decodes each element."""
        ref = self.put(key, dumps(values))
        listed = {**ref, "items": len(values), "bucket": self.bucket, "object_key": key}
        return ArtifactRef.model_validate(listed).model_dump(by_alias=True)

    def get(self, key: str) -> Any:
        """The JSON document at `key`."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise ArtifactError(f"could not read artifact s3://{self.bucket}/{key}: {exc}") from exc
        return json.loads(body)

    def offload(self, value: Any, *, limit: int, key: str, item_limit: int | None = None) -> Any:
        """`value` encoded: inline if its JSON fits in `limit` bytes, else a reference to it in S3.

        With `item_limit` (the output feeds a for-each), a list stays a list so the Map state can
        iterate it, and each element is encoded on its own, with `item_limit` as its limit.
        """
        if item_limit is not None and isinstance(value, list):
            return [self.offload(v, limit=item_limit, key=f"{key}/items/{i:06d}") for i, v in enumerate(value)]
        inline = {LIT_KEY: value} if _marked(value) else value
        if len(dumps(inline).encode()) <= limit:
            return inline
        return self.put(key + _SUFFIX, dumps(value))

    def resolve(self, value: Any, *, workflow: str, run_id: str, consumer: str) -> Any:
        """An encoded output (or item) of run `run_id` decoded, references fetched. A reference to
        anything but an artifact of this run in this bucket is refused, never fetched: `consumer`
        (e.g. "task 'load', input 'extract'") names what received it in the error."""

        def fetch(ref: dict[str, Any]) -> Any:
            found = self.get(self._own_key(ref, workflow, run_id, consumer))
            if ref.get("items") is None or not isinstance(found, list):
                return found
            return [unwrap(v, fetch) for v in found]  # a list reference's elements are encoded outputs

        return unwrap(value, fetch)

    def _own_key(self, ref: dict[str, Any], workflow: str, run_id: str, consumer: str) -> str:
        prefix = run_prefix(workflow, run_id)
        own = f"s3://{self.bucket}/{prefix}"
        try:
            uri = ArtifactRef.model_validate(ref).uri
        except ValidationError:
            uri = None
        bucket, _, key = (uri or "").removeprefix("s3://").partition("/")
        segments = key.split("/")
        if (
            uri is None
            or not uri.startswith("s3://")
            or bucket != self.bucket
            or not key.startswith(prefix)
            or not key.endswith(_SUFFIX)
            or any(s in ("", ".", "..") for s in segments)
        ):
            named = repr(uri[:200]) if uri is not None else "of an unknown shape"
            raise ArtifactError(
                f"{consumer} received an artifact reference {named} that is not one of this run's: "
                f"only references the task runtime made to objects under {own} are fetched, so nothing was "
                "read; the state was altered outside the runtime: check what wrote it"
            )
        return key
