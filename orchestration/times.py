"""Timestamps as the ledger and the platform write them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds: 2026-11-21T05:41:37.123Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_iso(value: Any) -> datetime | None:
    """An ISO 8601 date-time ('Z' accepted); None for an empty or unparseable value."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def ms_between(start: str | None, end: str | None) -> int | None:
    """Milliseconds from `start` to `end` (ISO strings), or None when either is missing or bad."""
    a, b = parse_iso(start), parse_iso(end)
    if a is None or b is None:
        return None
    return max(0, (b - a) // timedelta(milliseconds=1))
