"""The iPhone Shortcut of docs/shortcut.md, as the HTTP exchange it makes, run by a script
against a real `media-sync serve` with real clips: twice, and the second run sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_video
from tests.support.api import listing
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ALBUM = "Harbour walk"
PROJECT = "Harbour"
# What Photos knows of each clip: its name, and the creation date the Shortcut formats as ISO
# 8601 (the clip's own QuickTime creation date, in the phone's zone).
CLIPS = [
    ("IMG_4001.MOV", "2024-05-01T09:15:00+02:00"),
    ("IMG_4002.MOV", "2024-05-01T09:20:30+02:00"),
    ("IMG_4003.MP4", "2024-05-01T09:41:07+02:00"),
]


@dataclass
class Phone:
    """The clips a Shortcut picked, and what it sent."""

    clips: list[tuple[Path, str]]
    media_bytes_sent: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Phone:
    folder = tmp_path_factory.mktemp("camera-roll")
    clips = []
    for variant, (name, created) in enumerate(CLIPS):
        path = make_video(
            folder / name, apple_creation_date=created[:-3] + created[-2:], variant=variant
        )
        clips.append((path, created))
    return Phone(clips)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("shortcut")
    with serving(base / "projects", base / "state", args=["--no-watch"]) as live:
        yield live


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def run_shortcut(http: httpx.Client, phone: Phone) -> dict[str, Any]:
    """The Shortcut's actions, in order (docs/shortcut.md), each the request it sends."""
    projects = ok(http.get("/api/projects"))  # 1. list projects
    chosen = next((p for p in projects if p["name"].endswith(f"-{PROJECT}")), None)
    if chosen is None:  # 2. pick one, or create it
        made = http.post("/api/projects", json={"name": PROJECT, "notes": "Shortcut"})
        chosen = ok(made, 201)
    name = chosen["name"]
    session = ok(  # 3. (the videos were picked) start a session
        http.post(
            f"/api/projects/{name}/upload",
            params={"op": "start"},
            json={"album_name": ALBUM, "device": "iPhone", "note": "Shortcut sync"},
        )
    )
    items = [
        {"name": path.name, "size": path.stat().st_size, "captured_at": created}
        for path, created in phone.clips
    ]
    check = ok(http.post(session["precheck_url"], json={"items": items}))  # 4. pre-check
    uploads = []
    for (path, _created), answer in zip(phone.clips, check["items"], strict=True):
        if answer["decision"] != "upload":  # 5. send only what is needed
            continue
        data = path.read_bytes()
        phone.media_bytes_sent += len(data)
        uploads.append(ok(http.post(session["upload_url"], files={"file": (path.name, data)})))
    done = ok(http.post(session["finalize_url"]))  # 6. finalize
    return {"session": session, "check": check, "uploads": uploads, "done": done}


def test_the_shortcut_twice_sends_each_clip_once(server: LiveServer, phone: Phone) -> None:
    with server.client() as http:
        first = run_shortcut(http, phone)
        project = first["session"]["project"]
        assert [i["reason"] for i in first["check"]["items"]] == ["new"] * 3
        assert [u["status"] for u in first["uploads"]] == ["stored"] * 3
        assert first["done"]["counts"] == {
            "total": 3,
            "stored": 3,
            "duplicate": 0,
            "skipped": 0,
            "error": 0,
        }
        sent = phone.media_bytes_sent
        assert sent == sum(path.stat().st_size for path, _ in phone.clips)
        wait_until(  # the server reads each clip's capture time after storing it
            lambda: all(i["captured_from"] == "quicktime" for i in listing(http, project)),
            what="capture times read",
        )
        second = run_shortcut(http, phone)
        assert second["session"]["project"] == project  # picked, not made again
        assert phone.media_bytes_sent == sent  # the second run sent no media byte
        assert second["uploads"] == []
        assert [(i["decision"], i["reason"], i["path"]) for i in second["check"]["items"]] == [
            ("skip", "same_name_size_time", f"ingest/originals/{name}") for name, _ in CLIPS
        ]
        assert second["done"]["counts"] == {
            "total": 3,
            "stored": 0,
            "duplicate": 0,
            "skipped": 3,
            "error": 0,
        }
        events = (server.root / project / "_manifest" / "events.jsonl").read_text().splitlines()
        albums = [json.loads(e)["payload"]["counts"] for e in events if "sync-album" in e]
        assert albums == [first["done"]["counts"], second["done"]["counts"]]
