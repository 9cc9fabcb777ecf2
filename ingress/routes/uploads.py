"""Resumable uploads at ``/api/projects/{project}/uploads``: tus 1.0.0 (core, creation,
creation-with-upload, termination, checksum, expiration), and requests carrying
``Upload-Draft-Interop-Version`` handed to the IETF draft's handlers (``ingress.routes.ietf``).
Both sit on the one spool, ``daemon.ingest.resumable``; a finished upload is committed by the
one ingest pipeline before the last byte is acknowledged."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from litestar import MediaType, Request, Response, delete, get, head, patch, post, route
from litestar.enums import HttpMethod

from daemon.errors import InvalidInput, MediaSyncError, UnsupportedMediaType
from daemon.ingest import resumable
from daemon.ingest.pipeline import IngestResult
from daemon.ingest.resumable_spool import Upload
from daemon.storage.projects import ProjectRef
from ingress.deps import Lib
from ingress.routes import ietf
from ingress.tusheaders import (
    IETF_VERSION,
    OFFSET_STREAM,
    TUS_EXTENSIONS,
    TUS_VERSION,
    int_header,
    parse_checksum,
    parse_metadata,
    receive_into,
    state_headers,
    tus_error,
    tus_headers,
    version_refused,
)
from ingress.urls import base_url, source_query

CREATE = "/api/projects/{project:str}/uploads"
ONE = "/api/projects/{project:str}/uploads/{upload_id:str}"
TAGS = ["resumable uploads"]

CREATE_UPLOAD_DOC = (
    "tus creation: `Tus-Resumable: 1.0.0`, `Upload-Length` (required), "
    "`Upload-Metadata` (base64 pairs: `filename` or `name`; optional `project`, "
    "`batch_id` or `batch`). Answers 201 with `Location` (the upload's URL) and "
    "`Upload-Expires`; 413 from `Upload-Length` and 415 from the file name before any "
    "byte is read. With `Content-Type: application/offset+octet-stream` the body is "
    "the upload's first bytes (creation-with-upload). A request with "
    "`Upload-Draft-Interop-Version` is the IETF draft."
)
UPLOAD_OFFSET_DOC = (
    "`Upload-Offset` (bytes durably stored), `Upload-Length`, `Upload-Expires`, "
    "`Cache-Control: no-store`; once committed also `X-Media-Sync-Status` "
    "(stored|duplicate) and `X-Media-Sync-Path`. 404 for an unknown id, 410 once "
    "expired."
)
APPEND_UPLOAD_DOC = (
    "tus PATCH: `Content-Type: application/offset+octet-stream` (else 415), "
    "`Upload-Offset` equal to the stored offset (else 409), optional "
    "`Upload-Checksum: sha1|sha256 <base64>` (a mismatch answers 460 and drops the "
    "bytes; another algorithm 400). Answers 204 with the new `Upload-Offset` once the "
    "bytes are fsynced; the request bringing the last byte commits the upload first "
    "and adds `X-Media-Sync-Status` (stored|duplicate), `X-Media-Sync-Path` and "
    "`X-Media-Sync-SHA256`."
)
TERMINATE_UPLOAD_DOC = (
    "tus termination: the spool (bytes and state) is removed; 204, or 404 when unknown."
)
UPLOAD_STATE_DOC = (
    "For people and Shortcuts: `offset`, `length`, `expires_at`, and `result` once "
    "committed (status stored|duplicate, path, sha256, size). 404 for an unknown id, "
    "410 once expired."
)


async def _project(lib: Lib, source: str | None, project: str) -> ProjectRef:
    ref: ProjectRef = await anyio.to_thread.run_sync(lib.project, source, project)
    return ref


def _location(request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str) -> str:
    base = base_url(request, lib.settings)
    return (
        f"{base}/api/projects/{quote(ref.name)}/uploads/{upload_id}{source_query(ref.source.name)}"
    )


def _offset_stream(request: Request[Any, Any, Any]) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == OFFSET_STREAM


async def _metadata_refs(lib: Lib, ref: ProjectRef, metadata: dict[str, str]) -> None:
    """A ``project`` in Upload-Metadata must name the project of the URL."""
    named = metadata.get("project")
    if named and await _project(lib, ref.source.name, named) != ref:
        raise InvalidInput(
            f"Upload-Metadata names project {named[:80]!r} but the upload was created in "
            f"{ref.name!r}: create it at /api/projects/<that project>/uploads"
        )


@route(
    CREATE,
    http_method=[HttpMethod.OPTIONS],
    status_code=204,
    tags=TAGS,
    summary="What the tus server supports",
    description=(
        "`Tus-Resumable`, `Tus-Version` (1.0.0), `Tus-Extension` (creation, "
        "creation-with-upload, termination, checksum, expiration), `Tus-Max-Size` "
        "(MEDIA_SYNC_MAX_UPLOAD_MB in bytes) and `Tus-Checksum-Algorithm` (sha1, sha256)."
    ),
)
async def tus_options(lib: Lib, project: str) -> Response[None]:
    """What this tus server supports (no project lookup: a client asks before anything)."""
    del project
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(lib.settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(resumable.CHECKSUMS),
        # the IETF draft (interop 8) asks the creation URL's OPTIONS for the limits too
        "Upload-Limit": f"min-size=0,max-size={lib.settings.max_upload_bytes}",
        "Allow": "OPTIONS, POST",
    }
    return Response(None, status_code=204, headers=headers)


@post(
    CREATE,
    request_max_body_size=None,
    status_code=201,
    tags=TAGS,
    summary="Create a resumable upload (tus 1.0.0 or IETF draft)",
    description=CREATE_UPLOAD_DOC,
)
async def create_upload(
    request: Request[Any, Any, Any], lib: Lib, project: str, source: str | None = None
) -> Response[Any]:
    """Create a resumable upload: tus creation, or the IETF draft by its header."""
    if IETF_VERSION in request.headers:
        return await ietf.ietf_create(request, lib, await _project(lib, source, project))
    refused = version_refused(request)
    if refused is not None:
        return refused
    location: str | None = None
    try:
        if "upload-defer-length" in request.headers:
            raise InvalidInput("Upload-Defer-Length is not supported: send Upload-Length")
        length = int_header(request, "upload-length")
        if length is None:
            raise InvalidInput("send Upload-Length: the size of the file in bytes")
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        ref = await _project(lib, source, project)
        await _metadata_refs(lib, ref, metadata)
        upload = await anyio.to_thread.run_sync(
            partial(
                resumable.create, lib, ref,
                filename=metadata.get("filename") or metadata.get("name"), length=length,
                metadata=metadata, batch_id=metadata.get("batch_id") or metadata.get("batch"),
                protocol="tus",
            )
        )  # fmt: skip
        location = _location(request, lib, ref, upload.id)
        result = None
        if _offset_stream(request):
            checksum = parse_checksum(request.headers.get("upload-checksum"))
            upload, result = await receive_into(request, lib, ref, upload.id, 0, checksum)
    except MediaSyncError as exc:
        return tus_error(exc, **({"Location": location} if location else {}))
    return Response(
        b"",
        status_code=201,
        headers={**state_headers(upload, result), "Location": location},
        media_type=MediaType.TEXT,
    )


async def _settled(lib: Lib, ref: ProjectRef, upload: Upload) -> tuple[Upload, IngestResult | None]:
    """The upload, committed first when every byte is there but its commit did not happen
    (a crash, a full disk): asking where it stands finishes it."""
    if not upload.complete or upload.result is not None:
        return upload, None
    result = await anyio.to_thread.run_sync(resumable.complete, lib, ref, upload)
    return await anyio.to_thread.run_sync(resumable.load, lib, ref, upload.id), result


@head(
    ONE,
    tags=TAGS,
    summary="Where a resumable upload stands",
    status_code=200,
    description=UPLOAD_OFFSET_DOC,
)
async def upload_offset(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    upload_id: str,
    source: str | None = None,
) -> Response[None]:
    """tus HEAD: the upload's offset, length and expiry (and its outcome once committed)."""
    if IETF_VERSION in request.headers:
        ref = await _project(lib, source, project)
        return await ietf.ietf_head(request, lib, ref, upload_id)
    refused = version_refused(request)
    if refused is not None:
        return Response(None, status_code=412, headers=refused.headers, media_type=MediaType.TEXT)
    try:
        ref = await _project(lib, source, project)
        upload = await anyio.to_thread.run_sync(resumable.load, lib, ref, upload_id)
        upload, result = await _settled(lib, ref, upload)
    except MediaSyncError as exc:
        status = tus_error(exc).status_code
        return Response(None, status_code=status, headers=tus_headers(), media_type=MediaType.TEXT)
    headers = {**state_headers(upload, result), "Cache-Control": "no-store"}
    return Response(None, status_code=200, headers=headers, media_type=MediaType.TEXT)


@patch(
    ONE,
    request_max_body_size=None,
    status_code=204,
    tags=TAGS,
    summary="Append to a resumable upload",
    description=APPEND_UPLOAD_DOC,
)
async def append_upload(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    upload_id: str,
    source: str | None = None,
) -> Response[None]:
    """tus PATCH: append at the stored offset; the last byte commits the upload."""
    if IETF_VERSION in request.headers:
        ref = await _project(lib, source, project)
        return await ietf.ietf_append(request, lib, ref, upload_id)
    refused = version_refused(request)
    if refused is not None:
        return refused
    try:
        if not _offset_stream(request):
            sent = request.headers.get("content-type", "no Content-Type")[:80]
            raise UnsupportedMediaType(
                f"a tus PATCH carries Content-Type: {OFFSET_STREAM} (got {sent})"
            )
        offset = int_header(request, "upload-offset")
        if offset is None:
            raise InvalidInput("send Upload-Offset: where these bytes start")
        checksum = parse_checksum(request.headers.get("upload-checksum"))
        ref = await _project(lib, source, project)
        upload, result = await receive_into(request, lib, ref, upload_id, offset, checksum)
    except MediaSyncError as exc:
        stands = exc.extra.get("offset")
        return tus_error(exc, **({"Upload_Offset": str(stands)} if stands is not None else {}))
    return Response(None, status_code=204, headers=state_headers(upload, result))


@delete(
    ONE,
    status_code=204,
    tags=TAGS,
    summary="Terminate a resumable upload",
    description=TERMINATE_UPLOAD_DOC,
)
async def terminate_upload(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    upload_id: str,
    source: str | None = None,
) -> Response[None]:
    """tus termination: remove the spool."""
    if IETF_VERSION in request.headers:
        ref = await _project(lib, source, project)
        return await ietf.ietf_delete(request, lib, ref, upload_id)
    refused = version_refused(request)
    if refused is not None:
        return refused
    try:
        ref = await _project(lib, source, project)
        await anyio.to_thread.run_sync(resumable.terminate, lib, ref, upload_id)
    except MediaSyncError as exc:
        return tus_error(exc)
    return Response(None, status_code=204, headers=tus_headers())


@get(ONE, tags=TAGS, summary="A resumable upload's state as JSON", description=UPLOAD_STATE_DOC)
async def upload_state(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    upload_id: str,
    source: str | None = None,
) -> dict[str, Any]:
    """The upload's state as JSON, for people and Shortcuts."""
    ref = await _project(lib, source, project)
    upload = await anyio.to_thread.run_sync(resumable.load, lib, ref, upload_id)
    upload, _ = await _settled(lib, ref, upload)
    return {
        "id": upload.id,
        "url": _location(request, lib, ref, upload.id),
        "project": ref.name,
        "source": ref.source.name,
        "filename": upload.filename,
        "protocol": upload.protocol,
        "offset": upload.offset,
        "length": upload.length,
        "created_at": upload.created_at,
        "expires_at": upload.expires_at,
        "batch_id": upload.batch_id,
        "complete": upload.result is not None,
        "result": upload.result,
    }


ROUTES = [tus_options, create_upload, upload_offset, append_upload, terminate_upload, upload_state]
