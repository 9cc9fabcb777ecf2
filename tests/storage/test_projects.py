"""Projects over the in-process client: naming, refusals, idempotent create, listing, 404s."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from daemon.storage.projects import create_project
from daemon.storage.sources import Source
from tests.support.api import assert_error
from tests.support.files import tree

Client = TestClient[Any]


def project_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def test_new_project_gets_numbered_name_and_layout(client: Client, settings: Settings) -> None:
    first = client.post("/api/projects", json={"name": "New Project"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["name"] == "P1-New-Project"
    assert body["created"] is True
    for key in ("upload_url", "source", "source_accessible", "index_exists", "instructions"):
        assert key in body, key
    assert body["source"] == "primary"
    assert body["source_accessible"] is True
    assert body["index_exists"] is True
    assert body["upload_url"].endswith("/api/projects/P1-New-Project/upload")
    folder = settings.projects_root / "P1-New-Project"
    for sub in ("ingest/originals", "ingest/thumbnails", "_manifest"):
        assert (folder / sub).is_dir(), sub
    index = json.loads((folder / "index.json").read_text())
    assert index["files"] == []
    assert index["counts"]["videos"] == 0
    second = client.post("/api/projects", json={"name": "Second"})
    assert second.status_code == 201
    assert second.json()["name"] == "P2-Second"


def test_numbering_continues_above_highest_on_disk(client: Client, settings: Settings) -> None:
    (settings.projects_root / "P7-x").mkdir()
    (settings.projects_root / "P3-y").mkdir()
    response = client.post("/api/projects", json={"name": "next"})
    assert response.status_code == 201
    assert response.json()["name"] == "P8-next"


@pytest.mark.parametrize("name", [".", "..", "a/b", "a\\b", "bad\x01name", "x:y"])
def test_refused_names_create_nothing(client: Client, settings: Settings, name: str) -> None:
    before = tree(settings.projects_root)
    body = assert_error(client.post("/api/projects", json={"name": name}), 400, "InvalidName")
    assert repr(name) in body["detail"]
    assert tree(settings.projects_root) == before


@pytest.mark.parametrize("name", ["", "   "])
def test_a_blank_name_is_missing_and_creates_nothing(
    client: Client, settings: Settings, name: str
) -> None:
    before = tree(settings.projects_root)
    body = assert_error(client.post("/api/projects", json={"name": name}), 400, "InvalidInput")
    assert "'name' is required" in body["detail"]
    assert tree(settings.projects_root) == before


@pytest.mark.parametrize("again", ["P1-Trip", "Trip", "trip", "  TRIP "])
def test_existing_name_or_label_returns_it(client: Client, settings: Settings, again: str) -> None:
    assert client.post("/api/projects", json={"name": "Trip"}).status_code == 201
    response = client.post("/api/projects", json={"name": again})
    assert response.status_code == 201, response.text  # the original's answer for both
    assert response.json()["created"] is False
    assert response.json()["name"] == "P1-Trip"
    assert project_dirs(settings.projects_root) == ["P1-Trip"]


def test_twenty_concurrent_creates_make_one_folder(settings: Settings) -> None:
    settings.projects_root.mkdir(parents=True, exist_ok=True)
    source = Source("primary", settings.projects_root)
    barrier = threading.Barrier(20)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            barrier.wait(10)
            ref, created = create_project(settings, source, "Race Day")
            results.append((ref.name, created))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert project_dirs(settings.projects_root) == ["P1-Race-Day"]
    assert sorted(created for _, created in results) == [False] * 19 + [True]
    assert {name for name, _ in results} == {"P1-Race-Day"}


NOT_PROJECTS = [
    "_sources",
    ".hidden",
    "@eaDir",
    "#recycle",
    "#snapshot",
    ".Trash-1000",
    "random-folder",
    "P-nolabel",
    "P0-zero",
]


def test_only_project_folders_are_listed(client: Client, settings: Settings) -> None:
    for name in NOT_PROJECTS:
        (settings.projects_root / name).mkdir(exist_ok=True)
    (settings.projects_root / "P2-Real").mkdir()
    (settings.projects_root / "Unsorted-Loose").mkdir()
    (settings.projects_root / "P5-a-file.txt").write_text("not a folder")
    response = client.get("/api/projects")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == ["Unsorted-Loose", "P2-Real"]
    for name in NOT_PROJECTS:
        assert client.get(f"/api/projects/{quote(name)}").status_code == 404, name


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "/api/projects/P9-Missing", "ProjectNotFound"),
        ("POST", "/api/projects/P9-Missing/upload", "ProjectNotFound"),
        ("PUT", "/api/projects/P9-Missing/files/clip.mov", "ProjectNotFound"),
        ("POST", "/api/projects/P9-Missing/sync-album", "ProjectNotFound"),
        ("GET", "/api/projects/P9-Missing/media", "ProjectNotFound"),
        ("GET", "/api/projects/random-folder", "ProjectNotFound"),
        ("GET", "/api/projects/P1-Here?source=nosuch", "SourceNotFound"),
    ],
)
def test_missing_project_is_404_and_creates_nothing(
    client: Client, settings: Settings, method: str, path: str, error: str
) -> None:
    (settings.projects_root / "random-folder").mkdir()
    (settings.projects_root / "P1-Here").mkdir()
    before = tree(settings.projects_root)
    if method == "POST" and path.endswith("/upload"):
        response = client.post(path, files={"file": ("clip.mov", b"\x00" * 100, "video/quicktime")})
    elif method == "POST":
        response = client.post(path, json={"album_name": "x"})
    elif method == "PUT":
        response = client.put(path, content=b"\x00" * 100)
    else:
        response = client.get(path)
    assert_error(response, 404, error)
    assert tree(settings.projects_root) == before


def test_a_stray_file_with_the_next_name_is_skipped(client: Client, settings: Settings) -> None:
    (settings.projects_root / "P1-Trip").write_text("a file someone left, not a project")
    response = client.post("/api/projects", json={"name": "Trip"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "P2-Trip"
    assert (settings.projects_root / "P1-Trip").read_text().startswith("a file")
    assert (settings.projects_root / "P2-Trip/ingest/originals").is_dir()
