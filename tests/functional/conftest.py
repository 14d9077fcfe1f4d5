"""A local cloud shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestration.local import LocalCloud


@pytest.fixture(scope="module")
def cloud(quiet_logs: None) -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        yield c
