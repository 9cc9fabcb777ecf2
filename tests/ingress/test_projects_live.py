"""Projects against a real `media-sync serve`: racing creates make one folder, and every
project endpoint takes `?source=`. Uploads over a real server live in `tests/ingress/upload/`."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e


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
