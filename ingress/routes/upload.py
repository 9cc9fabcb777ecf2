"""Uploads: multipart (`file`/`files`) and raw-body PUT, streamed to disk while hashing; an
announced sha256 the project holds answers `duplicate` before the body; album sync sessions
(`?op=start`, `?op=finalize`, uploads carrying `batch_id`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post, put

from daemon.errors import InvalidInput, MediaSyncError, PayloadTooLarge
from daemon.ingest import batches
from daemon.ingest.announced import ingest_announced
from daemon.ingest.pipeline import IngestResult, note_upload
from daemon.storage.projects import ProjectRef
from ingress import sessions
from ingress.deps import Lib
from ingress.digests import announced_sha256
from ingress.errors import status_for
from ingress.observe import refused_part
from ingress.receive import PipelinedWriter, limited
from ingress.uploadparts import (
    FILE_FIELDS,
    Outcome,
    Received,
    Refused,
    arrival,
    check_upload_name,
    receive_multipart,
    store,
)
from ingress.urls import base_url, media_url

__all__ = ["FILE_FIELDS", "ROUTES", "check_upload_name", "receive_multipart", "result_body"]


def result_body(
    request: Request[Any, Any, Any], lib: Lib, result: IngestResult, filename: str
) -> dict[str, Any]:
    base = base_url(request, lib.settings)
    ref = result.project
    if result.status == "duplicate":
        hint = f"Already stored as {result.rel_path}; nothing new was written."
    else:
        hint = f"Stored in {ref.name}/{result.rel_path}."
    if result.also_in:
        hint += " The same content is also in: " + ", ".join(
            f"{p['project']}/{p['path']}" for p in result.also_in[:5]
        )
    body: dict[str, Any] = {
        "status": result.status,
        "filename": filename,
        "project": ref.name,
        "source": ref.source.name,
        "path": result.rel_path,
        "sha256": result.digest.sha256,
        "blake3": result.digest.blake3,
        "size": result.digest.size,
        "uploaded_at": result.uploaded_at,
        "duplicate_of": result.duplicate_of,
        "also_in": result.also_in,
        "served": {
            "stream_url": media_url(base, ref, result.rel_path),
            "download_url": media_url(base, ref, result.rel_path, download=True),
        },
        "instructions": hint,
    }
    if result.warnings:
        body["warnings"] = result.warnings
    return body


def _precheck(request: Request[Any, Any, Any], lib: Lib) -> None:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            announced = int(length)
        except ValueError:
            raise InvalidInput("Content-Length is not a number") from None
        if announced > lib.settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"upload of {announced} bytes is larger than MEDIA_SYNC_MAX_UPLOAD_MB "
                f"({lib.settings.max_upload_mb} MiB)"
            )


async def _record(lib: Lib, ref: ProjectRef, batch_id: str | None, outcomes: list[Outcome]) -> None:
    """What each file of a session's request became, recorded in the session."""
    if batch_id is None or not outcomes:
        return

    def record() -> None:
        for o in outcomes:
            if isinstance(o, Refused):
                batches.record_upload(lib, ref, batch_id, o.filename, error=o.error)
            else:
                batches.record_upload(lib, ref, batch_id, o[0], result=o[1])

    await anyio.to_thread.run_sync(record)


async def _announced(
    lib: Lib, ref: ProjectRef, sha256: str | None, name: str | None
) -> IngestResult | None:
    """The duplicate an announced sha256 makes when the project holds it live (no byte of the
    body read), else None."""
    if sha256 is None:
        return None
    known = await anyio.to_thread.run_sync(ingest_announced, lib, ref, sha256, name)
    return None if known is None else note_upload(lib, known)


def _early(
    request: Request[Any, Any, Any], lib: Lib, result: IngestResult, name: str
) -> Response[Any]:
    """The duplicate answer given before the body: the connection closes (the body is unread)."""
    body = result_body(request, lib, result, name)
    return Response(body, status_code=200, headers={"Connection": "close"})


@post(
    "/api/projects/{project:str}/upload",
    request_max_body_size=None,
    status_code=200,
    summary="Upload files; start or finalize an album sync session",
)
async def upload(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    source: str | None = None,
    op: str | None = None,
    batch_id: str | None = None,
) -> Response[Any]:
    """Multipart upload (`file`, or several `files`); 200 for stored and duplicate alike.

    `X-Content-SHA256: <hex>` or `Repr-Digest: sha-256=:<base64>:` announce the file's bytes:
    when the project holds them live the answer is `duplicate` at once, without reading the
    body (named by `X-Filename`, else by the stored copy); otherwise bytes that do not match
    are refused (400). `?op=start` (album_name, device, note as JSON, form or query) opens a
    sync session; uploads carrying its `batch_id` (query, `X-Batch-Id`, or a multipart field
    before the file) are counted in it; `?op=finalize&batch_id=` closes it with the counts.
    """
    if op not in (None, "", "upload", "start", "finalize"):
        raise InvalidInput(f"unknown op {op!r}: use op=start, op=finalize, or none to upload")
    session = sessions.batch_id_of(request, batch_id)
    if op == "start":
        ref = await anyio.to_thread.run_sync(lib.project, source, project)
        return Response(await sessions.start(request, lib, ref), status_code=200)
    if op == "finalize":
        ref = await anyio.to_thread.run_sync(lib.project, source, project)
        return Response(await sessions.finalize(request, lib, ref, session), status_code=200)
    _precheck(request, lib)
    sha256 = announced_sha256(request.headers)
    named = request.headers.get("x-filename")
    name = check_upload_name(named) if named else None
    ref = await anyio.to_thread.run_sync(lib.project, source, project)
    if session is not None:
        await anyio.to_thread.run_sync(batches.check_open, lib, ref, session)
    known = await _announced(lib, ref, sha256, name)
    if known is not None:
        await _record(lib, ref, session, [(name or _basename(known.rel_path), known)])
        return _early(request, lib, known, name or _basename(known.rel_path))
    received = await receive_multipart(request, lib, ref, sha256, session)
    outcomes = received.outcomes
    await _record(lib, ref, received.batch_id, outcomes)
    refused = [o for o in outcomes if isinstance(o, Refused)]
    if len(refused) == len(outcomes):
        raise refused[0].error  # nothing was stored: the request as a whole failed
    for part in refused:  # the request went in: these files alone were refused
        refused_part(lib.metrics, ref.name, part.filename, part.error)
    bodies = [
        o.body() if isinstance(o, Refused) else result_body(request, lib, o[1], o[0])
        for o in outcomes
    ]
    if len(bodies) == 1 and received.stopped is None:
        if received.warnings:
            bodies[0]["warnings"] = bodies[0].get("warnings", []) + received.warnings
        return Response(bodies[0], status_code=200)
    return _many(bodies, received)


def _many(bodies: list[dict[str, Any]], received: Received) -> Response[Any]:
    """The answer for several parts: each file's outcome, counts, and why it stopped early."""
    counts = {s: sum(b["status"] == s for b in bodies) for s in ("stored", "duplicate", "refused")}
    hint = f"{counts['stored']} stored, {counts['duplicate']} already there"
    if counts["refused"]:
        hint += f", {counts['refused']} refused (see each file's 'detail')"
    body: dict[str, Any] = {
        "files": bodies,
        "stored": counts["stored"],
        "duplicates": counts["duplicate"],
        "refused": counts["refused"],
        "instructions": hint + ".",
    }
    warnings = [w for b in bodies for w in b.get("warnings", [])] + received.warnings
    if warnings:
        body["warnings"] = warnings
    if received.stopped is not None:
        status = status_for(received.stopped)
        body.update(
            detail=received.stopped.detail,
            error=type(received.stopped).__name__,
            status_code=status,
        )
        body["instructions"] = f"{received.stopped.detail} ({hint})."
        return Response(body, status_code=status)
    return Response(body, status_code=200)


def _basename(rel_path: str) -> str:
    return rel_path.rsplit("/", 1)[-1]


@put(
    "/api/projects/{project:str}/files/{filename:str}",
    request_max_body_size=None,
    summary="Upload one file as the raw request body",
)
async def upload_raw(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    filename: str,
    source: str | None = None,
    batch_id: str | None = None,
) -> Response[Any]:
    """Raw-body upload: the request body is the file, the last path segment its name.

    `X-Content-SHA256`, `Repr-Digest` or `Content-Digest` (`sha-256=:<base64>:`) announce the
    bytes: a duplicate is answered before the body, other bytes are refused (400).
    `batch_id` (query or `X-Batch-Id`) counts the file in an album sync session."""
    _precheck(request, lib)
    arrived = arrival(request)  # who sent it, and when (the file's timeline)
    session = sessions.batch_id_of(request, batch_id)
    sha256 = announced_sha256(request.headers, content_digest=True)
    name = check_upload_name(filename)
    ref = await anyio.to_thread.run_sync(lib.project, source, project)
    if session is not None:
        await anyio.to_thread.run_sync(batches.check_open, lib, ref, session)
    known = await _announced(lib, ref, sha256, name)
    if known is not None:
        await _record(lib, ref, session, [(name, known)])
        return _early(request, lib, known, name)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
            writer = PipelinedWriter(ref.originals, name, executor)
            try:
                async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                    await writer.write(chunk)
            except BaseException:
                writer.abort()
                raise
            result = await store(lib, ref, writer, name, expect=sha256, arrived=arrived)
    except MediaSyncError as exc:
        await _record(lib, ref, session, [Refused(name, exc)])
        raise
    await _record(lib, ref, session, [(name, result)])
    return Response(result_body(request, lib, result, name), status_code=200)


ROUTES = [upload, upload_raw]
