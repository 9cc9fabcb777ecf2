"""Uploads against a real `media-sync serve` over HTTP: races, disconnects, limits, traversal."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ERROR_FIELDS, assert_error, create_project
from tests.support.files import temp_files, tree
from tests.support.rawhttp import Answer, connect, head, read_answer, send_all
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A live server whose upload limit is 1 MiB."""
    with serving(*roots, args=["--no-watch"], env={"MEDIA_SYNC_MAX_UPLOAD_MB": "1"}) as server:
        yield server


def project_on(server: LiveServer, name: str = "Race") -> str:
    with server.client() as http:
        return create_project(http, name)


def test_twenty_concurrent_uploads_of_the_same_bytes_store_one_file(
    live_server: LiveServer,
) -> None:
    project = project_on(live_server)
    data = os.urandom(2_000_000)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        with live_server.client() as http:
            response = http.post(
                f"/api/projects/{project}/upload", files={"file": (f"take_{i}.mov", data)}
            )
        with lock:
            answers.append((response.status_code, response.json()["status"]))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [(200, "duplicate")] * 19 + [(200, "stored")]
    originals = live_server.root / project / "ingest" / "originals"
    stored = list(originals.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == data
    with live_server.client() as http:
        counts = http.get(f"/api/projects/{project}").json()["counts"]
    assert counts["duplicates_skipped"] == 19 and counts["files"] == 1
    assert temp_files(live_server.root) == []


def test_client_disconnect_mid_upload_leaves_nothing(live_server: LiveServer) -> None:
    project = project_on(live_server)
    originals = live_server.root / project / "ingest" / "originals"
    boundary = "xXxBoundaryxXx"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.mov"\r\n\r\n'
    ).encode()
    total = 8_000_000
    request = (
        f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(part) + total + 40}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(request + part + os.urandom(total // 2))
        wait_until(lambda: temp_files(originals), 5, what="the upload to start writing")
    wait_until(lambda: not temp_files(live_server.root), what="the temp file to go")
    assert list(originals.iterdir()) == []
    with live_server.client() as http:  # the server is still healthy
        assert http.get("/healthz").status_code == 200


def test_raw_put_disconnect_mid_body_leaves_nothing(live_server: LiveServer) -> None:
    project = project_on(live_server)
    originals = live_server.root / project / "ingest/originals"
    request = head("PUT", f"/api/projects/{project}/files/half.mov", {"Content-Length": "8000000"})
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(request + os.urandom(4_000_000))
        wait_until(lambda: temp_files(originals), 5, what="the upload to start writing")
    wait_until(lambda: not temp_files(live_server.root), what="the temp file to go")
    assert list(originals.iterdir()) == []
    with live_server.client() as http:
        assert http.get(f"/api/projects/{project}").json()["counts"]["files"] == 0


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
    project = project_on(small_server)
    before = tree(small_server.root)
    request = head(
        method,
        f"/api/projects/{project}/{path}",
        {"Content-Type": content_type, "Content-Length": str(50 << 30)},
    )
    with connect(small_server.port) as sock:
        assert send_all(sock, request)  # no body byte is sent: the answer cannot wait for one
        answer = read_answer(sock, timeout=10)
    assert answer.status == 413, answer
    assert answer.seconds < 5  # at once, not after a body that never comes
    body = answer.json()
    assert body["status_code"] == 413 and body["error"] == "PayloadTooLarge"
    assert "MEDIA_SYNC_MAX_UPLOAD_MB" in body["detail"]
    assert tree(small_server.root) == before


def limit_busting_body(boundary: str) -> Iterator[bytes]:
    """A 3 MiB multipart body in 64 KiB pieces, sent chunked (no Content-Length)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mov"\r\n'
        "Content-Type: video/quicktime\r\n\r\n"
    ).encode()
    for _ in range(48):
        yield os.urandom(64 * 1024)
    yield f"\r\n--{boundary}--\r\n".encode()


def test_bodies_over_the_limit_are_413_mid_stream_and_leave_nothing(
    small_server: LiveServer,
) -> None:
    """Chunked (no Content-Length: the limit is found while reading) and sized, multipart and
    raw: each is one 413 the client reads, then nothing is left and small uploads still work."""
    project = project_on(small_server)
    originals = small_server.root / project / "ingest/originals"
    with small_server.client() as http:
        chunked = http.post(
            f"/api/projects/{project}/upload",
            content=limit_busting_body("chunkedlimit"),
            headers={"Content-Type": "multipart/form-data; boundary=chunkedlimit"},
        )
        raw = http.put(
            f"/api/projects/{project}/files/big.mov",
            content=(os.urandom(64 * 1024) for _ in range(48)),
        )
        sized = http.post(
            f"/api/projects/{project}/upload", files={"file": ("big.mov", b"x" * (2 << 20))}
        )
    for response in (chunked, raw, sized):
        body = assert_error(response, 413, "PayloadTooLarge")
        assert "MEDIA_SYNC_MAX_UPLOAD_MB" in body["detail"]
    wait_until(lambda: not temp_files(small_server.root), 5, what="the temp files to go")
    assert list(originals.iterdir()) == []
    with small_server.client() as http:  # still serving, and a small upload still works
        ok = http.post(f"/api/projects/{project}/upload", files={"file": ("ok.mov", b"ok")})
        assert ok.status_code == 200 and ok.json()["status"] == "stored"


def test_unsupported_type_is_415_and_nothing_stays(live_server: LiveServer) -> None:
    project = project_on(live_server)
    with live_server.client() as http:
        response = http.post(
            f"/api/projects/{project}/upload", files={"file": ("notes.txt", b"hello" * 1000)}
        )
    body = assert_error(response, 415, "UnsupportedMediaType", extra={"accepted"})
    assert ".mov" in body["detail"] and ".heic" in body["detail"]
    assert list((live_server.root / project / "ingest" / "originals").iterdir()) == []


def test_phantom_duplicate_is_stored_again(live_server: LiveServer) -> None:
    project = project_on(live_server)
    data = os.urandom(50_000)
    with live_server.client() as http:
        first = http.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", data)})
        assert first.status_code == 200 and first.json()["status"] == "stored"
        (live_server.root / project / first.json()["path"]).unlink()
        again = http.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", data)})
        assert again.status_code == 200 and again.json()["status"] == "stored"
        assert again.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert (live_server.root / project / again.json()["path"]).read_bytes() == data


def send_raw(server: LiveServer, method: str, path: str) -> Answer:
    """``path`` exactly as written (httpx would fold ``../`` away before sending it), with a
    multipart ``file`` (POST) or raw bytes (PUT) as the body."""
    if method == "PUT":
        body, kind = b"evil bytes", "application/octet-stream"
    else:
        body = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.mov"\r\n\r\n'
            b"evil bytes\r\n--b--\r\n"
        )
        kind = "multipart/form-data; boundary=b"
    with connect(server.port) as sock:
        assert send_all(
            sock, head(method, path, {"Content-Type": kind, "Content-Length": str(len(body))})
        )
        assert send_all(sock, body)
        return read_answer(sock)


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("POST", "/api/projects/../upload", 400, "InvalidName"),
        ("POST", "/api/projects/%2e%2e/upload", 400, "InvalidName"),
        ("POST", "/api/projects/..%2f..%2fetc/upload", 404, "NotFoundException"),
        ("POST", "/api/projects/P1-Race%2f..%2f..%2fetc/upload", 404, "NotFoundException"),
        ("POST", "/api/projects/_sources/upload", 404, "ProjectNotFound"),
        ("POST", "/api/projects/P1-Race/upload?source=..%2fx", 404, "SourceNotFound"),
        ("PUT", "/api/projects/P1-Race/files/../../evil.mov", 404, "NotFoundException"),
        ("PUT", "/api/projects/P1-Race/files/..%2f..%2fevil.mov", 404, "NotFoundException"),
        ("PUT", "/api/projects/P1-Race/files/%2e%2e", 400, "InvalidName"),
    ],
)
def test_traversal_in_path_parameters_is_refused(
    quiet_server: LiveServer, method: str, path: str, status: int, error: str
) -> None:
    project_on(quiet_server)
    before = tree(quiet_server.root), sorted(os.listdir(quiet_server.root.parent))
    answer = send_raw(quiet_server, method, path)
    assert answer.status == status, answer
    body = answer.json()
    assert set(body) == ERROR_FIELDS and (body["status_code"], body["error"]) == (status, error)
    assert (tree(quiet_server.root), sorted(os.listdir(quiet_server.root.parent))) == before


def test_traversal_in_multipart_filename_stays_inside_the_project(live_server: LiveServer) -> None:
    project = project_on(live_server)
    with live_server.client() as http:
        response = http.post(
            f"/api/projects/{project}/upload", files={"file": ("../../../evil.mov", b"payload")}
        )
    assert response.status_code == 200, response.text
    assert response.json()["path"] == "ingest/originals/evil.mov"
    assert not (live_server.root.parent / "evil.mov").exists()
    assert not (live_server.root / "evil.mov").exists()
