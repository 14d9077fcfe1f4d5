"""Lazy re-exports for a package's `__init__` (PEP 562): a public name is imported from its module
on first use, so importing a submodule (as the Lambda functions do) does not import every sibling."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(
    namespace: dict[str, Any], sources: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for the package whose globals are `namespace`; `sources` maps each
    module to the public names it defines. A name, once imported, is cached in the package."""
    where = {name: module for module, names in sources.items() for name in names}
    package = namespace["__name__"]

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *where})

    return getattr_, dir_
