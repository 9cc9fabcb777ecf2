"""Security fixtures: one open server and one token-protected server per module, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import LiveServer, serving

API_TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}
# Thumbnails are made in the background after an earlier upload: leave them out of snapshots.
BACKGROUND = {"thumbnails"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No token: the LAN stays open, only cross-site writes and foreign hosts are refused."""
    base = tmp_path_factory.mktemp("open")
    with serving(base / "projects", base / "state", args=["--no-watch"]) as live:
        yield live


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("token")
    env = {"MEDIA_SYNC_API_TOKEN": API_TOKEN, "MEDIA_SYNC_READ_TOKEN": READ_TOKEN}
    with serving(base / "projects", base / "state", args=["--no-watch"], env=env) as live:
        yield live
