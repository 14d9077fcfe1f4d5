"""Paths and sample events shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden"


def example(name: str) -> Path:
    """The example workflow file `examples/<name>.py`."""
    return EXAMPLES / f"{name}.py"


def s3_object_created(
    key: str = "incoming/x.csv",
    *,
    event_id: str = "11111111-2222-4333-8444-555555555555",
    bucket: str = "my-landing-bucket",
    time: str | None = "2026-11-21T08:30:00Z",
    **detail: Any,
) -> dict[str, Any]:
    """An S3 "Object Created" EventBridge event (what file arrival sends)."""
    event: dict[str, Any] = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "id": event_id,
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, **detail}},
    }
    if time is not None:
        event["time"] = time
    return event


S3_EVENT = s3_object_created()
