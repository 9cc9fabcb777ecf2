"""The tests of this package run on both catalog engines, sqlite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.catalog import Catalog
from tests.support.postgres import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def catalog(locate: Callable[[str], Path | str]) -> Iterator[Catalog]:
    """An empty catalog on the engine under test (a test module may seed it by overriding
    this fixture with one that takes ``catalog``)."""
    opened = Catalog.open(locate("catalog"))
    try:
        yield opened
    finally:
        opened.close()
