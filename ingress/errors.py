"""The one place where media-sync errors become HTTP responses, all shaped `{"detail": ...}`."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from daemon import errors as e

log = logging.getLogger("media_sync.ingress")

STATUS: list[tuple[type[e.MediaSyncError], int]] = [
    (e.UnsupportedMediaType, 415),
    (e.PayloadTooLarge, 413),
    (e.ChecksumMismatch, 460),  # tus checksum extension: "Checksum Mismatch"
    (e.InvalidInput, 400),
    (e.UploadExpired, 410),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.StorageFull, 507),
    (e.Unavailable, 503),
    (e.CorruptFile, 503),
    (e.CatalogError, 503),
    (e.ClientDisconnected, 400),
    (e.SettingsError, 500),
]


def status_for(exc: e.MediaSyncError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def error_body(status: int, detail: str, error: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"detail": detail, "error": error, "status_code": status}
    body.update(extra)
    return body


def handle_media_sync_error(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    assert isinstance(exc, e.MediaSyncError)
    status = status_for(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.detail)
    return Response(
        error_body(status, exc.detail, type(exc).__name__, **exc.extra),
        status_code=status,
        media_type=MediaType.JSON,
    )


def handle_http_exception(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    extra: dict[str, object] = {}
    if exc.extra:
        extra["errors"] = exc.extra
    return Response(
        error_body(exc.status_code, detail, type(exc).__name__, **extra),
        status_code=exc.status_code,
        media_type=MediaType.JSON,
        headers=exc.headers,
    )


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    log.exception("unhandled error", exc_info=exc)
    return Response(
        error_body(500, "internal error; see the server log", "InternalError"),
        status_code=500,
        media_type=MediaType.JSON,
    )


EXCEPTION_HANDLERS = {
    e.MediaSyncError: handle_media_sync_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


async def send_error(
    send: Any,
    status: int,
    detail: str,
    error: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    """Answer a raw ASGI request with the one JSON error shape (for middleware and the server
    protocol, which answer before any route runs)."""
    content = json.dumps(error_body(status, detail, error)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content, "more_body": False})
