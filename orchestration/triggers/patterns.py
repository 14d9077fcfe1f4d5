"""Structural checks of EventBridge event patterns (matching events is EventBridge's job)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

FILTER_NAMES = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "cidr", "wildcard"}
)
NUMERIC_OPERATORS = frozenset({"<", "<=", "=", ">=", ">"})
MAX_PATTERN_BYTES = 4_096


def pattern_problems(pattern: Any, label: str = "event trigger") -> list[str]:
    """Every structural problem with an event pattern: shape, filters, JSON size."""
    if not isinstance(pattern, Mapping) or not pattern:
        return [
            f"{label}: pattern={pattern!r} must be a non-empty dict, e.g. "
            "{'source': ['my.app'], 'detail-type': ['OrderPlaced']}"
        ]
    out: list[str] = []
    _check_node(pattern, label, "", out)
    try:
        size = len(json.dumps(pattern))
    except (TypeError, ValueError):
        out.append(f"{label}: the pattern is not JSON: use only dicts, lists, strings, numbers and booleans")
    else:
        if size > MAX_PATTERN_BYTES:
            out.append(f"{label}: the pattern takes {size} bytes; EventBridge accepts {MAX_PATTERN_BYTES}")
    return out


def _check_node(node: Mapping[str, Any], label: str, where: str, out: list[str]) -> None:
    for key, value in node.items():
        path = f"{where}.{key}" if where else str(key)
        if key == "$or":
            subs = value if isinstance(value, list) else []
            if len(subs) < 2 or not all(isinstance(v, Mapping) for v in subs):
                out.append(f"{label}: '$or' at {where or 'the top'} must be a list of at least two patterns")
            else:
                for sub in subs:
                    _check_node(sub, label, where, out)
        elif isinstance(value, Mapping):
            if not value:
                out.append(f"{label}: {path!r} is an empty object: remove it or give it fields")
            else:
                _check_node(value, label, path, out)
        elif isinstance(value, list):
            if not value:
                out.append(f"{label}: {path!r} is an empty list: EventBridge rejects empty arrays")
            for f in value:
                _check_filter(f, label, path, out)
        else:
            out.append(
                f"{label}: {path!r} = {value!r}: pattern values must be lists of allowed values, e.g. "
                f"{{{key!r}: [{value!r}]}}"
            )


def _check_filter(f: Any, label: str, path: str, out: list[str]) -> None:
    if f is None or isinstance(f, str | int | float | bool):
        return
    if not isinstance(f, Mapping) or len(f) != 1:
        out.append(
            f"{label}: {path!r} has filter {f!r}: a filter is a value or a one-key object like {{'prefix': 'x'}}"
        )
        return
    name, arg = next(iter(f.items()))
    if name not in FILTER_NAMES:
        choices = ", ".join(sorted(FILTER_NAMES))
        out.append(f"{label}: {path!r} uses unknown filter {name!r}: use one of {choices}")
    elif name == "exists" and not isinstance(arg, bool):
        out.append(f"{label}: {path!r}: 'exists' takes true or false, got {arg!r}")
    elif name == "numeric":
        ok = (
            isinstance(arg, list)
            and len(arg) in (2, 4)
            and all(
                (isinstance(arg[i], str) and arg[i] in NUMERIC_OPERATORS)
                and isinstance(arg[i + 1], int | float)
                and not isinstance(arg[i + 1], bool)
                for i in range(0, len(arg), 2)
            )
        )
        if not ok:
            out.append(
                f"{label}: {path!r}: 'numeric' takes [op, number] or [op, number, op, number] with op one of "
                f"< <= = >= >, got {arg!r}"
            )
    elif name in ("prefix", "suffix", "wildcard") and not isinstance(arg, str | Mapping):
        out.append(f"{label}: {path!r}: {name!r} takes a string, got {arg!r}")
