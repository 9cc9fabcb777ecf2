"""Two real `media-sync serve` replicas on one PostgreSQL catalog and one projects root (as in
deploy/compose.scaled.yml): racing identical uploads store one file, every thumbnail is made
once, each Resolve job is claimed once, and one replica's upload is in the other's live feed."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from daemon.catalog import Catalog
from tests.factories import jpeg_bytes
from tests.support.api import create_project, upload_bytes
from tests.support.files import temp_files
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ENV = {"MEDIA_SYNC_THUMBNAIL_WORKERS": "2", "MEDIA_SYNC_WATCH": "off"}


@pytest.fixture
def engine() -> str:
    return "postgresql"


@pytest.fixture
def pair(roots: tuple[Path, Path]) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Replicas A and B: one root, one state dir (its lock files), one PostgreSQL database."""
    root, state = roots
    first = start_server(root, state, env=ENV)
    try:
        second = start_server(root, state, env=ENV)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def test_racing_identical_uploads_through_two_replicas_store_one_file(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    with pair[0].client() as http:
        project = create_project(http, "Race")
    data = os.urandom(400_000)
    start = threading.Barrier(20)

    def send(index: int) -> tuple[int, str]:
        with pair[index % 2].client() as http:
            start.wait(30)
            response = http.post(
                f"/api/projects/{project}/upload", files={"file": ("race.mov", data)}
            )
        return response.status_code, response.json().get("status", response.text)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    assert sorted(answers) == [(200, "duplicate")] * 19 + [(200, "stored")]
    originals = pair[0].root / project / "ingest" / "originals"
    stored = list(originals.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == data
    for server in pair:
        with server.client() as http:
            counts = http.get(f"/api/projects/{project}").json()["counts"]
        assert counts["duplicates_skipped"] == 19 and counts["files"] == 1
    assert temp_files(pair[0].root) == []


def _events_of(url: str, kind: str) -> dict[str, int]:
    """How often each sha256's thumbnail was made (``kind`` "thumbnail") or its metadata read
    ("metadata"), from the catalog's events (written by any replica)."""
    catalog = Catalog.open(url)
    try:
        Event = catalog.models.Event
        made: dict[str, int] = {}
        for (data,) in Event.select(Event.data).where(Event.type == kind).tuples():
            sha = json.loads(data)["sha256"]
            made[sha] = made.get(sha, 0) + 1
        return made
    finally:
        catalog.close()


def test_two_hundred_thumbnails_are_made_once_each(
    pair: tuple[LiveServer, LiveServer], database_url: str
) -> None:
    """Each upload's replica makes its thumbnail in the background while the other replica
    is asked for it at once: one of them decodes, the other serves that file."""
    with pair[0].client() as http:
        project = create_project(http, "Thumbs")
    pictures = [jpeg_bytes((96, 72), variant=index + 1) for index in range(200)]
    shas = [hashlib.sha256(picture).hexdigest() for picture in pictures]
    assert len(set(shas)) == 200

    def send(index: int) -> int:
        uploader, asker = pair[index % 2], pair[(index + 1) % 2]
        with uploader.client() as up, asker.client() as ask:
            upload_bytes(up, project, f"still-{index:03d}.jpg", pictures[index], "image/jpeg")
            response = ask.get(f"/thumbnails/{project}/{shas[index]}.jpg")
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(send, range(200)))
    assert codes == [200] * 200
    folder = pair[0].root / project / "ingest" / "thumbnails"
    wait_until(
        lambda: len(list(folder.glob("*.jpg"))) == 200,
        60,
        what="200 thumbnails on disk",
        detail=lambda: len(list(folder.glob("*.jpg"))),
    )
    assert sorted(p.stem for p in folder.glob("*.jpg")) == sorted(shas)
    made = wait_until(
        lambda: (m := _events_of(database_url, "thumbnail")) and len(m) == 200 and m, 30
    )
    assert made == dict.fromkeys(shas, 1)
    read = wait_until(
        lambda: (m := _events_of(database_url, "metadata")) and len(m) == 200 and m, 30
    )
    assert read == dict.fromkeys(shas, 1)


def _jobs(server: LiveServer, count: int) -> list[int]:
    with server.client() as http:
        project = create_project(http, "Jobs")
        clip = server.root / project / "ingest" / "originals" / "clip.mov"
        clip.write_bytes(b"a clip")
        ids = []
        for _ in range(count):
            body = {"project": project, "media_rel_paths": ["ingest/originals/clip.mov"]}
            response = http.post("/api/resolve/open", json={**body, "mode": "import"})
            assert response.status_code == 200, response.text
            ids.append(response.json()["job_id"])
    return ids


def test_agents_claiming_through_both_replicas_get_each_job_once(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    ids = _jobs(pair[0], 40)
    start = threading.Barrier(8)

    def agent(index: int) -> list[int]:
        got: list[int] = []
        with pair[index % 2].client() as http:
            start.wait(30)
            for _ in range(40):  # bounded: every round claims one at least, until none is left
                response = http.post(
                    "/api/resolve/jobs/next", params={"limit": 2, "claimed_by": f"agent-{index}"}
                )
                assert response.status_code == 200, response.text
                jobs = response.json()["jobs"]
                if not jobs:
                    break
                got += [job["id"] for job in jobs]
        return got

    with ThreadPoolExecutor(8) as pool:
        claimed = [job for batch in pool.map(agent, range(8)) for job in batch]
    assert sorted(claimed) == sorted(ids)


def _events(server: LiveServer, found: list[dict[str, Any]], opened: threading.Event) -> None:
    """Read the replica's live feed into ``found`` until a `stored` event (at most 60 s)."""
    deadline = time.monotonic() + 60
    with (
        httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=20)) as http,
        http.stream("GET", "/api/events") as stream,
    ):
        event = None
        for line in stream.iter_lines():
            opened.set()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event is not None:
                found.append({"event": event, **json.loads(line.split(":", 1)[1])})
                if event == "stored":
                    return
            if time.monotonic() > deadline:
                return


def test_an_upload_on_one_replica_is_in_the_other_replicas_live_feed(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    first, second = pair
    with first.client() as http:
        project = create_project(http, "Live")
    found: list[dict[str, Any]] = []
    opened = threading.Event()
    reader = threading.Thread(target=_events, args=(second, found, opened))
    reader.start()
    try:
        assert opened.wait(30), "the live feed did not open"
        with first.client() as http:
            body = upload_bytes(http, project, "live.mov", b"live bytes" * 1000)
    finally:
        reader.join(90)
    assert not reader.is_alive()
    stored = [event for event in found if event["event"] == "stored"]
    assert [(e["project"], e["relative_path"], e["sha256"]) for e in stored] == [
        (project, body["path"], body["sha256"])
    ]
