"""Security fixtures: one open server and one token-protected server per module, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import make_jpeg
from tests.support.server import LiveServer, start_server

API_TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"


def launch(base: Path, env: dict[str, str] | None = None) -> LiveServer:
    root = base / "projects"
    root.mkdir(parents=True)
    return start_server(root, base / "state", args=["--no-watch"], env=env)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No token: the LAN stays open, only cross-site writes and foreign hosts are refused."""
    live = launch(tmp_path_factory.mktemp("open"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_API_TOKEN": API_TOKEN, "MEDIA_SYNC_READ_TOKEN": READ_TOKEN}
    live = launch(tmp_path_factory.mktemp("token"), env)
    try:
        yield live
    finally:
        live.stop()


def tree(root: Path) -> list[tuple[str, int]]:
    """Every path under a root with its size: equal before and after means nothing changed
    (thumbnails, made in the background after an earlier upload, aside)."""
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size if p.is_file() else -1)
        for p in root.rglob("*")
        if "thumbnails" not in p.relative_to(root).parts
    )


def create_project(client: httpx.Client, name: str) -> str:
    answer = client.post("/api/projects", json={"name": name})
    assert answer.status_code == 201, answer.text
    project: str = answer.json()["name"]
    return project


def jpeg_bytes(tmp: Path, variant: int) -> bytes:
    return make_jpeg(tmp / f"photo-{variant}.jpg", variant=variant).read_bytes()


def assert_error(answer: httpx.Response, status: int, error: str) -> dict[str, object]:
    """The exact status and the one JSON error shape."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, object] = answer.json()
    assert set(body) == {"detail", "error", "status_code"}, body
    assert body["status_code"] == status and body["error"] == error, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body
