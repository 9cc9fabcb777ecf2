"""A thumbnail that cannot be made is remembered: not decoded again until the file changes or a
request asks for a retry; reasons name the listed file only, never another copy or a path."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.catalog import SCHEMA_VERSION, Catalog, contents
from daemon.media.previews import Previews
from tests.factories import jpeg_bytes, load_image
from tests.support.api import create_project, upload_bytes

BROKEN = b"this is no picture at all, only words " * 64


def _wait(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _item(client: TestClient[Any], project: str) -> dict[str, Any]:
    item: dict[str, Any] = client.get(f"/api/projects/{project}/media").json()["media"][0]
    return item


def test_failed_thumbnail_is_decoded_once_then_retried_on_request_or_change(
    client: TestClient[Any], settings: Any
) -> None:
    previews: Previews = client.app.state.previews
    catalog = previews.lib.catalog
    project = create_project(client, "Broken")
    sha = upload_bytes(client, project, "broken.jpg", BROKEN)["sha256"]
    # the background pool tries once as the file arrives, and remembers why it failed
    _wait(lambda: contents.thumbnail_failure(catalog, sha) is not None, "the failure record")
    assert previews.stats()["thumbnail_decodes"] == 1
    url = f"/thumbnails/{project}/{sha}.jpg"
    for _ in range(5):
        response = client.get(url)
        assert response.status_code == 404
        body = response.json()
        assert body["error"] == "MediaNotFound"
        assert body["detail"].startswith("no thumbnail for broken.jpg: cannot decode image")
        assert "broken.jpg" not in body["thumbnail_error"]
        assert str(settings.projects_root) not in response.text
    assert previews.stats()["thumbnail_decodes"] == 1  # five GETs, no decode

    retried = client.get(url, params={"retry": "1"})
    assert retried.status_code == 404
    assert previews.stats()["thumbnail_decodes"] == 2
    assert client.get(url).status_code == 404
    assert previews.stats()["thumbnail_decodes"] == 2

    # the file changes (fixed in place): the next GET decodes it again, and succeeds
    original = settings.projects_root / project / "ingest" / "originals" / "broken.jpg"
    original.write_bytes(jpeg_bytes((900, 600)))
    fixed = client.get(url)
    assert fixed.status_code == 200, fixed.text
    assert previews.stats()["thumbnail_decodes"] == 3
    assert max(load_image(io.BytesIO(fixed.content)).size) == 640
    assert contents.thumbnail_failure(catalog, sha) is None


def test_meta_error_names_each_copy_itself_and_no_server_path(
    client: TestClient[Any], settings: Any
) -> None:
    first, second = create_project(client, "Copies A"), create_project(client, "Copies B")
    sha = upload_bytes(client, first, "one.jpg", BROKEN)["sha256"]
    assert upload_bytes(client, second, "two.jpg", BROKEN)["sha256"] == sha
    for project in (first, second):

        def read(p: str = project) -> bool:
            return bool(_item(client, p)["meta_status"] == "error")

        _wait(read, "metadata")
    one, two = _item(client, first)["meta_error"], _item(client, second)["meta_error"]
    assert one.startswith("one.jpg: not a readable image") and "two.jpg" not in one
    assert two.startswith("two.jpg: not a readable image") and "one.jpg" not in two
    for text in (one, two):
        assert "/" not in text and str(settings.projects_root) not in text
    answer = client.get(f"/thumbnails/{second}/{sha}.jpg")
    assert answer.status_code == 404
    assert answer.json()["detail"].startswith("no thumbnail for two.jpg: ")
    assert "one.jpg" not in answer.text and "/work" not in answer.json()["detail"]


def test_migration_7_reads_old_metadata_errors_again(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    catalog = Catalog.open(path)
    old = "other.jpg: not a readable image ('/srv/x/other.jpg')"
    with catalog.write():
        catalog.models.Content.create(
            blake3="b" * 64, sha256="5" * 64, size=1, meta_status="error", meta_error=old
        )
        catalog.db.execute_sql("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    catalog.close()
    catalog = Catalog.open(path)
    try:
        row = catalog.models.Content.get_by_id("b" * 64)
        assert (row.meta_status, row.meta_error, row.thumb_error) == ("pending", None, None)
        assert catalog.schema_version() == SCHEMA_VERSION
    finally:
        catalog.close()
