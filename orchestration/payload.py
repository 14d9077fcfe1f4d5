"""`Payload`, the base of every model of `orchestration.protocol`, and `JsonPath` (pure)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict


class JsonPath(str):
    """A value a state takes from its input or context: emitted as ``"key.$": "<path>"``."""

    __slots__ = ()


class Payload(BaseModel):
    """Base of every exchanged payload: unknown keys are refused, not silently dropped."""

    # defer_build: a schema is built on first use, so each function pays only for the payloads it reads
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    @functools.cache  # the compiler asks for the same keys of every task
    def wire_keys(cls) -> Mapping[str, str]:
        """Field name -> its wire name."""
        return MappingProxyType({name: field.alias or name for name, field in cls.model_fields.items()})

    @classmethod
    def key(cls, name: str) -> str:
        """The wire name of field `name` (raises KeyError for a field the model does not have)."""
        return cls.wire_keys()[name]

    @classmethod
    def template(cls, **fields: Any) -> dict[str, Any]:
        """This payload as an ASL `Parameters`/`ItemSelector` template (or any literal shape), in the
        order given: `JsonPath` values become ``"key.$"`` fields. Only the model's own keys pass."""
        keys = cls.wire_keys()
        out: dict[str, Any] = {}
        for name, value in fields.items():
            key = keys[name]
            if isinstance(value, JsonPath):
                out[f"{key}.$"] = str(value)
            else:
                out[key] = value
        return out
