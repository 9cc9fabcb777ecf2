"""Shared fixtures: temp roots, the catalog engine (sqlite or a real PostgreSQL), settings, the
in-process client, live servers, no leaked threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from tests.support.env import settings_for
from tests.support.postgres import PostgresServer
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the whole session (started on first use, stopped at the
    end however the session ends)."""
    with PostgresServer.start() as server:
        yield server


@pytest.fixture
def engine() -> str:
    """The catalog engine a test runs on: sqlite, unless its package's conftest parametrises
    this fixture over ``ENGINES`` (tests/catalog, ingest, jobs and watch run on both)."""
    return "sqlite"


@pytest.fixture
def database_url(
    engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """MEDIA_SYNC_DATABASE_URL for the test: "" (sqlite in the state dir) or a fresh
    PostgreSQL database, dropped after the test. It is set in the environment too, so
    ``settings_for``, the CLI helpers and live servers all use it."""
    if engine == "sqlite":
        monkeypatch.delenv("MEDIA_SYNC_DATABASE_URL", raising=False)
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database() as url:
        monkeypatch.setenv("MEDIA_SYNC_DATABASE_URL", url)
        yield url


@pytest.fixture
def locate(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Path | str]]:
    """``locate(name)``: where a test's catalog called ``name`` lives on its engine, for
    ``Catalog.open``: a sqlite file under tmp_path, or a fresh PostgreSQL database (its URL;
    dropped after the test). The same name gives the same place."""
    places: dict[str, Path | str] = {}
    made: list[str] = []
    server: PostgresServer | None = None

    def place(name: str) -> Path | str:
        nonlocal server
        if name not in places:
            if engine == "sqlite":
                places[name] = tmp_path / name / "catalog.sqlite3"
            else:
                server = server or request.getfixturevalue("postgres_server")
                made.append(server.create_database())
                places[name] = server.url(made[-1])
        return places[name]

    yield place
    for database in made:
        assert server is not None
        server.drop_database(database)


@pytest.fixture
def roots(tmp_path: Path, database_url: str) -> tuple[Path, Path]:
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
