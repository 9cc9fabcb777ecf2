"""A file's ingest timeline against a real `media-sync serve`: an upload (and its duplicate, a
Resolve job for it), drops the watcher picks up, and the 404s."""

from __future__ import annotations

import io
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient.client import TusClient

from tests.factories import make_jpeg
from tests.support.api import assert_error, create_project, listing
from tests.support.files import sha256_of
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _timeline(http: httpx.Client, project: str, sha256: str) -> dict[str, Any]:
    response = http.get(f"/api/projects/{project}/media/{sha256}/timeline")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(body: dict[str, Any]) -> list[str]:
    return [step["step"] for step in body["steps"]]


def _in_time_order(body: dict[str, Any]) -> None:
    times = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in body["steps"]]
    assert times == sorted(times), body
    assert all(s["ok"] is True for s in body["steps"]), body


def _until_steps(http: httpx.Client, project: str, sha256: str, last: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = _timeline(http, project, sha256)
        return body if last in _names(body) else None

    return wait_until(
        done, 30, what=f"a {last} step", detail=lambda: _timeline(http, project, sha256)
    )


def test_the_timeline_of_a_tus_upload_starts_with_its_arrival(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    """The page uploads through tus: its files' timelines name the client too."""
    data = make_jpeg(tmp_path / "dune.jpg", variant=7).read_bytes()
    sha256 = sha256_of(data)
    with quiet_server.client() as http:
        project = create_project(http, "Dunes")
    uploader = TusClient(f"{quiet_server.url}/api/projects/{project}/uploads").uploader(
        file_stream=io.BytesIO(data), chunk_size=len(data) // 2 + 1,
        metadata={"filename": "dune.jpg"}, retries=0,
    )  # fmt: skip
    uploader.upload()
    assert uploader.request.response_headers["x-media-sync-status"] == "stored"
    with quiet_server.client() as http:
        body = _until_steps(http, project, sha256, "thumbnail")
    assert _names(body) == ["arrived", "stored", "metadata", "thumbnail"]
    assert body["steps"][0]["detail"] == "upload from 127.0.0.1"
    _in_time_order(body)


def test_the_timeline_of_an_upload_its_duplicate_and_a_resolve_job(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "beach.jpg")
    data = photo.read_bytes()
    sha256 = sha256_of(data)
    with quiet_server.client() as http:
        project = create_project(http, "Trip")
        stored = http.post(f"/api/projects/{project}/upload", files={"file": ("beach.jpg", data)})
        assert stored.json()["status"] == "stored"
        body = _until_steps(http, project, sha256, "thumbnail")
        assert (body["project"], body["sha256"]) == (project, sha256)
        assert body["path"] == "ingest/originals/beach.jpg"
        assert _names(body) == ["arrived", "stored", "metadata", "thumbnail"]
        details = {s["step"]: s["detail"] for s in body["steps"]}
        assert details["arrived"] == "upload from 127.0.0.1"
        assert details["stored"] == f"ingest/originals/beach.jpg ({len(data)} bytes)"
        _in_time_order(body)
        time.sleep(1.1)  # timestamps are whole seconds: the second arrival comes after them
        again = http.post(f"/api/projects/{project}/upload", files={"file": ("copy.jpg", data)})
        assert again.json()["status"] == "duplicate"
        body = _timeline(http, project, sha256)
        names = _names(body)
        assert names == ["arrived", "stored", "metadata", "thumbnail", "arrived", "duplicate"]
        assert body["steps"][-1]["detail"] == (
            "already in the project as ingest/originals/beach.jpg; nothing was stored"
        )
        _in_time_order(body)
        opened = http.post(
            "/api/resolve/open",
            json={"project": project, "media_rel_paths": ["ingest/originals/beach.jpg"]},
        )
        assert opened.status_code == 200, opened.text
        job_id = opened.json()["job_id"]
        body = _timeline(http, project, sha256)
        assert _names(body)[-1] == "queued_resolve"
        assert body["steps"][-1]["detail"] == f"job {job_id} (import)"
        claimed = http.post("/api/resolve/jobs/next?claimed_by=edit-1")
        assert [job["id"] for job in claimed.json()["jobs"]] == [job_id]
        done = http.post(f"/api/resolve/jobs/{job_id}/complete?claimed_by=edit-1", json={})
        assert done.status_code == 200, done.text
        body = _timeline(http, project, sha256)
        assert _names(body)[-2:] == ["queued_resolve", "imported"]
        assert body["steps"][-1]["detail"] == f"job {job_id} by edit-1"
        _in_time_order(body)


def test_the_timeline_of_drops_the_watcher_picks_up(live_server: LiveServer) -> None:
    with live_server.client() as http:
        project = create_project(http, "Card")
        folder = live_server.root / project
        sha_a = sha256_of(make_jpeg(folder / "ingest/originals/a.jpg", variant=1).read_bytes())
        sha_b = sha256_of(make_jpeg(folder / "b.jpg", variant=2).read_bytes())
        wait_until(lambda: len(listing(http, project)) == 2, 30, what="both drops listed")
        body = _until_steps(http, project, sha_a, "thumbnail")
        assert _names(body) == ["arrived", "settled", "hashed", "stored", "metadata", "thumbnail"]
        assert body["steps"][0]["detail"] == "dropped on the share"
        assert body["path"] == "ingest/originals/a.jpg"
        _in_time_order(body)
        body = _until_steps(http, project, sha_b, "thumbnail")
        assert _names(body) == [
            "arrived",
            "settled",
            "relocated",
            "hashed",
            "stored",
            "metadata",
            "thumbnail",
        ]
        assert body["path"] == "ingest/originals/b.jpg"
        relocated = body["steps"][2]["detail"]
        assert relocated == f"moved from {project}/b.jpg to {project}/ingest/originals/b.jpg"
        _in_time_order(body)


def test_unknown_files_and_projects_are_404(quiet_server: LiveServer) -> None:
    with quiet_server.client() as http:
        project = create_project(http, "Empty")
        unknown = http.get(f"/api/projects/{project}/media/{'0' * 64}/timeline")
        assert_error(unknown, 404, "MediaNotFound")
        not_a_sha = http.get(f"/api/projects/{project}/media/beach.jpg/timeline")
        assert_error(not_a_sha, 404, "MediaNotFound")
        nowhere = http.get(f"/api/projects/P9-Nowhere/media/{'0' * 64}/timeline")
        assert_error(nowhere, 404, "ProjectNotFound")
