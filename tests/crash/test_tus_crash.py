"""Crash suite for tus: `kill -9` a real server in the middle of a PATCH, again and again,
restart it on the same root and state, and resume: every acknowledged offset survives, bytes
never acknowledged are forgotten, nothing partial appears under `ingest/originals/`, and the
finished upload is committed exactly once with the right sha256."""

from __future__ import annotations

import hashlib
import random
import socket
import time
from pathlib import Path

import httpx

from tests.crash.test_crash import abandoned_temps, kill9
from tests.factories import make_video
from tests.support.server import LiveServer, start_server

TUS = {"Tus-Resumable": "1.0.0"}
STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}
KILLS = 5


def offset_of(server: LiveServer, path: str) -> int:
    response = httpx.head(f"{server.url}{path}", headers=TUS, timeout=30)
    assert response.status_code == 200, response.status_code
    return int(response.headers["upload-offset"])


def patch(server: LiveServer, path: str, offset: int, data: bytes) -> httpx.Response:
    return httpx.patch(
        f"{server.url}{path}",
        content=data,
        headers={**STREAM, "Upload-Offset": str(offset)},
        timeout=60,
    )


def killed_mid_patch(server: LiveServer, path: str, offset: int, rest: bytes, cut: int) -> None:
    """Send the headers and ``cut`` bytes of a PATCH carrying ``rest``, then kill -9 the server."""
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {len(rest)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + rest[:cut])
        time.sleep(0.05)  # the server is writing these bytes now
        kill9(server)


def test_kill_9_mid_patch_then_resume_commits_once(tmp_path: Path) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    data = make_video(
        tmp_path / "made" / "dive.mp4", size=(640, 360), seconds=3, moving=True, grain=0.5
    ).read_bytes()
    rng = random.Random(13)
    env = {"MEDIA_SYNC_WATCH": "off"}
    originals = root / "P1-Crash" / "ingest" / "originals"
    server = start_server(root, state, env=env)
    try:
        made = httpx.post(f"{server.url}/api/projects", json={"name": "Crash"}, timeout=30)
        assert made.status_code == 201 and made.json()["name"] == "P1-Crash"
        created = httpx.post(
            f"{server.url}/api/projects/P1-Crash/uploads",
            headers={
                **TUS,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": "filename ZGl2ZS5tcDQ=",
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        path = httpx.URL(created.headers["location"]).raw_path.decode()
        acknowledged = 0
        for _ in range(KILLS):
            step = rng.randrange(len(data) // 20, len(data) // 10)
            sent = patch(server, path, acknowledged, data[acknowledged : acknowledged + step])
            assert sent.status_code == 204, sent.text
            acknowledged += step
            assert int(sent.headers["upload-offset"]) == acknowledged
            rest = data[acknowledged:]
            killed_mid_patch(server, path, acknowledged, rest, rng.randrange(1, len(rest) // 2))
            assert sorted(originals.iterdir()) == []  # nothing partial where files live
            server = start_server(root, state, env=env)
            assert offset_of(server, path) == acknowledged  # what was acknowledged survived
            assert abandoned_temps(root) == []
        done = patch(server, path, acknowledged, data[acknowledged:])
        assert done.status_code == 204, done.text
        assert done.headers["x-media-sync-status"] == "stored"
        [stored] = sorted(originals.iterdir())
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
        again = patch(server, path, len(data), b"")
        assert again.status_code == 409
    finally:
        server.stop()
    server = start_server(root, state, env=env)  # once more: committed once, still there
    try:
        state_now = httpx.get(f"{server.url}{path}", timeout=30).json()
        assert state_now["result"]["status"] == "stored"
        assert state_now["result"]["sha256"] == hashlib.sha256(data).hexdigest()
        listed = httpx.get(f"{server.url}/api/projects/P1-Crash/media", timeout=30).json()["media"]
        assert [item["relative_path"] for item in listed] == ["ingest/originals/dive.mp4"]
        assert sorted(p.name for p in originals.iterdir()) == ["dive.mp4"]
    finally:
        server.stop()
