"""Uploads against a real `media-sync serve` over HTTP: races, disconnects, limits, traversal."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, start_server

pytestmark = pytest.mark.e2e


def _project(server: LiveServer, name: str = "Race") -> str:
    with server.client() as http:
        response = http.post("/api/projects", json={"name": name})
        assert response.status_code == 201
        return str(response.json()["name"])


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _temps(root: Path) -> list[Path]:
    return list(root.rglob(".media-sync-tmp-*"))


def _wait(predicate: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_twenty_concurrent_uploads_of_the_same_bytes_store_one_file(
    live_server: LiveServer,
) -> None:
    project = _project(live_server)
    data = os.urandom(2_000_000)
    statuses: list[str] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as http:
            response = http.post(
                f"/api/projects/{project}/upload", files={"file": (f"take_{i}.mov", data)}
            )
            assert response.status_code == 200, response.text
            with lock:
                statuses.append(response.json()["status"])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["duplicate"] * 19 + ["stored"]
    originals = live_server.root / project / "ingest" / "originals"
    stored = [p for p in originals.iterdir()]
    assert len(stored) == 1 and stored[0].read_bytes() == data
    with live_server.client() as http:
        counts = http.get(f"/api/projects/{project}").json()["counts"]
    assert counts["duplicates_skipped"] == 19 and counts["files"] == 1
    assert not _temps(live_server.root)


def test_client_disconnect_mid_upload_leaves_nothing(live_server: LiveServer) -> None:
    project = _project(live_server)
    boundary = "xXxBoundaryxXx"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.mov"\r\n\r\n'
    ).encode()
    total = 8_000_000
    request = (
        f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + total + 40}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(request + head + os.urandom(total // 2))
        originals = live_server.root / project / "ingest" / "originals"
        assert _wait(lambda: bool(_temps(originals)), 5), "upload never started"
    assert _wait(lambda: not _temps(live_server.root), 10), "temp file left behind"
    assert list(originals.iterdir()) == []
    with live_server.client() as http:  # the server is still healthy
        assert http.get("/healthz").status_code == 200


def test_chunked_body_over_the_limit_is_413_mid_stream(roots: tuple[Path, Path]) -> None:
    root, state = roots
    server = start_server(root, state, env={"MEDIA_SYNC_MAX_UPLOAD_MB": "1"})
    try:
        project = _project(server)
        boundary = "limitboundary"

        def chunks() -> Iterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                'filename="big.mov"\r\n\r\n'
            ).encode()
            for _ in range(40):
                yield os.urandom(64 * 1024)
            yield f"\r\n--{boundary}--\r\n".encode()

        with server.client() as http:
            try:
                response = http.post(
                    f"/api/projects/{project}/upload",
                    content=chunks(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )
                assert response.status_code == 413
                assert "MEDIA_SYNC_MAX_UPLOAD_MB" in response.json()["detail"]
            except httpx.HTTPError:
                pass  # the server may close the connection while we are still sending
            big = http.post(
                f"/api/projects/{project}/upload", files={"file": ("big.mov", b"x" * (2 << 20))}
            )
            assert big.status_code == 413
        assert _wait(lambda: not _temps(root), 5)
        assert list((root / project / "ingest" / "originals").iterdir()) == []
    finally:
        server.stop()


def test_unsupported_type_is_415_and_nothing_stays(live_server: LiveServer) -> None:
    project = _project(live_server)
    with live_server.client() as http:
        response = http.post(
            f"/api/projects/{project}/upload", files={"file": ("notes.txt", b"hello" * 1000)}
        )
    assert response.status_code == 415
    assert ".mov" in response.json()["detail"] and ".heic" in response.json()["detail"]
    assert list((live_server.root / project / "ingest" / "originals").iterdir()) == []


def test_phantom_duplicate_is_stored_again(live_server: LiveServer) -> None:
    project = _project(live_server)
    data = os.urandom(50_000)
    with live_server.client() as http:
        first = http.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", data)})
        assert first.json()["status"] == "stored"
        (live_server.root / project / first.json()["path"]).unlink()
        again = http.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", data)})
        assert again.json()["status"] == "stored"
        assert again.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert (live_server.root / project / again.json()["path"]).read_bytes() == data


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/../upload",
        "/api/projects/%2e%2e/upload",
        "/api/projects/..%2f..%2fetc/upload",
        "/api/projects/P1-Race%2f..%2f..%2fetc/upload",
        "/api/projects/_sources/upload",
        "/api/projects/P1-Race/upload?source=..%2fx",
        "/api/projects/P1-Race/files/..%2f..%2fevil.mov",
        "/api/projects/P1-Race/files/%2e%2e",
    ],
)
def test_traversal_in_path_parameters_is_refused(live_server: LiveServer, path: str) -> None:
    _project(live_server)
    before = _tree(live_server.root.parent)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        if "/files/" in path:
            response = http.put(path, content=b"evil bytes")
        else:
            response = http.post(path, files={"file": ("x.mov", b"evil bytes")})
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert "detail" in response.json()
    after = [
        p
        for p in _tree(live_server.root.parent)
        if "catalog.sqlite3" not in p and "server-" not in p and "locks" not in p
    ]
    assert after == [
        p for p in before if "catalog.sqlite3" not in p and "server-" not in p and "locks" not in p
    ]


def test_traversal_in_multipart_filename_stays_inside_the_project(live_server: LiveServer) -> None:
    project = _project(live_server)
    with live_server.client() as http:
        response = http.post(
            f"/api/projects/{project}/upload", files={"file": ("../../../evil.mov", b"payload")}
        )
    assert response.status_code == 200
    assert response.json()["path"] == "ingest/originals/evil.mov"
    assert not (live_server.root.parent / "evil.mov").exists()
    assert not (live_server.root / "evil.mov").exists()
