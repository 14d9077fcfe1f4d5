"""Model loading in the local cloud (orchestration.local.moto_imports): a loader that looks for the named
service's model directly loads what botocore's own method loads (extras merged, cached), without
listing every service folder, and an unknown service still gets botocore's error."""

from __future__ import annotations

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from moto.core.loaders import Loader as MotoLoader

from orchestration.local.moto_imports import _loads_named_services


@pytest.mark.parametrize("make", [Loader, MotoLoader], ids=["botocore", "moto"])
@pytest.mark.parametrize(
    ("service", "type_name"), [("s3", "service-2"), ("dynamodb", "paginators-1"), ("stepfunctions", "service-2")]
)
def test_a_named_service_loads_as_botocore_loads_it_without_listing_the_services(
    make: type[Loader], service: str, type_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = make().load_service_model(service, type_name)
    loader = make()
    _loads_named_services(loader)
    monkeypatch.setattr(loader, "list_available_services", lambda *_: pytest.fail("listed every service"))
    model = loader.load_service_model(service, type_name)
    assert model == expected
    assert loader.load_service_model(service, type_name) is model  # cached, as botocore caches it


def test_an_unknown_service_gets_botocores_error() -> None:
    loader = Loader()
    _loads_named_services(loader)
    with pytest.raises(UnknownServiceError, match="no-such-service"):
        loader.load_service_model("no-such-service", "service-2")
