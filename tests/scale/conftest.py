"""Several processes on one catalog: the in-process tests of this package run on both engines
(the multi-process ones say which they need)."""

from __future__ import annotations

import pytest

from tests.support.postgres import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)
