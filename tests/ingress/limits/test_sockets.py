"""Limits on every socket, against a real `media-sync serve`: slowloris heads, idle connections,
huge heads (431), bodies that stall (408, nothing kept) and no reading of a refused body."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import create_project
from tests.support.files import temp_files
from tests.support.rawhttp import closed_soon, connect, head, read_answer, send_all
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
KEEPALIVE = 1.0
SLACK = 1.5  # scheduling slack on a busy 2-core CI machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("limits")
    env = {
        "MEDIA_SYNC_MAX_UPLOAD_MB": "1",
        "MEDIA_SYNC_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "MEDIA_SYNC_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "MEDIA_SYNC_KEEPALIVE_SECONDS": str(KEEPALIVE),
    }
    with serving(base / "projects", base / "state", args=["--no-watch"], env=env) as live:
        yield live


@pytest.fixture(scope="module")
def project(server: LiveServer) -> str:
    with server.client() as http:
        return create_project(http, "Limits")


def healthy(server: LiveServer) -> bool:
    return httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def leftovers(server: LiveServer, project: str, name: str) -> list[Path]:
    """Temp files anywhere, and ``name`` in the project's originals."""
    stored = server.root / project / "ingest" / "originals" / name
    return [*temp_files(server.root), *([stored] if stored.exists() else [])]


def test_slowloris_head_is_cut_off_at_the_header_timeout(server: LiveServer) -> None:
    started = time.monotonic()
    with connect(server.port) as sock:
        assert send_all(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for i in range(40):  # a header line every 0.2 s: 8 s if nobody stops it
            if not send_all(sock, b"X-Slow-%d: y\r\n" % i) or closed_soon(sock, 0.2):
                break
        elapsed = time.monotonic() - started
    assert HEADER_TIMEOUT <= elapsed < HEADER_TIMEOUT + SLACK, elapsed
    assert healthy(server)


def test_slowloris_gets_a_408_and_the_connection_closes(server: LiveServer) -> None:
    with connect(server.port) as sock:
        assert send_all(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        answer = read_answer(sock, timeout=HEADER_TIMEOUT + SLACK)
    assert answer.status == 408
    assert answer.json()["error"] == "RequestTimeout"
    assert answer.headers["connection"] == "close" and answer.closed


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    started = time.monotonic()
    with connect(server.port) as sock:
        assert closed_soon(sock, HEADER_TIMEOUT + SLACK)
    assert time.monotonic() - started >= HEADER_TIMEOUT


def test_an_idle_keep_alive_connection_is_closed(server: LiveServer) -> None:
    with connect(server.port) as sock:
        assert send_all(sock, head("GET", "/healthz"))
        answer = read_answer(sock)
        assert answer.status == 200 and not answer.closed  # kept alive for a while...
        assert closed_soon(sock, KEEPALIVE + SLACK)  # ...then closed


def test_a_long_answer_outlives_the_header_timeout(server: LiveServer) -> None:
    """The header clock stops once the head is complete: a live-event stream stays open."""
    with httpx.stream("GET", f"{server.url}/api/events", timeout=10) as response:
        assert response.status_code == 200
        started = time.monotonic()
        lines = response.iter_lines()
        assert next(lines) == ": connected"
        time.sleep(HEADER_TIMEOUT + KEEPALIVE + 0.5)
        assert not response.is_closed
    assert time.monotonic() - started >= HEADER_TIMEOUT + KEEPALIVE


@pytest.mark.parametrize(
    "extra",
    [
        b"X-Big: " + b"a" * (1 << 20) + b"\r\n",  # one 1 MiB header
        b"".join(b"X-Line-%d: y\r\n" % i for i in range(20_000)),  # 20,000 lines
    ],
    ids=["1MiB-header", "20000-lines"],
)
def test_a_huge_request_head_is_refused_with_431_at_once(server: LiveServer, extra: bytes) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"
    with connect(server.port) as sock:
        sender = threading.Thread(target=send_all, args=(sock, request))
        sender.start()
        answer = read_answer(sock, timeout=5)
        sender.join(10)
    assert answer.status == 431
    assert answer.json()["error"] == "HeaderFieldsTooLarge"
    assert answer.headers["connection"] == "close" and answer.closed
    assert answer.seconds < 2
    assert healthy(server)


def test_an_ordinary_large_head_is_still_served(server: LiveServer) -> None:
    """A 16 KiB cookie and 60 headers (a browser with a lot of state) are well under the cap."""
    headers = {"Cookie": "c=" + "x" * 16_384, **{f"X-H{i}": "v" * 40 for i in range(60)}}
    with connect(server.port) as sock:
        assert send_all(sock, head("GET", "/healthz", headers))
        assert read_answer(sock).status == 200


def test_after_a_413_the_rest_of_the_body_is_not_read(server: LiveServer, project: str) -> None:
    request = head("PUT", f"/api/projects/{project}/files/huge.mov", {"Content-Length": 1 << 30})
    with connect(server.port) as sock:
        assert send_all(sock, request)
        answer = read_answer(sock)
        assert answer.status == 413 and answer.headers["connection"] == "close"
        assert answer.closed
        # Before the fix the server swallowed all of it: 256 MiB went through in about a second.
        sock.settimeout(5)
        sent, piece, started = 0, os.urandom(1 << 16), time.monotonic()
        while sent < (256 << 20) and time.monotonic() - started < 10:
            try:
                sent += sock.send(piece)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
    assert sent < (8 << 20), f"{sent >> 20} MiB of a refused body were read"
    assert leftovers(server, project, "huge.mov") == []


def test_a_stalled_upload_is_dropped_with_408_and_leaves_nothing(
    server: LiveServer, project: str
) -> None:
    request = head("PUT", f"/api/projects/{project}/files/stalled.mov", {"Content-Length": 500_000})
    with connect(server.port) as sock:
        assert send_all(sock, request + os.urandom(100_000))  # a fifth of it, then silence
        answer = read_answer(sock, timeout=BODY_TIMEOUT + SLACK + 1)
    assert answer.status == 408
    assert answer.json()["error"] == "RequestTimeout"
    assert "MEDIA_SYNC_BODY_TIMEOUT_SECONDS" in answer.json()["detail"]
    assert answer.headers["connection"] == "close" and answer.closed
    wait_until(
        lambda: not leftovers(server, project, "stalled.mov"),
        5,
        what="the stalled upload's temp to go",
        detail=lambda: leftovers(server, project, "stalled.mov"),
    )
    assert healthy(server)


def test_a_slow_but_steady_upload_is_stored(server: LiveServer, project: str) -> None:
    """Eight pieces 0.4 s apart: 3 s in all, longer than both timeouts, never silent for long."""
    data = os.urandom(8 * 32_768)
    path = f"/api/projects/{project}/files/steady.mov"
    with connect(server.port) as sock:
        assert send_all(sock, head("PUT", path, {"Content-Length": len(data)}))
        for i in range(8):
            time.sleep(0.4)
            assert send_all(sock, data[i * 32_768 : (i + 1) * 32_768])
        answer = read_answer(sock)
    assert answer.status == 200, answer.body
    assert answer.json()["status"] == "stored"
    assert (server.root / project / "ingest" / "originals" / "steady.mov").read_bytes() == data
