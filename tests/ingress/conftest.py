"""Fixtures for the ingress tests: in-process clients over the test roots with settings of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from ingress.app import create_app
from tests.support.env import settings_for


@pytest.fixture
def client_with(roots: tuple[Path, Path]) -> Iterator[Callable[..., TestClient[Any]]]:
    """``client_with(MEDIA_SYNC_X="...")``: a started client over the test roots."""
    opened: list[TestClient[Any]] = []

    def make(**env: str) -> TestClient[Any]:
        test_client: TestClient[Any] = TestClient(create_app(settings_for(*roots, **env)))
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)
