"""The whole listing of a large project is kept per catalog generation and never served stale."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.catalog import contents, files
from daemon.catalog.listing import BATCH
from daemon.settings import Settings
from ingress.listanswer import MIN_CACHED
from tests.ingress.media.test_listing import _bulk_rows, _create, _jpeg
from tests.support.server import serving

COUNT = max(MIN_CACHED, BATCH) + 300


def answers(settings: Settings) -> list[str]:
    folder = settings.state_dir / "answers"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def listing(client: TestClient[Any], project: str, host: str = "testserver.local") -> Any:
    response = client.get(f"/api/projects/{project}/media", headers={"Host": host})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_large_listing_is_served_again_from_its_answer(
    client: TestClient[Any], settings: Settings
) -> None:
    project = _create(client)
    _bulk_rows(settings, project, COUNT)
    first = listing(client, project)
    assert len(answers(settings)) == 1 and answers(settings)[0].endswith(".listing")
    again = listing(client, project)
    assert again == first
    assert len(again["media"]) == again["total"] == COUNT
    assert again["counts"]["videos"] == COUNT and again["next_cursor"] is None
    other_host = listing(client, project, host="192.168.0.25:8787")
    assert other_host["media"][0]["stream_url"].startswith("http://192.168.0.25:8787/media/")
    assert [i["relative_path"] for i in other_host["media"]] == [
        i["relative_path"] for i in first["media"]
    ]


def test_every_change_to_the_project_shows_at_once(
    client: TestClient[Any], settings: Settings
) -> None:
    project = _create(client)
    names = _bulk_rows(settings, project, COUNT, client.app.state.library.catalog)
    listing(client, project)
    stored = client.post(
        f"/api/projects/{project}/upload", files={"file": ("new.jpg", _jpeg((9, 9, 9)))}
    )
    assert stored.status_code == 200, stored.text
    after_upload = listing(client, project)
    assert after_upload["total"] == COUNT + 1
    assert "ingest/originals/new.jpg" in {i["relative_path"] for i in after_upload["media"]}
    catalog = client.app.state.library.catalog
    target = names[7]
    row = files.find(catalog, "primary", project, target)
    assert row is not None
    with catalog.write():  # what the metadata worker does: a content row changes
        contents.record_metadata(catalog, row.blake3, {"width": 1234})
    widths = {i["relative_path"]: i["width"] for i in listing(client, project)["media"]}
    assert widths[target] == 1234
    tagged = client.post(
        f"/api/projects/{project}/media/tags",
        json={"relative_paths": [target], "add_tags": ["Hero"]},
    )
    assert tagged.status_code == 200, tagged.text
    tags = {i["relative_path"]: i["tags"] for i in listing(client, project)["media"]}
    assert tags[target] == ["hero"]
    assert len(answers(settings)) == 1  # older generations are dropped


def test_filtered_and_small_listings_leave_no_answer(
    client: TestClient[Any], settings: Settings
) -> None:
    small = _create(client, "Small")
    _bulk_rows(settings, small, 10, client.app.state.library.catalog)
    assert len(listing(client, small)["media"]) == 10
    big = _create(client, "Big")
    _bulk_rows(settings, big, COUNT)
    filtered = client.get(f"/api/projects/{big}/media?kind=video").json()
    assert filtered["total"] == COUNT
    assert answers(settings) == []


def test_a_client_that_leaves_mid_answer_leaves_no_partial_answer(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    with serving(root, state, args=["--no-watch"]) as server:
        with server.client() as http:
            project = http.post("/api/projects", json={"name": "Big"}).json()["name"]
        settings = Settings.from_env(
            {"MEDIA_SYNC_PROJECTS_ROOT": str(root), "MEDIA_SYNC_STATE_DIR": str(state)}
        )
        _bulk_rows(settings, project, COUNT * 4)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                f"GET /api/projects/{project}/media HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and (state / "answers").is_dir()
            and any(p.name.endswith(".part") for p in (state / "answers").iterdir())
        ):
            time.sleep(0.1)
        assert [n for n in answers(settings) if not n.endswith(".listing")] == []
        with server.client() as http:
            whole = http.get(f"/api/projects/{project}/media").json()
        assert whole["total"] == len(whole["media"]) == COUNT * 4
        assert len(answers(settings)) == 1


def test_answers_are_named_by_the_catalog_they_came_from(
    client: TestClient[Any], settings: Settings
) -> None:
    project = _create(client)
    _bulk_rows(settings, project, COUNT)
    listing(client, project)
    catalog = client.app.state.library.catalog
    Meta = catalog.models.Meta
    before = Meta.select(Meta.value).where(Meta.key == "catalog_id").tuples().first()
    assert before is not None and len(before[0]) == 16
    names = answers(settings)
    assert names and before[0] in names[0]
