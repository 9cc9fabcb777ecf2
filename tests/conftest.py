"""Shared fixtures: temp roots, settings, the in-process client, a live server, no leaked threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from tests.support.helpers import settings_for
from tests.support.server import LiveServer, start_server


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves threads running (every thread must be stoppable)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not extra, f"threads leaked: {[t.name for t in extra]}"


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    return root, state


@pytest.fixture
def settings(roots: tuple[Path, Path]) -> Settings:
    root, state = roots
    return Settings.from_env(
        {
            "MEDIA_SYNC_PROJECTS_ROOT": str(root),
            "MEDIA_SYNC_STATE_DIR": str(state),
            "MEDIA_SYNC_SETTLE_SECONDS": "0.2",
        }
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[object]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def live_server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    root, state = roots
    server = start_server(root, state)
    try:
        yield server
    finally:
        server.stop()


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
