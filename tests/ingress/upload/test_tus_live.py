"""tus against a real `media-sync serve`: the `tuspy` client interrupted (server stopped,
connection cut) and resumed, and 413/415 answered at creation before any byte is sent."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError

from tests.factories import make_video
from tests.support.api import create_project
from tests.support.rawhttp import connect, head, read_answer
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = 256 * 1024


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A real H.264 clip of about 2 MB (several tus chunks)."""
    path = make_video(
        tmp_path / "made" / "beach.mp4", size=(640, 360), seconds=2, moving=True, grain=0.5
    )
    assert path.stat().st_size > 4 * CHUNK
    return path


@pytest.fixture
def server(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    with serving(*roots, args=["--no-watch"], env={"MEDIA_SYNC_MAX_UPLOAD_MB": "10"}) as live:
        yield live


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def originals(server: LiveServer, project: str) -> list[Path]:
    return sorted((server.root / project / "ingest" / "originals").iterdir())


def head_offset(url: str) -> int:
    response = httpx.head(url, headers=TUS, timeout=10)
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


def test_tuspy_resumes_after_the_server_was_stopped_mid_upload(
    roots: tuple[Path, Path], clip: Path
) -> None:
    with clip.open("rb") as stream:  # tuspy leaves a file it opened itself open
        stopped_and_resumed(roots, clip, stream)


def stopped_and_resumed(roots: tuple[Path, Path], clip: Path, stream: BinaryIO) -> None:
    with serving(*roots, args=["--no-watch"]) as first:
        with first.client() as http:
            project = create_project(http, "Beach")
        client = TusClient(f"{first.url}/api/projects/{project}/uploads")
        uploader = client.uploader(
            file_stream=stream, chunk_size=CHUNK, metadata={"filename": clip.name}, retries=0
        )
        uploader.upload_checksum = True  # sha1 of every PATCH, checked by the server
        for _ in range(3):
            uploader.upload_chunk()
        assert uploader.offset == 3 * CHUNK
        url = str(uploader.url)
    assert originals(first, project) == []  # stopped mid-upload: nothing partial placed
    with pytest.raises(TusCommunicationError):
        uploader.upload_chunk()  # the server is gone
    with serving(*roots, args=["--no-watch"]) as second:
        moved = url.replace(first.url, second.url)
        assert moved != url
        resumed = TusClient(f"{second.url}/api/projects/{project}/uploads").uploader(
            file_stream=stream, url=moved, chunk_size=CHUNK, retries=0
        )
        assert resumed.offset == 3 * CHUNK  # asked the new server (HEAD)
        resumed.upload()
        assert resumed.request.response_headers["x-media-sync-status"] == "stored"
        [stored] = originals(second, project)
        assert sha(stored.read_bytes()) == sha(clip.read_bytes())
        state = httpx.get(moved, timeout=10).json()
        assert state["result"]["sha256"] == sha(clip.read_bytes())


def test_tuspy_resumes_after_the_connection_was_cut_mid_patch(
    server: LiveServer, clip: Path
) -> None:
    with server.client() as http:
        project = create_project(http, "Cut")
    data = clip.read_bytes()
    client = TusClient(f"{server.url}/api/projects/{project}/uploads")
    stream = io.BytesIO(data)
    uploader = client.uploader(
        file_stream=stream, chunk_size=len(data), metadata={"filename": clip.name}, retries=0
    )
    url = uploader.create_url()
    path = httpx.URL(url).raw_path.decode()
    sent = len(data) // 3
    with connect(server.port) as sock:
        headers = {
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            "Content-Length": str(len(data)),
        }
        sock.sendall(head("PATCH", path, headers) + data[:sent])
    # The client went away: what arrived is kept (made durable), the rest is resumed.
    wait_until(lambda: head_offset(url) == sent, what=f"offset {sent} after the cut")
    assert originals(server, project) == []
    resumed = client.uploader(file_stream=stream, url=url, chunk_size=CHUNK, retries=0)
    assert resumed.offset == sent
    resumed.upload()
    assert resumed.request.response_headers["x-media-sync-status"] == "stored"
    [stored] = originals(server, project)
    assert sha(stored.read_bytes()) == sha(data)


@pytest.mark.parametrize(
    ("length", "name", "status"),
    [(11 * 1024 * 1024, "big.mp4", 413), (1000, "notes.txt", 415)],
)
def test_creation_refuses_before_any_byte_is_sent(
    server: LiveServer, length: int, name: str, status: int
) -> None:
    with server.client() as http:
        project = create_project(http, "Early")
    encoded = base64.b64encode(name.encode()).decode()
    with connect(server.port) as sock:
        headers = {
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": f"filename {encoded}",
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
        }
        sock.sendall(head("POST", f"/api/projects/{project}/uploads", headers))
        answer = read_answer(sock)  # only the headers went out: the answer comes anyway
    assert answer.status == status
    assert answer.json()["status_code"] == status
    assert not (server.root / project / "_manifest" / "uploads").exists()


def test_a_stalled_patch_is_dropped_with_408_and_keeps_what_arrived(
    roots: tuple[Path, Path], clip: Path
) -> None:
    data = clip.read_bytes()
    with serving(*roots, args=["--no-watch"], env={"MEDIA_SYNC_BODY_TIMEOUT_SECONDS": "1"}) as live:
        with live.client() as http:
            project = create_project(http, "Stall")
        url = (
            TusClient(f"{live.url}/api/projects/{project}/uploads")
            .uploader(file_stream=io.BytesIO(data), metadata={"filename": clip.name})
            .create_url()
        )
        sent = len(data) // 4
        with connect(live.port) as sock:
            headers = {
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": "0",
                "Content-Length": str(len(data)),
            }
            sock.sendall(head("PATCH", httpx.URL(url).raw_path.decode(), headers) + data[:sent])
            answer = read_answer(sock)  # then silence: the body timeout ends the request
        assert answer.status == 408
        wait_until(lambda: head_offset(url) == sent, what=f"offset {sent} after the 408")
        assert originals(live, project) == []
