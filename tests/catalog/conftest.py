"""The tests of this package run on both catalog engines, sqlite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.postgres import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)
