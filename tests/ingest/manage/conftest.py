"""Fixtures for the media-management tests: the in-process app and its Library."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.library import Library


@pytest.fixture
def lib(client: TestClient[Any]) -> Library:
    """The Library the in-process app opened (one catalog for app and test)."""
    library: Library = client.app.state.library
    return library
