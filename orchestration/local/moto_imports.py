"""Import time of moto's interpreter: a package whose `__init__` is deferred (for the adapter)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType
from typing import Any


class _DeferredInit(ModuleType):
    """A package whose `__init__` runs when a name is first read from it (submodules import as usual)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self.__class__ = ModuleType  # type: ignore[assignment]  # once: a plain module from here on
        spec = self.__spec__
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(self)
        return getattr(self, name)


def defer_batch_package() -> None:
    """The interpreter's Batch integration imports `moto.batch.utils` (an enum), whose package's
    `__init__` imports moto's whole EC2 model (about 0.7 s of CPU). The package is registered with its
    `__init__` deferred until a name is read from it (moto's backend lookup does, should a run use Batch)."""
    if "moto.batch" in sys.modules:
        return
    spec = importlib.util.find_spec("moto.batch")
    if spec is None:  # pragma: no cover - depends on the installed moto
        return
    package = importlib.util.module_from_spec(spec)
    package.__class__ = _DeferredInit
    sys.modules[spec.name] = package
    parent, _, name = spec.name.rpartition(".")
    setattr(sys.modules[parent], name, package)  # as the import system does for a submodule


def share_model_loader() -> None:
    """moto builds a new model loader for every service model it reads (each one lists botocore's
    hundreds of service folders again: about 30 ms a service); one loader serves them all (it reads
    the same files, and caches what it listed and loaded)."""
    import moto.core.utils as utils

    create = getattr(utils, "create_loader")  # noqa: B009  # moto does not export it
    if not hasattr(create, "cache_info"):  # once
        setattr(utils, "create_loader", functools.cache(create))  # noqa: B010
