"""Thumbnail routes: background generation, on-demand single flight, client-made thumbnails."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from PIL import Image

from daemon.media.previews import Previews
from tests.factories import load_image


def _jpeg(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _upload(client: TestClient[Any], project: str, name: str, data: bytes) -> dict[str, Any]:
    response = client.post(f"/api/projects/{project}/upload", files={"file": (name, data)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_for(path: Path, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file():
            return True
        time.sleep(0.05)
    return False


def test_thumbnail_made_in_background_and_served_immutable(
    client: TestClient[Any], settings: Any
) -> None:
    project = client.post("/api/projects", json={"name": "Thumbs"}).json()["name"]
    stored = _upload(client, project, "wide.jpg", _jpeg((1600, 900), (10, 200, 30)))
    thumb = settings.projects_root / project / "ingest" / "thumbnails" / f"{stored['sha256']}.jpg"
    assert _wait_for(thumb), "background pool did not make the thumbnail"
    response = client.get(f"/thumbnails/{project}/{stored['sha256']}.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert "immutable" in response.headers["cache-control"]
    image = load_image(io.BytesIO(response.content))
    assert image.format == "JPEG" and max(image.size) == 640
    r, g, b = image.convert("RGB").getpixel((320, 180))
    assert g > 150 and r < 60 and b < 80
    item = client.get(f"/api/projects/{project}/media").json()["media"][0]
    assert item["width"] == 1600 and item["height"] == 900 and item["meta_status"] == "ok"


def test_on_demand_thumbnail_is_made_once_for_concurrent_requests(
    client: TestClient[Any], settings: Any
) -> None:
    project = client.post("/api/projects", json={"name": "Demand"}).json()["name"]
    app_previews: Previews = client.app.state.previews
    stored = _upload(client, project, "a.jpg", _jpeg((800, 800), (200, 0, 0)))
    thumb = settings.projects_root / project / "ingest" / "thumbnails" / f"{stored['sha256']}.jpg"
    assert _wait_for(thumb)
    thumb.unlink()  # as if the pool had not got to it yet
    made: list[str] = []
    unsubscribe = app_previews.lib.subscribe(lambda change: None)
    original = app_previews._make

    def counting_make(*args: Any) -> Any:
        made.append("x")
        time.sleep(0.3)  # keep the job in flight while the other requests arrive
        return original(*args)

    app_previews._make = counting_make  # type: ignore[method-assign]
    try:
        results: list[int] = []

        def fetch() -> None:
            results.append(client.get(f"/thumbnails/{project}/{stored['sha256']}.jpg").status_code)

        threads = [threading.Thread(target=fetch) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        app_previews._make = original  # type: ignore[method-assign]
        unsubscribe()
    assert results == [200] * 6
    assert len(made) == 1


def test_unknown_thumbnail_is_404(client: TestClient[Any]) -> None:
    project = client.post("/api/projects", json={"name": "Nothing"}).json()["name"]
    assert client.get(f"/thumbnails/{project}/{'0' * 64}.jpg").status_code == 404
    assert client.get(f"/thumbnails/{project}/..%2F..%2Findex.json").status_code == 404
    assert client.get(f"/thumbnails/{project}/notasha.jpg").status_code == 404


def test_client_thumbnail_is_validated_and_kept(client: TestClient[Any], settings: Any) -> None:
    project = client.post("/api/projects", json={"name": "Client"}).json()["name"]
    stored = _upload(client, project, "b.mov", b"\x00" * 2048)
    png = io.BytesIO()
    Image.new("RGB", (1280, 720), (0, 0, 255)).save(png, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    response = client.post(
        f"/api/projects/{project}/media/thumbnail",
        json={"relative_path": stored["path"], "data_url": data_url},
    )
    assert response.status_code == 200, response.text
    kept = settings.projects_root / project / "ingest" / "thumbnails" / f"{stored['sha256']}.jpg"
    image = load_image(kept)
    assert image.format == "JPEG" and max(image.size) <= 640
    bogus = "data:image/png;base64," + base64.b64encode(b"not an image at all").decode()
    refused = client.post(
        f"/api/projects/{project}/media/thumbnail",
        json={"relative_path": stored["path"], "data_url": bogus},
    )
    assert refused.status_code == 400
    missing = client.post(
        f"/api/projects/{project}/media/thumbnail",
        json={"relative_path": "ingest/originals/none.mov", "data_url": data_url},
    )
    assert missing.status_code == 404
