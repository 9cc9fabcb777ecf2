"""tus 1.0.0 on the wire: its headers parsed and made, errors answered with them, and a request
body streamed into a resumable upload (``daemon.ingest.resumable``) on a worker thread."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, TypeVar
from urllib.parse import quote

from litestar import MediaType, Request, Response

from daemon.errors import ClientDisconnected, InvalidInput, MediaSyncError, PayloadTooLarge
from daemon.ingest import resumable
from daemon.ingest.pipeline import IngestResult
from daemon.ingest.resumable_spool import Upload, http_date
from daemon.library import Library
from daemon.storage.projects import ProjectRef
from ingress.errors import error_body, status_for
from ingress.receive import Pipeline, limited

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_STREAM = "application/offset+octet-stream"
IETF_VERSION = "upload-draft-interop-version"
# What a page from another origin may read of the answers (MEDIA_SYNC_CORS_ORIGINS).
EXPOSED = [
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Upload-Metadata",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "X-Media-Sync-Status",
    "X-Media-Sync-Path",
    "X-Media-Sync-SHA256",
]

T = TypeVar("T")


def tus_headers(**extra: str) -> dict[str, str]:
    """``Tus-Resumable`` (every tus answer but OPTIONS carries it) plus ``extra``, with
    underscores written as dashes."""
    return {"Tus-Resumable": TUS_VERSION, **{k.replace("_", "-"): v for k, v in extra.items()}}


def tus_error(exc: MediaSyncError, **extra: str) -> Response[Any]:
    """The one JSON error shape and status (``ingress.errors``), with the tus headers."""
    status = status_for(exc)
    return Response(
        error_body(status, exc.detail, type(exc).__name__, **exc.extra),
        status_code=status,
        media_type=MediaType.JSON,
        headers=tus_headers(**extra),
    )


def version_refused(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """412 with ``Tus-Version`` unless the request says ``Tus-Resumable: 1.0.0``."""
    sent = request.headers.get("tus-resumable")
    if sent == TUS_VERSION:
        return None
    detail = (
        f"this server speaks tus {TUS_VERSION}: send 'Tus-Resumable: {TUS_VERSION}' "
        f"(got {sent[:40]!r})"
        if sent
        else f"send 'Tus-Resumable: {TUS_VERSION}' (tus) or 'Upload-Draft-Interop-Version' (IETF)"
    )
    return Response(
        error_body(412, detail, "PreconditionFailed"),
        status_code=412,
        media_type=MediaType.JSON,
        headers={"Tus-Version": TUS_VERSION},
    )


def int_header(request: Request[Any, Any, Any], name: str) -> int | None:
    """A non-negative integer header, None when absent; 400 when it is not one."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit() or len(raw.strip()) > 19:
        raise InvalidInput(f"{name} must be a non-negative integer (got {raw[:40]!r})")
    return int(raw)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (value optional)."""
    found: dict[str, str] = {}
    for pair in (raw or "").split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not key:
            continue
        if key in found or " " in encoded.strip():
            raise InvalidInput(f"Upload-Metadata has a repeated or malformed key {key[:40]!r}")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                f"Upload-Metadata value of {key[:40]!r} is not base64 of UTF-8 text"
            ) from None
    return found


def parse_checksum(raw: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; 400 for an algorithm we do not have."""
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in resumable.CHECKSUMS:
        raise InvalidInput(
            f"Upload-Checksum algorithm {algorithm[:20]!r} is not supported; use one of "
            + ", ".join(resumable.CHECKSUMS)
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise InvalidInput("Upload-Checksum digest is not base64") from None


def state_headers(upload: Upload, result: IngestResult | None = None) -> dict[str, str]:
    """Where an upload stands: offset, length, expiry, and (once committed) what became of it."""
    headers = tus_headers(
        Upload_Offset=str(upload.offset), Upload_Expires=http_date(upload.expires_at)
    )
    if upload.length is not None:
        headers["Upload-Length"] = str(upload.length)
    stored = upload.result
    if result is not None:
        headers["X-Media-Sync-Status"] = result.status
        headers["X-Media-Sync-Path"] = quote(result.rel_path)
        headers["X-Media-Sync-SHA256"] = result.digest.sha256
    elif stored is not None:
        headers["X-Media-Sync-Status"] = str(stored["status"])
        headers["X-Media-Sync-Path"] = quote(str(stored["path"]))
        headers["X-Media-Sync-SHA256"] = str(stored["sha256"])
    return headers


async def receive_into(
    request: Request[Any, Any, Any],
    lib: Library,
    ref: ProjectRef,
    upload_id: str,
    offset: int,
    checksum: tuple[str, bytes] | None,
) -> tuple[Upload, IngestResult | None]:
    """Append the request body at ``offset`` (disk writes and hashing pipelined on a thread),
    make it durable, and commit the upload when that was its last byte. A client that drops
    mid-body keeps what arrived (unless a checksum was announced: then nothing of it)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="resumable") as executor:

        def run(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
            # the request's context (its client address) goes along into the worker
            return asyncio.wrap_future(executor.submit(copy_context().run, function, *args))

        block = resumable.append(lib, ref, upload_id, offset)
        appender = await run(block.__enter__)
        try:
            if checksum is not None:
                appender.expect_checksum(*checksum)
            announced = int_header(request, "content-length")
            if announced is not None and announced > appender.limit:
                raise PayloadTooLarge(
                    f"the request carries {announced} bytes but the upload takes only "
                    f"{appender.limit} more (Upload-Length {appender.upload.length})"
                )
            pipe = Pipeline(appender.write_many, executor)
            try:
                async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                    await pipe.write(chunk)
                await pipe.drain()
            except ClientDisconnected:
                try:
                    if checksum is None:  # keep what arrived: the client resumes from there
                        await pipe.drain()
                        await run(appender.durable)
                finally:
                    pipe.cancel()
                raise
            except BaseException:
                pipe.cancel()
                raise
            upload = await run(appender.durable)
            result = await run(resumable.complete, lib, ref, upload) if upload.complete else None
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await run(block.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await run(block.__exit__, None, None, None)
    return upload, result
