"""Browser previews (H.264 MP4s of clips a browser cannot play) and scrub strips, made on demand.

    GET|HEAD /previews/{project}/{sha256}.mp4   the preview, streamed with Range (206), or the
                                                original itself when browsers play it as it is
    GET|HEAD /scrub/{project}/{sha256}.vtt      the WebVTT thumbnails track of a video
    GET|HEAD /scrub/{project}/{sha256}.jpg      its sprite sheet

While a preview or strip is being made the answer is 202 with ``Retry-After`` and a JSON body
(``status`` "queued" or "making", ``progress`` 0..1, ``ahead``, ``retry_after``, ``detail``).
A request waits for it first: `Prefer: wait=N` (0-30 s; RFC 7240) says how long, else 2 s for
a preview and 10 s for a strip. The workers start and stop with the app (``BrowserMedia``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from litestar import HttpMethod, Litestar, Request, Response, route
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from daemon.errors import MediaNotFound
from daemon.media.browserpreview import (
    OnDemand,
    Pending,
    clip_for,
    preview_path,
    scrub_paths,
)
from daemon.media.transcode import needs_preview
from daemon.mediatypes import media_type
from daemon.storage.projects import ProjectRef
from ingress.deps import Lib
from ingress.filestream import FileStream, file_response, open_regular_file
from ingress.urls import source_query

IMMUTABLE = "public, max-age=31536000, immutable"
PREVIEW_NAME = re.compile(r"^([0-9a-f]{64})\.mp4$")
SCRUB_NAME = re.compile(r"^([0-9a-f]{64})\.(vtt|jpg)$")
PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+)")
MAX_WAIT = 30.0
PREVIEW_WAIT, SCRUB_WAIT = 2.0, 10.0
ORIGINAL_HEADER = "x-media-sync-preview"


def _workers(request: Request[Any, Any, Any]) -> OnDemand:
    workers: OnDemand = request.app.state.browser_media
    return workers


def _wait(request: Request[Any, Any, Any], default: float) -> float:
    match = PREFER_WAIT.search(request.headers.get("prefer", ""))
    return min(MAX_WAIT, float(match.group(1))) if match else default


def _pending(what: str, pending: Pending) -> Response[Any]:
    retry = 1 if pending.state == "queued" else 2
    if pending.state == "queued":
        detail = f"{what} is queued ({pending.ahead} ahead of it); ask again in {retry} s"
    else:
        percent = round((pending.progress or 0) * 100)
        detail = f"{what} is being made ({percent}% done); ask again in {retry} s"
    body = {
        "status": pending.state,
        "progress": pending.progress,
        "ahead": pending.ahead,
        "retry_after": retry,
        "detail": detail,
    }
    headers = {"retry-after": str(retry), "cache-control": "no-store"}
    return Response(body, status_code=202, headers=headers)


def _stream(request: Request[Any, Any, Any], path: Any, mime: str, **extra: str) -> FileStream:
    response = file_response(
        path,
        method=request.method,
        headers=request.headers,
        media_type=mime,
        cache_control=IMMUTABLE,
    )
    response.headers.update(extra)
    return response


def _name(raw: str, pattern: re.Pattern[str], rule: str) -> re.Match[str]:
    match = pattern.match(raw)
    if match is None:
        raise MediaNotFound(rule)
    return match


@route(
    "/previews/{project:str}/{name:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    sync_to_thread=True,
)
def browser_preview(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    name: str,
    source: str | None = None,
) -> Response[Any] | FileStream:
    """An H.264 MP4 (720p) of a video a browser cannot play, made once on first request; a
    clip browsers play as it is (H.264/VP9/AV1 in MP4/WebM) is answered with its own bytes."""
    sha256 = _name(name, PREVIEW_NAME, "browser previews are named <sha256>.mp4").group(1)
    ref = lib.project(source, project)
    target = preview_path(ref, sha256)
    if target.is_file():
        return _stream(request, target, "video/mp4")
    clip = clip_for(lib, ref, sha256)
    if not needs_preview(clip):
        known = media_type(clip)
        mime = known.mime if known is not None else "video/mp4"
        return _stream(request, clip, mime, **{ORIGINAL_HEADER: "original"})
    answer = _workers(request).preview(target, clip, _wait(request, PREVIEW_WAIT))
    if isinstance(answer, Pending):
        return _pending(f"The browser preview of {clip.name}", answer)
    return _stream(request, answer.path, "video/mp4")


def _track(ref: ProjectRef, text: str) -> str:
    """The stored track names its sprite ``<sha256>.jpg``; requests for another source's
    project must keep ``?source=`` on the sprite's URL too."""
    query = source_query(ref.source.name)
    return text.replace(".jpg#xywh=", f".jpg{query}#xywh=") if query else text


@route(
    "/scrub/{project:str}/{name:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    sync_to_thread=True,
)
def scrub_strip(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    name: str,
    source: str | None = None,
) -> Response[Any] | FileStream:
    """A video's scrub strip: its WebVTT thumbnails track (`.vtt`, cues `<sprite>#xywh=`) or
    the sprite sheet (`.jpg`, 160 px tiles), made on first request."""
    match = _name(name, SCRUB_NAME, "scrub strips are <sha256>.vtt and <sha256>.jpg")
    sha256, suffix = match.group(1), match.group(2)
    ref = lib.project(source, project)
    sprite, track = scrub_paths(ref, sha256)
    if not track.is_file():
        clip = clip_for(lib, ref, sha256)
        answer = _workers(request).scrub(track, clip, _wait(request, SCRUB_WAIT))
        if isinstance(answer, Pending):
            return _pending(f"The scrub strip of {clip.name}", answer)
    if suffix == "jpg":
        return _stream(request, sprite, "image/jpeg")
    opened = open_regular_file(track)  # never through a symlink, like every file served
    try:
        text = os.read(opened.fd, opened.size).decode()
    finally:
        os.close(opened.fd)
    headers = {"cache-control": IMMUTABLE}
    return Response(_track(ref, text), media_type="text/vtt", headers=headers)


class BrowserMedia(InitPlugin):
    """Adds the routes above and runs their workers for the app's lifetime
    (MEDIA_SYNC_PREVIEW_WORKERS preview threads and one scrub-strip thread)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(ROUTES)
        app_config.on_startup.append(_start)
        app_config.on_shutdown.append(_stop)
        return app_config


def _start(app: Litestar) -> None:
    library = app.state.library
    settings = library.settings
    workers = OnDemand(
        settings.preview_workers,
        settings.locks_dir,
        budget=app.state.previews.budget,
        file_mode=settings.file_mode,
    )
    workers.start()
    app.state.browser_media = workers


def _stop(app: Litestar) -> None:
    workers: OnDemand | None = getattr(app.state, "browser_media", None)
    if workers is not None:
        workers.stop()


ROUTES = [browser_preview, scrub_strip]
