"""Large task outputs: stored in the artifact bucket, travelling through the state as references.

Step Functions rejects any state payload over 262,144 bytes (States.DataLimitExceeded, which Catch
cannot handle). The task runtime keeps outputs up to a per-task limit inline and writes larger ones
to S3; consuming tasks resolve references transparently.
"""

from __future__ import annotations

import json
from typing import Any

from orchestration.errors import ArtifactError
from orchestration.protocol import REF_KEY, ArtifactRef

ARTIFACT_PREFIX = "runs/"  # every task output lives under it (infra grants and expires this prefix)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def workflow_prefix(workflow: str) -> str:
    """The key prefix of one workflow's artifacts: its task functions may touch nothing else."""
    return f"{ARTIFACT_PREFIX}{workflow}/"


def artifact_key(workflow: str, run_id: str, task: str, attempt: int, index: int | None = None) -> str:
    """Where one attempt's output is stored (without the .json suffix)."""
    key = f"{workflow_prefix(workflow)}{run_id}/{task}/attempt-{attempt}"
    return key if index is None else f"{key}/item-{index:06d}"


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and REF_KEY in value and len(value) <= 2


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

    def get(self, uri: str) -> Any:
        if not uri.startswith("s3://"):
            raise ArtifactError(f"artifact reference {uri!r} is not an s3:// URI")
        bucket, _, key = uri[5:].partition("/")
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise ArtifactError(f"could not read artifact {uri}: {exc}") from exc
        return json.loads(body)

    def offload(self, value: Any, *, limit: int, key: str, item_limit: int | None = None) -> Any:
        """Return `value` if its JSON fits in `limit` bytes, else a reference to it in S3.

        With `item_limit` (the output feeds a for-each), a list stays a list so the Map state can
        iterate it, and each element larger than `item_limit` becomes a reference of its own.
        """
        if item_limit is not None and isinstance(value, list):
            return [self.offload(v, limit=item_limit, key=f"{key}/items/{i:06d}") for i, v in enumerate(value)]
        text = dumps(value)
        if len(text.encode()) <= limit:
            return value
        return self.put(f"{key}.json", text)

    def resolve(self, value: Any) -> Any:
        """Replace references (also inside lists, as for-each outputs hold them) with their values."""
        if is_ref(value):
            return self.get(value[REF_KEY])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value
