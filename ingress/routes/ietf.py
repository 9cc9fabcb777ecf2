"""IETF resumable uploads (draft-ietf-httpbis-resumable-upload, the protocol iOS 17+ URLSession
speaks) on the tus creation URL, sharing its spool (daemon.ingest.resumable) and its commit.

ingress.routes.uploads sends here every request that carries `Upload-Draft-Interop-Version`.
Interop versions 3 to 8 are spoken; what changes between them (clients seen: iOS 17.0 sends 3,
iOS 18.0 sends 5, iOS 18.1 sends 6):

| interop | drafts   | "last piece?" header          | what else differs here                  |
| ------- | -------- | ----------------------------- | --------------------------------------- |
| 3       | -01      | `Upload-Incomplete: ?1`: more | appends answer 201; no `Upload-Limit`   |
| 4       | -02      | `Upload-Complete: ?1`: last   | as 3, with the header turned round      |
| 5       | -03      | `Upload-Complete`             | (104 may also report progress)          |
| 6       | -04, -05 | `Upload-Complete`             | PATCH must be `application/partial-     |
|         |          |                               | upload` (else 415); `Upload-Limit:      |
|         |          |                               | max-size,expires`; `Upload-Length` (-05)|
| 7       | -06..-08 | `Upload-Complete`             | `Upload-Limit` says `max-age` (was      |
|         |          |                               | expires); unfinished appends answer 204 |
| 8       | -09..-12 | `Upload-Complete`             | as 7 (`Upload-Limit` also required on   |
|         |          |                               | OPTIONS, which routes.uploads answers)  |

Common to all: create with any body at `POST .../uploads` (the body may be empty and incomplete,
to learn the upload's URL first); `HEAD <upload>` answers 204 with `Upload-Offset` (and
`Upload-Length` when known); `PATCH <upload>` with `Upload-Offset` appends; `DELETE` cancels (204).
A wrong `Upload-Offset` is 409 with the right one in `Upload-Offset` (and the problem type
`mismatching-upload-offset`, `expected-offset`, `provided-offset`); lengths that disagree
(`Upload-Length` vs. `Content-Length` of the last piece) are 400 (`inconsistent-upload-length`).
Every answer carries `Upload-Draft-Interop-Version` and the completeness header.
The file name comes from `Content-Disposition` (`filename` / `filename*`), else `X-Filename`
(percent-decoded), else the last segment of `?filename=`; a non-media name is 415 and a known
length over MEDIA_SYNC_MAX_UPLOAD_MB is 413, both before any byte is read. The last byte commits
through the one pipeline (`resumable.complete`): the answer is the ordinary upload's JSON
(`stored` or `duplicate`), 200, with `Location`, `Upload-Offset` and the completeness header.
A body cut short keeps what arrived (made durable): HEAD tells the offset, PATCH goes on. A
request on an upload that an older append still holds (a dropped connection the server has not
noticed yet) takes over from it, as the draft recommends (ingress.routes.ietf_body).

The 104 (Upload Resumption Supported) interim response: uvicorn's HTTP/1.1 protocols send no
informational response but `100 Continue`; ingress.server offers an `http.response.informational`
ASGI extension that writes it, so a 104 with `Location` (and `Upload-Limit` from interop 6) goes
out before the body is read and a creation request that carries the whole file resumes after a
drop. Without the extension (another ASGI server), the nearest right thing, which the draft
allows: create with an empty body and `Upload-Complete: ?0` (interop 3: `Upload-Incomplete: ?1`),
take `Location` from the 201, then PATCH the bytes (resumable from the first one).
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response

from daemon.errors import (
    InvalidInput,
    MediaSyncError,
    OffsetMismatch,
    UnsupportedMediaType,
    UploadFinished,
)
from daemon.ingest import resumable
from daemon.ingest.resumable import Upload
from daemon.storage.projects import ProjectRef
from ingress.deps import Lib
from ingress.errors import error_body, status_for
from ingress.routes.ietf_body import announce, in_thread, outwait, receive_into, settled
from ingress.routes.ietf_fields import (
    PARTIAL_UPLOAD,
    PROBLEM,
    completes,
    filename_of,
    inconsistent,
    interop_version,
    length_of,
    sf_integer,
)
from ingress.routes.upload import result_body
from ingress.sessions import batch_id_of
from ingress.urls import base_url, source_query

log = logging.getLogger("media_sync.ingress")


def location_of(request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str) -> str:
    base = base_url(request, lib.settings)
    query = source_query(ref.source.name)
    return f"{base}/api/projects/{quote(ref.name)}/uploads/{upload_id}{query}"


def _seconds_left(upload: Upload) -> int:
    expires = datetime.strptime(upload.expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return max(0, int(expires.timestamp() - time.time()))


def upload_limit(lib: Lib, version: int, upload: Upload | None) -> str:
    """The `Upload-Limit` dictionary (interop 6+)."""
    limits = f"max-size={lib.settings.max_upload_bytes}"
    if upload is None:
        return "min-size=0," + limits
    return limits + f",{'expires' if version == 6 else 'max-age'}={_seconds_left(upload)}"


def state_headers(
    lib: Lib, version: int, upload: Upload | None, complete: bool, location: str | None = None
) -> dict[str, str]:
    """The headers every IETF answer carries: version, completeness, offset, length, limits."""
    if version == 3:
        headers = {"Upload-Incomplete": "?0" if complete else "?1"}
    else:
        headers = {"Upload-Complete": "?1" if complete else "?0"}
    headers["Upload-Draft-Interop-Version"] = str(version)
    headers["Cache-Control"] = "no-store"
    if upload is not None:
        headers["Upload-Offset"] = str(upload.offset)
        if upload.length is not None:
            headers["Upload-Length"] = str(upload.length)
    if version >= 6:
        headers["Upload-Limit"] = upload_limit(lib, version, upload)
    if location is not None:
        headers["Location"] = location
    return headers


def error_answer(
    lib: Lib, exc: MediaSyncError, version: int | None, upload: Upload | None
) -> Response[Any]:
    """The one JSON error shape, plus the protocol's headers (completeness false: the upload
    itself, not the file's processing, refused this request; resuming may help)."""
    status = status_for(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.detail)
    headers = {} if version is None else state_headers(lib, version, upload, complete=False)
    return Response(
        error_body(status, exc.detail, type(exc).__name__, **exc.extra),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


async def _failed(
    lib: Lib, ref: ProjectRef, exc: MediaSyncError, version: int | None, upload: Upload | None
) -> Response[Any]:
    """``error_answer`` with the upload's state read again (a failed body moved its offset)."""
    if upload is not None:
        with contextlib.suppress(MediaSyncError):
            upload = await in_thread(resumable.load, lib, ref, upload.id)
    return error_answer(lib, exc, version, upload)


async def _set_length(lib: Lib, ref: ProjectRef, upload_id: str, length: int) -> Upload:
    return await outwait(
        upload_id, partial(in_thread, resumable.set_length, lib, ref, upload_id, length)
    )


async def _commit(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, version: int, upload: Upload
) -> Response[Any]:
    """The last byte is in: fix the length if it was open, commit once, answer the result."""
    if upload.length is None:
        upload = await _set_length(lib, ref, upload.id, upload.offset)
    if upload.offset != upload.length:
        raise inconsistent(
            f"the request said it ended the upload at byte {upload.offset}, but its length "
            f"is {upload.length}"
        )
    result = await in_thread(resumable.complete, lib, ref, upload)
    headers = state_headers(lib, version, upload, True, location_of(request, lib, ref, upload.id))
    body = result_body(request, lib, result, upload.filename)
    return Response(body, status_code=200, headers=headers)


def _body_expected(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("content-length", "").strip() != "0"


def _pending_body(upload: Upload, location: str) -> dict[str, Any]:
    return {
        "id": upload.id,
        "upload_url": location,
        "filename": upload.filename,
        "offset": upload.offset,
        "length": upload.length,
        "complete": False,
        "instructions": f"Send the rest with PATCH {location} (Upload-Offset: {upload.offset}); "
        "HEAD it to learn the offset after a drop.",
    }


async def ietf_create(request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef) -> Response[Any]:
    """Upload creation: the body (maybe empty) is the representation's start or all of it."""
    version: int | None = None
    upload: Upload | None = None
    try:
        version = interop_version(request)
        last = completes(request, version, creating=True)
        name = filename_of(request)
        length = length_of(request, lib, 0, last)
        batch = batch_id_of(request, request.query_params.get("batch_id"))
        upload = await in_thread(
            resumable.create,
            lib,
            ref,
            filename=name,
            length=length,
            metadata={},
            batch_id=batch,
            protocol="ietf",
        )
        location = location_of(request, lib, ref, upload.id)
        interim = {"Location": location, "Upload-Draft-Interop-Version": str(version)}
        if version >= 6:
            interim["Upload-Limit"] = upload_limit(lib, version, upload)
        await announce(request, interim)
        if _body_expected(request):
            upload = await receive_into(request, lib, ref, upload.id, 0)
        if last:
            return await _commit(request, lib, ref, version, upload)
        headers = state_headers(lib, version, upload, False, location)
        return Response(_pending_body(upload, location), status_code=201, headers=headers)
    except MediaSyncError as exc:
        return await _failed(lib, ref, exc, version, upload)


async def ietf_head(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str
) -> Response[Any]:
    """Offset retrieval: 204 with Upload-Offset, the completeness and the known length."""
    version: int | None = None
    try:
        version = interop_version(request)
        upload = await settled(lib, ref, upload_id)
        headers = state_headers(lib, version, upload, upload.result is not None)
        return Response(None, status_code=204, headers=headers)
    except MediaSyncError as exc:
        return error_answer(lib, exc, version, None)


def _mismatch(upload: Upload, provided: int) -> OffsetMismatch:
    return OffsetMismatch(
        f"Upload-Offset {provided} does not match the {upload.offset} bytes stored: resume "
        f"from {upload.offset}",
        type=PROBLEM + "mismatching-upload-offset",
        **{"expected-offset": upload.offset, "provided-offset": provided},
    )


async def ietf_append(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str
) -> Response[Any]:
    """Upload append (PATCH): more bytes at Upload-Offset; the last one commits."""
    version: int | None = None
    upload: Upload | None = None
    try:
        version = interop_version(request)
        upload = await settled(lib, ref, upload_id)  # an older append left running ends first
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if version >= 6 and media_type != PARTIAL_UPLOAD:
            raise UnsupportedMediaType(
                f"an append must be Content-Type: {PARTIAL_UPLOAD} (interop version 6 and up)",
                accepted=[PARTIAL_UPLOAD],
            )
        offset = sf_integer(request.headers.get("upload-offset"))
        if offset is None:
            raise InvalidInput("Upload-Offset (the byte the body starts at) is required")
        last = completes(request, version, creating=False)
        if upload.result is not None:
            if offset == upload.offset and last and not _body_expected(request):
                headers = state_headers(lib, version, upload, True)  # the lost answer, again
                return Response(upload.result, status_code=200, headers=headers)
            raise UploadFinished(
                "this upload is complete and committed; nothing more can be appended",
                type=PROBLEM + "completed-upload",
            )
        if offset != upload.offset:
            raise _mismatch(upload, offset)
        length = length_of(request, lib, offset, last)
        if length is not None and length != upload.length:
            if upload.length is not None:
                raise inconsistent(f"the upload's length is {upload.length}, not {length}")
            upload = await _set_length(lib, ref, upload_id, length)
        if _body_expected(request):
            try:
                upload = await receive_into(request, lib, ref, upload_id, offset)
            except OffsetMismatch:
                upload = await settled(lib, ref, upload_id)
                raise _mismatch(upload, offset) from None
        if last:
            return await _commit(request, lib, ref, version, upload)
        headers = state_headers(lib, version, upload, False)
        return Response(None, status_code=201 if version <= 6 else 204, headers=headers)
    except MediaSyncError as exc:
        return await _failed(lib, ref, exc, version, upload)


async def ietf_delete(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str
) -> Response[Any]:
    """Upload cancellation: the spool is removed; 204."""
    version: int | None = None
    try:
        version = interop_version(request)
        await outwait(upload_id, partial(in_thread, resumable.terminate, lib, ref, upload_id))
        headers = {"Upload-Draft-Interop-Version": str(version)}
        return Response(None, status_code=204, headers=headers)
    except MediaSyncError as exc:
        return error_answer(lib, exc, version, None)
