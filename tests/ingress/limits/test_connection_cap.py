"""The connection cap, against a real `media-sync serve` with its watcher and a low open-file
limit: a flood of stalled uploads and idle sockets cannot exhaust descriptors; a real upload
gets a clean 503 while the flood holds, is stored once it ends, and the watcher stays online."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
import pytest

from daemon.settings import Settings
from ingress.server import FD_RESERVE, MIN_CONNECTIONS, connection_cap
from tests.factories import make_jpeg
from tests.support.api import assert_error, create_project
from tests.support.rawhttp import connect, head, send_all
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CAP = 20
NOFILE = 256  # the server's open-file limit during the flood (systemd's default is 1024)
FLOOD = 600  # as many stalled connections as in the report


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    env = {"MEDIA_SYNC_MAX_CONNECTIONS": str(CAP), "MEDIA_SYNC_RECONCILE_INTERVAL_SECONDS": "1"}
    with serving(*roots, env=env) as live:
        resource.prlimit(live.process.pid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
        yield live


def upload(server: LiveServer, project: str, photo: Path) -> httpx.Response:
    files = {"file": (photo.name, photo.read_bytes(), "image/jpeg")}
    with server.client() as http:
        return http.post(f"/api/projects/{project}/upload", files=files)


def flood(stack: ExitStack, server: LiveServer, project: str) -> list[socket.socket]:
    """Half stalled uploads (a head, no body), half sockets that never say anything."""
    stalled = head(
        "POST",
        f"/api/projects/{project}/upload",
        {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": 10 << 20},
    )
    sockets = []
    for i in range(FLOOD):
        sock = stack.enter_context(connect(server.port))
        if i % 2 == 0:
            send_all(sock, stalled)
        sockets.append(sock)
    return sockets


def test_a_flood_of_stalled_connections_leaves_the_server_working(
    server: LiveServer, tmp_path: Path
) -> None:
    with server.client() as http:
        project = create_project(http, "Flood")
    photo = make_jpeg(tmp_path / "after-flood.jpg", variant=3)
    with ExitStack() as stack:
        flood(stack, server, project)
        time.sleep(0.5)
        assert psutil.Process(server.process.pid).num_fds() < NOFILE - 32
        refused = upload(server, project, photo)
        assert_error(refused, 503, "TooManyConnections")

    def past_the_cap() -> httpx.Response | None:
        """The server frees the flood's slots as it notices the sockets closed."""
        answer = upload(server, project, photo)
        return None if answer.status_code == 503 else answer

    stored = wait_until(past_the_cap, what="a free slot once the flood ended", step=0.2)
    assert stored.status_code == 200, stored.text
    assert stored.json()["status"] == "stored"
    time.sleep(1.5)  # a reconcile pass after the flood
    health = httpx.get(f"{server.url}/health", timeout=10).json()
    assert health["status"] == "ok", health
    assert [s["watch"]["offline"] for s in health["sources"]] == [False]
    assert health["daemon"]["offline_sources"] == {}
    log = server.log()
    assert "Too many open files" not in log and "Traceback" not in log
    assert f"serving at most {CAP} connections" in log


def test_the_automatic_cap_is_half_the_open_file_limit_less_a_reserve(
    settings: Settings,
) -> None:
    auto = settings.with_overrides(max_connections=0)
    assert auto.max_connections == 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        assert connection_cap(auto) == 1024 // 2 - FD_RESERVE
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, hard))
        assert connection_cap(auto) == MIN_CONNECTIONS
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert connection_cap(settings.with_overrides(max_connections=7)) == 7
