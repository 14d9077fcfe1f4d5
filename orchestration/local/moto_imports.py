"""Import time of moto's interpreter: a package whose `__init__` is deferred (for the adapter); moto's
and the local clients' service model loading."""

from __future__ import annotations

import functools
import importlib.util
import os
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
    the same files, and caches what it listed and loaded). That loader and the one of the session moto
    lists regions with (the local cloud's clients load their models through it too) load a service's
    model without listing every service folder first (`_loads_named_services`)."""
    import moto.core.utils as utils
    from moto.core.base_backend import AccountSpecificBackend

    create = getattr(utils, "create_loader")  # noqa: B009  # moto does not export it
    if not hasattr(create, "cache_info"):  # once
        setattr(utils, "create_loader", functools.cache(create))  # noqa: B010
        _loads_named_services(getattr(utils, "create_loader")())  # noqa: B009
        _loads_named_services(AccountSpecificBackend.get_session()._session.get_component("data_loader"))


def _loads_named_services(loader: Any) -> None:
    """botocore's `Loader.load_service_model` first lists every service folder (about 400, a few file
    checks each) to tell whether the service it is asked for exists: about 20 ms per model type and
    loader, so about 80 ms of a one-task run. Here the named service's model is looked for directly
    and loaded as botocore loads it (latest API version, extras merged, cached); when it is missing,
    botocore's own method runs (its listing, its error)."""
    from botocore.exceptions import DataNotFoundError

    listed = loader.load_service_model

    @functools.cache
    def load_service_model(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        try:
            version = api_version or loader.determine_latest_version(service_name, type_name)
            model = loader.load_data(os.path.join(service_name, version, type_name))
        except DataNotFoundError:
            return listed(service_name, type_name, api_version)
        loader._extras_processor.process(model, loader._find_extras(service_name, type_name, version))
        return model

    loader.load_service_model = load_service_model
