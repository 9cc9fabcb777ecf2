"""Media: the explorer listing, streaming and downloads (Range), thumbnails."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from litestar import HttpMethod, MediaType, Request, Response, get, post, route

from daemon.catalog import projects
from daemon.catalog.files import FileRecord, find
from daemon.catalog.listing import MediaQuery, counted, list_media
from daemon.errors import InvalidInput, MediaNotFound
from daemon.media.previews import Previews, thumbnail_path
from daemon.media.thumbnails import validate_client_thumbnail
from daemon.mediatypes import media_type
from daemon.storage.conventions import atomic_write_bytes, check_relative, safe_join
from daemon.storage.indexfile import kind_counts, project_counts, project_facts
from daemon.storage.projects import ProjectRef, disk_relative
from ingress.deps import Lib
from ingress.filestream import FileStream, file_response
from ingress.listanswer import Answers, ClosingStream, full_listing
from ingress.urls import base_url, item_urls, thumb_url

_SHA256 = re.compile(r"^([0-9a-f]{64})\.jpg$")
IMMUTABLE = "public, max-age=31536000, immutable"
MAX_CLIENT_THUMB = 2 * 1024 * 1024


@get("/api/projects/{project:str}/media", sync_to_thread=True)
def media_list(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    source: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    tag: str | None = None,
    sort: str = "captured",
    order: str = "desc",
    limit: int | None = None,
    cursor: str | None = None,
    offset: int | None = None,
) -> Response[Any]:
    """Indexed media with metadata and URLs: every item (the original's answer), or a page
    when `limit`, `cursor` or `offset` is given (pass back `next_cursor`)."""
    ref = lib.project(source, project)
    query = MediaQuery(kind, q or None, sort, order, limit, cursor, offset, tag or None)
    base = base_url(request, lib.settings)
    hint = (
        "Play an item from its stream_url (Range supported), save it from download_url; "
        "send a selection to Resolve with POST /api/resolve/open."
    )
    catalog = lib.catalog
    if query.paged:
        page = list_media(catalog, ref.source.name, ref.name, query)
        add_urls = item_urls(base, ref)
        for item in page["media"]:
            add_urls(item)
        kinds = counted(
            catalog,
            ref.source.name,
            ref.name,
            ("kinds",),
            lambda: projects.kinds(catalog, ref.source.name, ref.name),
        )  # the project's counters are read each time (no generation counts them)
        counts = kind_counts(kinds, project_facts(ref, catalog))
        head = {"project": ref.name, "source": ref.source.name, "counts": counts}
        return Response({**head, **page, "instructions": hint})

    def tail(kinds: dict[str | None, int], total: int) -> dict[str, Any]:
        if query.cacheable:
            counts = kind_counts(kinds, project_facts(ref, catalog))
        else:
            counts = project_counts(ref, catalog)
        return {
            "project": ref.name,
            "source": ref.source.name,
            "counts": counts,
            "total": total,
            "next_cursor": None,
            "instructions": hint,
        }

    answers = Answers(lib.settings.state_dir / "answers")
    body = full_listing(answers, catalog, ref, query.validate(), base, tail)
    return ClosingStream(body, media_type=MediaType.JSON)


def _indexed_file(lib: Lib, ref: ProjectRef, raw: str) -> tuple[Any, str, FileRecord]:
    rel = raw.lstrip("/")
    check_relative(rel, "relative_path")
    rel = disk_relative(ref.path, rel)  # an NFC name from a URL finds a Mac's NFD file
    path = safe_join(ref.path, rel, "relative_path")
    row = find(lib.catalog, ref.source.name, ref.name, rel)
    known = media_type(rel)
    if row is None or known is None or not path.is_file():
        raise MediaNotFound(f"{rel!r} is not indexed media in {ref.name}")
    return path, known.mime, row


def _serve(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    relative_path: str,
    source: str | None,
    download: bool,
) -> FileStream:
    ref = lib.project(source, project)
    path, mime, _ = _indexed_file(lib, ref, relative_path)
    return file_response(
        path,
        method=request.method,
        headers=request.headers,
        media_type=mime,
        attachment_name=path.name if download else None,
    )


@route(
    "/media/{project:str}/download/{relative_path:path}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    sync_to_thread=True,
)
def download(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    relative_path: str,
    source: str | None = None,
) -> FileStream:
    """The file with `Content-Disposition: attachment` (ASCII and RFC 6266 names)."""
    return _serve(request, lib, project, relative_path, source, download=True)


@route(
    "/media/{project:str}/{relative_path:path}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    sync_to_thread=True,
)
def stream(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    relative_path: str,
    source: str | None = None,
) -> FileStream:
    """Stream indexed media with Range, ETag and Last-Modified (Safari/AVPlayer scrubbing)."""
    return _serve(request, lib, project, relative_path, source, download=False)


@route(
    "/thumbnails/{project:str}/{name:str}",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    sync_to_thread=True,
)
def thumbnail(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    name: str,
    source: str | None = None,
    retry: bool = False,
) -> FileStream:
    """A 640 px JPEG keyed by sha256; if the background pool has not made it yet, it is made
    once, by the pool (ahead of background work, within the decode budget), and this waits.
    A file that cannot be made into one answers 404 with the reason, remembered: it is not
    decoded again until the file changes, or a request adds `retry=1`."""
    match = _SHA256.match(name)
    if match is None:
        raise MediaNotFound("thumbnails are named <sha256>.jpg")
    ref = lib.project(source, project)
    previews: Previews = request.app.state.previews
    path = previews.thumbnail(ref, match.group(1), retry=retry)  # never decodes on this thread
    if path is None:
        raise MediaNotFound(f"no thumbnail for {match.group(1)} in {ref.name}")
    return file_response(
        path,
        method=request.method,
        headers=request.headers,
        media_type="image/jpeg",
        cache_control=IMMUTABLE,
    )


@post(
    "/api/projects/{project:str}/media/thumbnail",
    sync_to_thread=True,
    request_max_body_size=4 * MAX_CLIENT_THUMB,
)
def upload_thumbnail(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    data: dict[str, Any],
    source: str | None = None,
) -> Response[Any]:
    """Keep a client-made thumbnail (`data_url`) for an indexed `relative_path`."""
    ref = lib.project(source, project)
    rel, data_url = data.get("relative_path"), data.get("data_url")
    if not isinstance(rel, str) or not isinstance(data_url, str):
        raise InvalidInput('body must be {"relative_path": str, "data_url": str}')
    row = _indexed_file(lib, ref, rel)[2]
    header, _, payload = data_url.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise InvalidInput("data_url must be a base64 data:image/... URL")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("data_url is not valid base64") from exc
    jpeg = validate_client_thumbnail(raw, MAX_CLIENT_THUMB)
    sha256 = row.sha256
    atomic_write_bytes(thumbnail_path(ref, sha256), jpeg, lib.settings.file_mode)
    base = base_url(request, lib.settings)
    return Response(
        {
            "status": "stored",
            "relative_path": rel,
            "sha256": sha256,
            "thumb_url": thumb_url(base, ref, sha256),
            "size": len(jpeg),
        },
        status_code=200,
    )


ROUTES = [media_list, download, stream, thumbnail, upload_thumbnail]
