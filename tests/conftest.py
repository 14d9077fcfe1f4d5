"""Fixtures shared by every test folder (pytest's `pythonpath` setting puts the project root first)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from orchestration.runtime.registry import SERVICE

pytest_plugins = ["tests.browser_fixtures"]  # one session-wide browser for every package


@pytest.fixture(scope="module")
def quiet_logs() -> Iterator[None]:
    """Silence moto's interpreter (it logs every task failure) and the platform functions' logger."""
    loggers = [logging.getLogger(name) for name in ("moto", SERVICE)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def local_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test keeps its local runs (`orch run` & co.) in a store of its own, never in the repository."""
    monkeypatch.setenv("ORCH_HOME", str(tmp_path_factory.mktemp("orch-home")))
    yield
