"""Album sync sessions over HTTP: `POST .../upload?op=start` and `?op=finalize` (the original's
upload batches), the session id an upload carries, and the URLs a client follows."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote

import anyio.to_thread
from litestar import Request

from daemon.errors import InvalidInput, PayloadTooLarge
from daemon.ingest import batches
from daemon.storage.projects import ProjectRef
from ingress.deps import Lib
from ingress.multipart import MultipartParser, PartData, PartEnd, PartStart, boundary_from
from ingress.receive import limited
from ingress.urls import base_url, media_url, source_query, upload_url

MAX_FORM_BYTES = 64 * 1024
FIELDS = {"album_name": ("album_name", "album"), "device": ("device",), "note": ("note",)}


async def read_small(request: Request[Any, Any, Any], limit: int, what: str) -> bytes:
    """A small request body, whole; PayloadTooLarge past ``limit`` bytes."""
    try:
        return b"".join([chunk async for chunk in limited(request.stream(), limit)])
    except PayloadTooLarge:
        raise PayloadTooLarge(f"{what} larger than {limit} bytes; send less") from None


def batch_id_of(request: Request[Any, Any, Any], query: str | None) -> str | None:
    """The session id from the query (``batch_id``) or the ``X-Batch-Id`` header."""
    header = request.headers.get("x-batch-id")
    given = {v.strip() for v in (query, header) if v is not None and v.strip()}
    if len(given) > 1:
        raise InvalidInput("the batch_id query and the X-Batch-Id header name different sessions")
    return next(iter(given), None)


def _form(data: bytes, content_type: str) -> dict[str, Any]:
    kind = content_type.split(";", 1)[0].strip().lower()
    if not data.strip():
        return {}
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(data.decode("utf-8", "replace")))
    if kind == "multipart/form-data":
        parser = MultipartParser(boundary_from(content_type))
        fields: dict[str, Any] = {}
        name, value = "", b""
        for event in parser.feed(data):
            if isinstance(event, PartStart):
                name, value = event.name, b""
            elif isinstance(event, PartData):
                value += bytes(event.data)
            elif isinstance(event, PartEnd):
                fields[name] = value.decode("utf-8", "replace")
        return fields
    try:
        body = json.loads(data)
    except ValueError:
        raise InvalidInput('the body must be JSON, e.g. {"album_name": "Trip"}') from None
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object, e.g. {"album_name": "Trip"}')
    return body


async def _fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """album_name (or album), device and note from the body (JSON, a form) or the query."""
    data = await read_small(request, MAX_FORM_BYTES, "a session's fields")
    body = _form(data, request.headers.get("content-type", "application/json"))
    out: dict[str, str] = {}
    for key, names in FIELDS.items():
        value: Any = next((body[n] for n in names if body.get(n) is not None), None)
        if value is None:
            value = next((request.query_params[n] for n in names if n in request.query_params), "")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(f"'{key}' must be a string")
        out[key] = str(value).strip()[:500]
    return out


def _with(url: str, **params: str) -> str:
    joined = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{joined}"


def _urls(base: str, ref: ProjectRef, batch_id: str) -> dict[str, str]:
    upload = upload_url(base, ref)
    project = f"{base}/api/projects/{quote(ref.name)}"
    query = source_query(ref.source.name)
    return {
        "upload_url": _with(upload, batch_id=batch_id),
        "precheck_url": _with(f"{project}/upload-check{query}", batch_id=batch_id),
        "resumable_url": f"{project}/uploads{query}",
        "finalize_url": _with(upload, op="finalize", batch_id=batch_id),
    }


async def start(request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef) -> dict[str, Any]:
    """A new session: its id and where to pre-check, upload and finalize."""
    fields = await _fields(request)
    session = await anyio.to_thread.run_sync(
        lambda: batches.start(
            lib, ref, album=fields["album_name"], device=fields["device"], note=fields["note"]
        )
    )
    urls = _urls(base_url(request, lib.settings), ref, session["batch_id"])
    return {
        "ok": True,
        **session,
        **urls,
        "instructions": (
            "Pre-check the album's files at precheck_url, upload those it says 'upload' to "
            "upload_url (or resumable_url with batch_id in Upload-Metadata), then POST "
            "finalize_url."
        ),
    }


async def finalize(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, batch_id: str | None
) -> dict[str, Any]:
    """Close the session: counts, each file's outcome with its URLs, and the served URLs."""
    if batch_id is None:
        raise InvalidInput("op=finalize needs the session's batch_id (query or X-Batch-Id)")
    done = await anyio.to_thread.run_sync(batches.finalize, lib, ref, batch_id)
    base = base_url(request, lib.settings)
    served = []
    for item in done["items"]:
        if item["path"] and item["status"] in ("stored", "duplicate"):
            item["served"] = {
                "stream_url": media_url(base, ref, item["path"]),
                "download_url": media_url(base, ref, item["path"], download=True),
            }
            served.append(item["served"]["stream_url"])
    counts = done["counts"]
    return {
        "ok": True,
        **done,
        "served_urls": served,
        "instructions": (
            f"Session closed: {counts['stored']} stored, {counts['duplicate']} already there, "
            f"{counts['skipped']} skipped by the pre-check, {counts['error']} failed."
        ),
    }
