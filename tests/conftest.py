"""Shared fixtures: temp roots, settings, the in-process client, live servers, no leaked threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from tests.support.env import settings_for
from tests.support.server import LiveServer, serving


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
    return settings_for(*roots)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[object]]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def live_server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A real `media-sync serve` on the test roots, its watcher running."""
    with serving(*roots) as server:
        yield server


@pytest.fixture
def quiet_server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A real `media-sync serve --no-watch` on the test roots: only the test changes them."""
    with serving(*roots, args=["--no-watch"]) as server:
        yield server
