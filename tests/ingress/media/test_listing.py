"""The explorer listing: fields, filters, sorts, every item at once, and cursor pagination."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image

from daemon.catalog import Catalog, projects
from daemon.catalog.listing import BATCH
from daemon.settings import Settings


def _jpeg(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "JPEG")
    return buffer.getvalue()


def _create(client: TestClient[Any], name: str = "Shoot") -> str:
    response = client.post("/api/projects", json={"name": name})
    assert response.status_code == 201
    return str(response.json()["name"])


def test_listing_has_spec_fields_and_urls(client: TestClient[Any]) -> None:
    project = _create(client)
    client.post(f"/api/projects/{project}/upload", files={"file": ("a.jpg", _jpeg((1, 2, 3)))})
    client.post(f"/api/projects/{project}/upload", files={"file": ("b.mov", b"\0" * 1000)})
    response = client.get(f"/api/projects/{project}/media?sort=name&order=asc")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["project"], body["source"]) == (project, "primary")
    assert body["counts"] and body["instructions"]
    assert body["total"] == 2 and body["next_cursor"] is None
    assert "items" not in body
    first = body["media"][0]
    for key in (
        "relative_path",
        "sha256",
        "blake3",
        "size",
        "uploaded_at",
        "tags",
        "derived_tags",
        "name",
        "kind",
        "mime",
        "thumb_url",
        "stream_url",
        "download_url",
        "width",
        "height",
        "duration",
        "video_codec",
        "frame_rate",
        "audio_codec",
        "rotation",
        "captured_at",
        "captured_from",
        "meta_status",
        "meta_error",
    ):
        assert key in first
    assert first["relative_path"] == "ingest/originals/a.jpg"
    assert first["kind"] == "image" and first["name"] == "a.jpg"
    assert first["tags"] == [] and first["derived_tags"] == ["image", "jpg"]
    assert first["stream_url"].endswith(f"/media/{project}/ingest/originals/a.jpg")
    assert first["download_url"].endswith(f"/media/{project}/download/ingest/originals/a.jpg")
    assert first["thumb_url"].endswith(f"/thumbnails/{project}/{first['sha256']}.jpg")
    assert [i["kind"] for i in body["media"]] == ["image", "video"]
    assert body["media"][1]["derived_tags"] == ["mov", "video"]


def test_kind_filter_and_name_search(client: TestClient[Any]) -> None:
    project = _create(client)
    for i in range(3):
        client.post(
            f"/api/projects/{project}/upload",
            files={"file": (f"beach_{i}.jpg", _jpeg((80 * i, 40, 200)))},
        )
    client.post(f"/api/projects/{project}/upload", files={"file": ("city.mov", b"x" * 10)})
    videos = client.get(f"/api/projects/{project}/media?kind=video").json()
    assert [i["name"] for i in videos["media"]] == ["city.mov"]
    found = client.get(f"/api/projects/{project}/media?q=beach_1").json()
    assert [i["name"] for i in found["media"]] == ["beach_1.jpg"]
    # LIKE wildcards in the query are literal
    assert client.get(f"/api/projects/{project}/media?q=beach%25").json()["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        "kind=document",
        "sort=colour",
        "order=up",
        "limit=0",
        "limit=5000",
        "cursor=!!notbase64",
        "offset=-1",
    ],
)
def test_bad_listing_parameters_are_400(client: TestClient[Any], params: str) -> None:
    project = _create(client)
    response = client.get(f"/api/projects/{project}/media?{params}")
    assert response.status_code == 400, response.text
    assert "detail" in response.json()


def _bulk_rows(
    settings: Settings, project: str, count: int, catalog: Catalog | None = None
) -> list[str]:
    """Catalog rows for ``count`` files, written straight into sqlite (listing only reads rows)
    through ``catalog`` (the app's), or through a catalog of its own on the same file."""
    if catalog is None:
        own = Catalog.from_settings(settings)
        try:
            return _bulk_rows(settings, project, count, own)
        finally:
            own.close()
    m = catalog.models
    rng = random.Random(7)
    names = []
    contents, files = [], []
    for i in range(count):
        digest = hashlib.sha256(str(i).encode()).hexdigest()
        name = f"ingest/originals/clip_{i:05d}.mov"
        names.append(name)
        captured = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z"
        contents.append(
            {
                "blake3": digest,
                "sha256": digest,
                "size": i,
                "kind": "video",
                "captured_at": captured,
                "meta_status": "ok",
            }
        )
        files.append(
            {
                "source": "primary",
                "project": project,
                "rel_path": name,
                "size": i,
                "mtime_ns": 1,
                "inode": i,
                "content": digest,
                "origin": "drop",
                "uploaded_at": "2026-01-01T00:00:00Z",
            }
        )
    with catalog.write():
        projects.ensure(catalog, "primary", project)
        for start in range(0, count, 500):
            m.Content.insert_many(contents[start : start + 500]).on_conflict_ignore().execute()
            m.File.insert_many(files[start : start + 500]).execute()
    return names


@pytest.mark.parametrize("sort", ["captured", "name"])
def test_cursor_walk_over_ten_thousand_files(
    client: TestClient[Any], settings: Settings, sort: str
) -> None:
    project = _create(client)
    names = _bulk_rows(settings, project, 10_000)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = f"/api/projects/{project}/media?sort={sort}&limit=1000"
        if cursor:
            url += f"&cursor={cursor}"
        body = client.get(url).json()
        assert body["total"] == 10_000
        assert len(body["media"]) == 1000
        seen.extend(body["media"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(i["relative_path"] for i in seen) == sorted(names)
    assert len({i["relative_path"] for i in seen}) == 10_000
    keys = [i["captured_at"] if sort == "captured" else i["relative_path"] for i in seen]
    assert keys == sorted(keys, reverse=True)


def test_offset_pagination(client: TestClient[Any], settings: Settings) -> None:
    project = _create(client)
    _bulk_rows(settings, project, 50)
    page = client.get(f"/api/projects/{project}/media?sort=name&order=asc&limit=10&offset=20")
    assert page.status_code == 200, page.text
    names = [i["name"] for i in page.json()["media"]]
    assert names == [f"clip_{i:05d}.mov" for i in range(20, 30)]
    assert page.json()["total"] == 50 and page.json()["next_cursor"] is not None


def _every_item(client: TestClient[Any], url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["next_cursor"] is None
    assert body["total"] == len(body["media"])
    return body


def test_a_listing_without_paging_parameters_returns_every_item(
    client: TestClient[Any], settings: Settings
) -> None:
    project = _create(client)
    count = BATCH + 500  # more than one internal batch: the answer is streamed in two
    names = _bulk_rows(settings, project, count)
    body = _every_item(client, f"/api/projects/{project}/media?sort=name&order=asc")
    assert [i["relative_path"] for i in body["media"]] == sorted(names)
    assert body["total"] == count and body["project"] == project
    assert all(i["stream_url"] and i["thumb_url"] for i in body["media"])
    newest_first = _every_item(client, f"/api/projects/{project}/media")["media"]
    captured = [i["captured_at"] for i in newest_first]
    assert len(captured) == count and captured == sorted(captured, reverse=True)
    movs = _every_item(client, f"/api/projects/{project}/media?tag=mov")
    assert len({i["relative_path"] for i in movs["media"]}) == count
    assert _every_item(client, f"/api/projects/{project}/media?tag=image")["media"] == []


def test_tag_filters_by_derived_tags(client: TestClient[Any]) -> None:
    project = _create(client)
    uploads = {
        "a.jpg": _jpeg((1, 2, 3)),
        "b.mov": b"m" * 100,
        "c.mp4": b"p" * 100,
        "d.m4a": b"a" * 100,
    }
    for name, data in uploads.items():
        response = client.post(f"/api/projects/{project}/upload", files={"file": (name, data)})
        assert response.status_code == 200, response.text

    def tagged(tag: str) -> list[str]:
        url = f"/api/projects/{project}/media?sort=name&order=asc&tag={tag}"
        return [i["name"] for i in _every_item(client, url)["media"]]

    assert tagged("video") == ["b.mov", "c.mp4"]
    assert tagged("mov") == ["b.mov"]
    assert tagged("MOV") == ["b.mov"]  # tags are compared lower-cased
    assert tagged("image") == tagged("jpg") == ["a.jpg"]
    assert tagged("audio") == tagged("m4a") == ["d.m4a"]
    assert tagged("ov") == tagged("ingest") == tagged("originals") == []  # whole tags only
    assert tagged("") == ["a.jpg", "b.mov", "c.mp4", "d.m4a"]  # an empty tag filters nothing
    items = {i["name"]: i for i in _every_item(client, f"/api/projects/{project}/media")["media"]}
    assert items["d.m4a"]["derived_tags"] == ["audio", "m4a"]
    assert items["d.m4a"]["thumb_url"] is None and items["c.mp4"]["thumb_url"]
    paged = client.get(f"/api/projects/{project}/media?tag=video&limit=1").json()
    assert len(paged["media"]) == 1 and paged["total"] == 2 and paged["next_cursor"]


def test_listing_of_missing_project_is_404_and_creates_nothing(
    client: TestClient[Any], settings: Settings
) -> None:
    before = sorted(p.name for p in Path(settings.projects_root).iterdir())
    assert client.get("/api/projects/P9-Nope/media").status_code == 404
    assert sorted(p.name for p in Path(settings.projects_root).iterdir()) == before


def test_a_copy_dropped_beside_the_same_bytes_names_the_earlier_copy(
    client: TestClient[Any],
) -> None:
    project = _create(client)
    for name, color in (("a.jpg", (1, 1, 1)), ("b.jpg", (2, 2, 2))):
        response = client.post(
            f"/api/projects/{project}/upload", files={"file": (name, _jpeg(color))}
        )
        assert response.status_code == 200, response.text
    catalog = client.app.state.library.catalog
    File = catalog.models.File
    with catalog.write():  # what the drop pipeline records for a copy the project already held
        File.update(duplicate_of="ingest/originals/a.jpg").where(
            File.rel_path == "ingest/originals/b.jpg"
        ).execute()
    expected = {"ingest/originals/a.jpg": None, "ingest/originals/b.jpg": "ingest/originals/a.jpg"}
    for params in ("sort=name", "sort=name&limit=10"):
        body = client.get(f"/api/projects/{project}/media?{params}").json()
        assert {i["relative_path"]: i["duplicate_of"] for i in body["media"]} == expected
