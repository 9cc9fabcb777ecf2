"""Browser previews and scrub strips over HTTP: made once, streamed with Range, 202 while being
made, the original for clips browsers play, clear errors, and the same guard as `/media/`."""

from __future__ import annotations

import fcntl
import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from litestar.testing import TestClient
from PIL import Image

from daemon.media.browserpreview import OnDemand
from daemon.media.derived import lock_path
from daemon.settings import Settings
from tests.factories import corrupt_copy, make_audio, make_video
from tests.support.api import assert_error, create_project, upload

Client = TestClient[Any]
NO_WAIT = {"Prefer": "wait=0"}
TOKEN = "write-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"


def workers(client: Client) -> OnDemand:
    pool: OnDemand = client.app.state.browser_media
    return pool


@contextmanager
def held_elsewhere(settings: Settings, target: Path) -> Iterator[None]:
    """Hold the preview's lock as another process making it would."""
    settings.locks_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(settings.locks_dir, target), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def hevc_in(client: Client, tmp_path: Path, name: str = "Previews") -> tuple[str, str, Path]:
    """A project holding an HEVC `.mov` (which Chrome and Firefox cannot play)."""
    project = create_project(client, name)
    clip = make_video(tmp_path / "clip.mov", codec="hevc", size=(64, 48), seconds=2, audio=True)
    sha256 = upload(client, project, clip)["sha256"]
    return project, sha256, clip


def together(count: int, call: Callable[[], httpx.Response]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        answers.append(call())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_preview_is_made_once_for_concurrent_requests_and_streamed_with_range(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project, sha256, clip = hevc_in(client, tmp_path)
    url = f"/previews/{project}/{sha256}.mp4"
    target = settings.projects_root / project / "ingest" / "previews" / f"{sha256}.mp4"
    with held_elsewhere(settings, target):
        waiting = together(6, lambda: client.get(url, headers=NO_WAIT))
        assert {r.status_code for r in waiting} == {202}
        assert not target.exists()
    answers = together(6, lambda: client.get(url))
    assert [r.status_code for r in answers] == [200] * 6
    assert workers(client).tried["preview"] == 1 and workers(client).made["preview"] == 1
    data = target.read_bytes()
    assert all(r.content == data for r in answers)
    assert answers[0].headers["content-type"] == "video/mp4"
    assert "immutable" in answers[0].headers["cache-control"]
    part = client.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.content == data[100:1100]
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.width <= 1280 and video.height <= 720
        assert (container.duration or 0) / 1e6 == pytest.approx(2.0, abs=0.1)
        assert [a.codec_context.name for a in container.streams.audio] == ["aac"]
    assert client.head(url).headers["content-length"] == str(len(data))
    assert (
        clip.read_bytes()
        == (settings.projects_root / project / "ingest" / "originals" / "clip.mov").read_bytes()
    )


def test_while_being_made_the_answer_is_202_with_progress_and_retry_after(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project, sha256, _ = hevc_in(client, tmp_path)
    url = f"/previews/{project}/{sha256}.mp4"
    target = settings.projects_root / project / "ingest" / "previews" / f"{sha256}.mp4"
    with held_elsewhere(settings, target):
        first = client.get(url, headers=NO_WAIT)
        assert first.status_code == 202
        assert first.headers["retry-after"] == str(first.json()["retry_after"])
        body = first.json()
        assert set(body) == {"status", "progress", "ahead", "retry_after", "detail"}
        assert body["status"] in {"queued", "making"} and body["ahead"] == 0
        assert "clip.mov" in body["detail"] and "ask again" in body["detail"]
        head = client.head(url, headers=NO_WAIT)
        assert head.status_code == 202 and head.content == b""
    assert client.get(url, headers={"Prefer": "wait=30"}).status_code == 200


def test_a_clip_browsers_play_is_answered_with_the_original(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project = create_project(client, "Playable")
    clip = make_video(tmp_path / "phone.mp4", size=(64, 48), audio=True)
    sha256 = upload(client, project, clip)["sha256"]
    response = client.get(f"/previews/{project}/{sha256}.mp4", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206
    assert response.headers["x-media-sync-preview"] == "original"
    assert response.content == clip.read_bytes()[:10]
    assert not (settings.projects_root / project / "ingest" / "previews").exists()
    assert workers(client).tried["preview"] == 0


def test_a_broken_clip_answers_415_once_and_leaves_nothing(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project = create_project(client, "Broken")
    good = make_video(tmp_path / "good.mov", codec="hevc", size=(64, 48), seconds=2)
    sha256 = upload(client, project, corrupt_copy(good, tmp_path / "broken.mov", keep=0.3))[
        "sha256"
    ]
    url = f"/previews/{project}/{sha256}.mp4"
    for _ in range(2):
        body = assert_error(client.get(url), 415, "UnsupportedMediaType")
        assert body["detail"].startswith("broken.mov: cannot make a browser preview")
        assert str(settings.projects_root) not in body["detail"]
    assert workers(client).tried["preview"] == 1
    previews = settings.projects_root / project / "ingest" / "previews"
    assert list(previews.iterdir()) == []


def test_a_vanished_source_and_other_kinds_answer_clear_errors(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project, sha256, _ = hevc_in(client, tmp_path, "Vanished")
    (settings.projects_root / project / "ingest" / "originals" / "clip.mov").unlink()
    body = assert_error(client.get(f"/previews/{project}/{sha256}.mp4"), 404, "MediaNotFound")
    assert sha256 in body["detail"]
    assert not (settings.projects_root / project / "ingest" / "previews").exists()
    sound = upload(client, project, make_audio(tmp_path / "voice.m4a"))["sha256"]
    assert_error(client.get(f"/previews/{project}/{sound}.mp4"), 415, "UnsupportedMediaType")
    assert_error(client.get(f"/scrub/{project}/{sound}.vtt"), 415, "UnsupportedMediaType")
    assert_error(client.get(f"/previews/{project}/nope.mp4"), 404, "MediaNotFound")
    assert_error(client.get(f"/previews/P99-None/{sha256}.mp4"), 404, "ProjectNotFound")


def test_scrub_strip_track_and_sprite_are_served(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    project = create_project(client, "Scrub")
    clip = make_video(tmp_path / "walk.mp4", size=(64, 48), seconds=5, fps=10)
    sha256 = upload(client, project, clip)["sha256"]
    track = client.get(f"/scrub/{project}/{sha256}.vtt")
    assert track.status_code == 200, track.text
    assert track.headers["content-type"].startswith("text/vtt")
    lines = track.text.splitlines()
    assert lines[0] == "WEBVTT" and lines[2] == "00:00:00.000 --> 00:00:01.667"
    assert lines[-1] == f"{sha256}.jpg#xywh=320,0,160,120"
    assert lines[-2] == "00:00:03.333 --> 00:00:05.000"
    sprite = client.get(f"/scrub/{project}/{sha256}.jpg")
    assert sprite.status_code == 200 and sprite.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(sprite.content)) as image:
        assert image.size == (480, 120)
    part = client.get(f"/scrub/{project}/{sha256}.jpg", headers={"Range": "bytes=0-1"})
    assert part.status_code == 206 and part.content == b"\xff\xd8"
    assert workers(client).made["scrub"] == 1


def test_scrub_track_of_another_source_names_its_sprite_with_the_source(
    client: Client, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    assert (
        client.post("/api/sources", json={"name": "archive", "root": str(archive)}).status_code
        == 201
    )
    created = client.post("/api/projects?source=archive", json={"name": "Old"})
    project = created.json()["name"]
    clip = make_video(tmp_path / "old.mp4", size=(64, 48), seconds=1)
    response = client.post(
        f"/api/projects/{project}/upload?source=archive",
        files={"file": ("old.mp4", clip.read_bytes())},
    )
    sha256 = response.json()["sha256"]
    track = client.get(f"/scrub/{project}/{sha256}.vtt?source=archive")
    assert track.text.splitlines()[-1] == f"{sha256}.jpg?source=archive#xywh=0,0,160,120"
    sprite = client.get(f"/scrub/{project}/{sha256}.jpg?source=archive")
    assert sprite.status_code == 200
    assert client.get(f"/scrub/{project}/{sha256}.jpg").status_code == 404  # not in primary


def test_previews_and_strips_need_a_token_like_media_does(
    client_with: Callable[..., Client], tmp_path: Path
) -> None:
    guarded = client_with(MEDIA_SYNC_API_TOKEN=TOKEN, MEDIA_SYNC_READ_TOKEN=READ_TOKEN)
    guarded.headers["Authorization"] = f"Bearer {TOKEN}"
    project, sha256, _ = hevc_in(guarded, tmp_path)
    del guarded.headers["Authorization"]
    for url in (f"/previews/{project}/{sha256}.mp4", f"/scrub/{project}/{sha256}.vtt"):
        assert_error(guarded.get(url), 401, "Unauthorized")
        reader = guarded.get(url, headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert reader.status_code == 200, reader.text


def test_a_reindex_leaves_previews_and_strips_where_they_are(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    """The previews folder is media-sync's own, like the thumbnails: never taken for footage
    dropped in the project (relocated into `ingest/originals/` and listed)."""
    project, sha256, _ = hevc_in(client, tmp_path, "Own")
    assert client.get(f"/previews/{project}/{sha256}.mp4").status_code == 200
    assert client.get(f"/scrub/{project}/{sha256}.vtt").status_code == 200
    answer = client.post(f"/api/projects/{project}/reindex").json()
    assert answer["relocated"] == 0 and answer["indexed"] == 0, answer
    assert [
        item["name"] for item in client.get(f"/api/projects/{project}/media").json()["media"]
    ] == ["clip.mov"]
    folder = settings.projects_root / project / "ingest"
    assert (folder / "previews" / f"{sha256}.mp4").is_file()
    assert (folder / "thumbnails" / "scrub" / f"{sha256}.jpg").is_file()
