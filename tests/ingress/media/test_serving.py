"""Serving media over a real server: only indexed media inside the project, never anything else."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer


def _project_with_clip(server: LiveServer) -> tuple[str, bytes]:
    with server.client() as http:
        name = http.post("/api/projects", json={"name": "Serve"}).json()["name"]
        body = os.urandom(300_000)
        response = http.post(f"/api/projects/{name}/upload", files={"file": ("clip.mp4", body)})
        assert response.json()["status"] == "stored"
    return name, body


@pytest.mark.e2e
def test_stream_and_download_serve_exact_bytes(live_server: LiveServer) -> None:
    project, body = _project_with_clip(live_server)
    with live_server.client() as http:
        full = http.get(f"/media/{project}/ingest/originals/clip.mp4")
        assert full.status_code == 200 and full.content == body
        assert full.headers["content-type"] == "video/mp4"
        assert full.headers["accept-ranges"] == "bytes"
        part = http.get(
            f"/media/{project}/ingest/originals/clip.mp4", headers={"Range": "bytes=1000-1999"}
        )
        assert part.status_code == 206 and part.content == body[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(body)}"
        again = http.get(
            f"/media/{project}/ingest/originals/clip.mp4",
            headers={"If-None-Match": full.headers["etag"]},
        )
        assert again.status_code == 304
        head = http.head(f"/media/{project}/ingest/originals/clip.mp4")
        assert head.status_code == 200 and head.headers["content-length"] == str(len(body))
        down = http.get(f"/media/{project}/download/ingest/originals/clip.mp4")
        assert down.content == body
        assert down.headers["content-disposition"].startswith('attachment; filename="clip.mp4"')


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("index.json", 404),  # not media: as if absent
        ("_manifest/files.jsonl", 404),
        ("ingest/originals/notes.txt", 404),
        ("ingest/originals/unindexed.mov", 404),
        ("ingest/originals/../index.json", 404),  # the client folds '..' away: ingest/index.json
        ("ingest/originals/%2e%2e/index.json", 400),  # an unsafe path is a bad request
        ("..%2F..%2Fstate%2Fcatalog.sqlite3", 400),
        ("ingest/originals/escape.mov", 400),  # a symlink out of the project
    ],
)
def test_refused_paths_stay_refused(live_server: LiveServer, path: str, status: int) -> None:
    project, _ = _project_with_clip(live_server)
    originals = live_server.root / project / "ingest" / "originals"
    (originals / "notes.txt").write_text("secret")
    (originals / "unindexed.mov").write_bytes(b"not in the catalog")
    secret = live_server.root.parent / "outside.mov"
    secret.write_bytes(b"TOPSECRET-BYTES")
    (originals / "escape.mov").symlink_to(secret)
    with live_server.client() as http:
        for prefix in ("/media", "/media/{p}/download"):
            url = (
                (prefix.replace("{p}", project) if "{p}" in prefix else f"{prefix}/{project}")
                + "/"
                + path
            )
            response = http.get(url)
            assert response.status_code == status, (url, response.status_code)
            assert b"secret" not in response.content and b"TOPSECRET" not in response.content
            assert "detail" in response.json()


@pytest.mark.e2e
def test_indexed_file_replaced_by_symlink_is_refused(live_server: LiveServer) -> None:
    project, _ = _project_with_clip(live_server)
    clip = live_server.root / project / "ingest" / "originals" / "clip.mp4"
    outside = live_server.root.parent / "passwd.mp4"
    outside.write_bytes(b"TOPSECRET-BYTES")
    clip.unlink()
    clip.symlink_to(outside)
    with live_server.client() as http:
        response = http.get(f"/media/{project}/ingest/originals/clip.mp4")
    assert response.status_code == 400
    assert response.json()["error"] == "UnsafePath"
    assert b"TOPSECRET" not in response.content


@pytest.mark.e2e
def test_events_stream_reports_uploads(live_server: LiveServer) -> None:
    with live_server.client() as http:
        project = http.post("/api/projects", json={"name": "Live"}).json()["name"]
    received: list[dict[str, object]] = []
    ready = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=live_server.url, timeout=15) as http,
            http.stream("GET", "/api/events") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in response.iter_lines():
                ready.set()
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "stored":
                    received.append(json.loads(line.split(":", 1)[1]))
                    return

    thread = threading.Thread(target=listen)
    thread.start()
    assert ready.wait(10)
    with live_server.client() as http:
        http.post(f"/api/projects/{project}/upload", files={"file": ("live.mov", b"abc" * 100)})
    thread.join(15)
    assert not thread.is_alive()
    assert received and received[0]["project"] == project
    assert received[0]["relative_path"] == "ingest/originals/live.mov"


def test_events_resume_after_last_event_id(client: object, tmp_path: Path) -> None:
    """The SSE generator yields stored events after a given id (Last-Event-ID resume)."""
    from litestar.testing import TestClient

    from ingress.routes.events import _events_after

    assert isinstance(client, TestClient)
    project = client.post("/api/projects", json={"name": "Resume"}).json()["name"]
    client.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", b"1" * 10)})
    client.post(f"/api/projects/{project}/upload", files={"file": ("b.mov", b"2" * 10)})
    catalog = client.app.state.library.catalog
    events = [e for e in _events_after(catalog, 0, project) if e["type"] == "stored"]
    assert [e["relative_path"] for e in events] == [
        "ingest/originals/a.mov",
        "ingest/originals/b.mov",
    ]
    later = _events_after(catalog, int(str(events[0]["id"])), project)
    assert [e["relative_path"] for e in later if e["type"] == "stored"] == [
        "ingest/originals/b.mov"
    ]
