"""Fixtures for the watcher tests: an open Library on temp roots and helpers to drop files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from daemon.library import Library
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.sources import Source
from daemon.watch.reconcile import Reconciler, Scope
from tests.support.postgres import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """These tests run on both catalog engines, sqlite and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def lib(settings: Settings) -> Iterator[Library]:
    library = Library.open(settings.with_overrides(poll_interval_seconds=0.2))
    try:
        yield library
    finally:
        library.close()


@pytest.fixture
def primary(lib: Library) -> Source:
    return lib.source(None)


@pytest.fixture
def project(primary: Source) -> ProjectRef:
    ref = ProjectRef(primary, "P1-Test")
    ensure_layout(ref)
    return ref


@pytest.fixture
def reconcile(lib: Library, primary: Source) -> Callable[..., Any]:
    reconciler = Reconciler(lib)

    def run(scope: Scope | None = None, wait: float = 2.0) -> Any:
        return reconciler.reconcile(primary, scope or Scope(), wait_settle=wait)

    run.reconciler = reconciler  # type: ignore[attr-defined]
    return run
