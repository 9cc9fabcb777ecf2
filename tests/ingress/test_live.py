"""Against a real `media-sync serve`: racing creates, 413 before the body, chunked 413, `?source=`.

The upload races, disconnects and traversal cases live in `tests/ingress/upload/`; these are the
foundation rules that file does not pin.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.storage.conventions import TEMP_PREFIX
from tests.support.server import LiveServer, start_server

pytestmark = pytest.mark.e2e


def temps(root: Path) -> list[Path]:
    return list(root.rglob(f"{TEMP_PREFIX}*"))


def make_project(server: LiveServer, name: str = "Live") -> str:
    with server.client() as http:
        response = http.post("/api/projects", json={"name": name})
        assert response.status_code == 201, response.text
        return str(response.json()["name"])


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """Read until the server closes or a whole small response has arrived."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def small_server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A live server whose upload limit is 1 MiB."""
    root, state = roots
    server = start_server(root, state, args=["--no-watch"], env={"MEDIA_SYNC_MAX_UPLOAD_MB": "1"})
    try:
        yield server
    finally:
        server.stop()


def test_twenty_concurrent_creates_over_http_make_one_folder(live_server: LiveServer) -> None:
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str, bool]] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            with live_server.client() as http:
                barrier.wait(10)
                response = http.post("/api/projects", json={"name": "Race Day"})
                body = response.json()
                answers.append((response.status_code, body["name"], body["created"]))
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert [a[0] for a in answers] == [201] * 20
    assert {a[1] for a in answers} == {"P1-Race-Day"}
    assert [a[2] for a in answers].count(True) == 1
    folders = sorted(p.name for p in live_server.root.iterdir() if p.name != "_sources")
    assert folders == ["P1-Race-Day"]  # (`_sources/` holds the watcher's canary)
    index = json.loads((live_server.root / "P1-Race-Day/index.json").read_text())
    assert index["files"] == []


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "upload", "multipart/form-data; boundary=abc"),
        ("PUT", "files/clip.mov", "video/quicktime"),
    ],
)
def test_413_from_content_length_before_any_body_byte(
    small_server: LiveServer, method: str, path: str, content_type: str
) -> None:
    project = make_project(small_server)
    before = sorted(small_server.root.rglob("*"))
    head = (
        f"{method} /api/projects/{project}/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {50 << 30}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", small_server.port)) as sock:
        sock.sendall(head)  # no body byte is ever sent: the answer cannot wait for one
        raw = read_response(sock, timeout=10)
    assert raw.startswith(b"HTTP/1.1 413 "), raw[:200]
    assert time.monotonic() - started < 10
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert body["status_code"] == 413 and body["error"] == "PayloadTooLarge"
    assert "MEDIA_SYNC_MAX_UPLOAD_MB" in body["detail"]
    assert sorted(small_server.root.rglob("*")) == before


def limit_busting_body(boundary: str) -> Iterator[bytes]:
    """A 3 MiB multipart body in 64 KiB pieces, sent chunked (no Content-Length)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mov"\r\n'
        "Content-Type: video/quicktime\r\n\r\n"
    ).encode()
    for _ in range(48):
        yield os.urandom(64 * 1024)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_chunked_body_over_the_limit_is_413_and_leaves_nothing(small_server: LiveServer) -> None:
    project = make_project(small_server)
    originals = small_server.root / project / "ingest/originals"
    with small_server.client() as http:
        response = http.post(
            f"/api/projects/{project}/upload",
            content=limit_busting_body("chunkedlimit"),
            headers={"Content-Type": "multipart/form-data; boundary=chunkedlimit"},
        )
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "PayloadTooLarge"
        raw = http.put(
            f"/api/projects/{project}/files/big.mov",
            content=(os.urandom(64 * 1024) for _ in range(48)),
        )
        assert raw.status_code == 413, raw.text
    deadline = time.monotonic() + 5
    while temps(small_server.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temps(small_server.root) == []
    assert list(originals.iterdir()) == []
    with small_server.client() as http:  # still serving, and a small upload still works
        ok = http.post(f"/api/projects/{project}/upload", files={"file": ("ok.mov", b"ok")})
        assert ok.status_code == 200 and ok.json()["status"] == "stored"


def test_every_project_endpoint_takes_source(live_server: LiveServer, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    with live_server.client() as http:
        added = http.post("/api/sources", json={"name": "archive", "root": str(archive)})
        assert added.status_code == 201, added.text
        created = http.post("/api/projects?source=archive", json={"name": "Old Trip"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["name"], body["source"]) == ("P1-Old-Trip", "archive")
        assert body["upload_url"].endswith("/api/projects/P1-Old-Trip/upload?source=archive")
        stored = http.post(body["upload_url"], files={"file": ("a.mov", b"archive bytes")})
        assert stored.status_code == 200, stored.text
        assert stored.json()["source"] == "archive"
        raw = http.put(
            "/api/projects/P1-Old-Trip/files/b.mov?source=archive", content=b"other bytes"
        )
        assert raw.status_code == 200, raw.text
        album = http.post(
            "/api/projects/P1-Old-Trip/sync-album?source=archive", json={"album_name": "A"}
        )
        assert album.status_code == 200, album.text
        fetched = http.get("/api/projects/P1-Old-Trip?source=archive").json()
        assert fetched["counts"]["files"] == 2
        listed = http.get("/api/projects?source=archive").json()
        assert [p["name"] for p in listed] == ["P1-Old-Trip"]
        assert http.get("/api/projects/P1-Old-Trip").status_code == 404  # not in primary
    folder = archive / "P1-Old-Trip"
    assert sorted(p.name for p in (folder / "ingest/originals").iterdir()) == ["a.mov", "b.mov"]
    assert (folder / "_manifest/events.jsonl").is_file()
    assert not (live_server.root / "P1-Old-Trip").exists()


def test_raw_put_disconnect_mid_body_leaves_nothing(live_server: LiveServer) -> None:
    project = make_project(live_server)
    originals = live_server.root / project / "ingest/originals"
    head = (
        f"PUT /api/projects/{project}/files/half.mov HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {8_000_000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(head + os.urandom(4_000_000))
        deadline = time.monotonic() + 5
        while not temps(originals) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert temps(originals), "the upload never started writing"
    deadline = time.monotonic() + 10
    while temps(live_server.root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temps(live_server.root) == []
    assert list(originals.iterdir()) == []
    with live_server.client() as http:
        assert http.get(f"/api/projects/{project}").json()["counts"]["files"] == 0
