"""Event paths: reading the fields of an EventBridge event into workflow parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestration.errors import TriggerError
from orchestration.triggers.declarations import EventTrigger

EVENT_PATH_RE = re.compile(r"^\$(\.[A-Za-z0-9_@:/+-][A-Za-z0-9_@:/+.-]*?|\[\d+\])*$")
_PATH_STEP_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def event_value(event: Mapping[str, Any], path: str) -> Any:
    """The value at `path` ('$.detail.a[0].b') in `event`, or raise KeyError when absent."""
    if not EVENT_PATH_RE.match(path):
        raise TriggerError(f"{path!r} is not an event path: write '$.detail.field'")
    node: Any = event
    for key, index in _PATH_STEP_RE.findall(path[1:]):
        if key:
            if not isinstance(node, Mapping) or key not in node:
                raise KeyError(path)
            node = node[key]
        else:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                raise KeyError(path)
            node = node[i]
    return node


def event_params(trigger: EventTrigger, event: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Parameter values for a run started by `event`: constants plus mapped fields; and missing paths."""
    values: dict[str, Any] = dict(trigger.constants)
    missing: list[str] = []
    for param, path in trigger.params.items():
        try:
            values[param] = event_value(event, path)
        except KeyError:
            missing.append(f"{param} <- {path}")
    return values, missing
