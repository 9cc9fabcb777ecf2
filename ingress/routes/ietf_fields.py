"""Reading the IETF resumable-upload request fields: the interop version, structured-field
Booleans and Integers, the file name, and the representation's length (see ingress.routes.ietf)."""

from __future__ import annotations

from email.message import Message
from typing import Any
from urllib.parse import unquote

from litestar import Request

from daemon.errors import InvalidInput, PayloadTooLarge
from ingress.deps import Lib

VERSIONS = range(3, 9)
PARTIAL_UPLOAD = "application/partial-upload"
PROBLEM = "https://iana.org/assignments/http-problem-types#"


def interop_version(request: Request[Any, Any, Any]) -> int:
    raw = request.headers.get("upload-draft-interop-version", "").strip()
    if raw.isdigit() and int(raw) in VERSIONS:
        return int(raw)
    raise InvalidInput(
        f"Upload-Draft-Interop-Version {raw[:20]!r} is not spoken here: use 3 to 8, or tus "
        "(Tus-Resumable: 1.0.0)",
        supported=[str(v) for v in VERSIONS],
    )


def sf_boolean(value: str | None) -> bool | None:
    """A structured-field Boolean (`?0`, `?1`); anything else means the field is ignored."""
    text = (value or "").strip()
    return {"?1": True, "?0": False}.get(text)


def sf_integer(value: str | None) -> int | None:
    """A non-negative structured-field Integer (at most 15 digits), else None."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 15 and text.isascii() else None


def completes(request: Request[Any, Any, Any], version: int, *, creating: bool) -> bool:
    """Whether this request's body ends the representation."""
    if version == 3:
        incomplete = sf_boolean(request.headers.get("upload-incomplete"))
        if incomplete is None and creating:
            raise InvalidInput("Upload-Incomplete: ?0 or ?1 is required (interop version 3)")
        return not incomplete  # an append without it is the last one (draft -01)
    complete = sf_boolean(request.headers.get("upload-complete"))
    if complete is None:
        raise InvalidInput("Upload-Complete: ?0 or ?1 is required")
    return complete


def filename_of(request: Request[Any, Any, Any]) -> str:
    """Content-Disposition's filename (or filename*), X-Filename, or the last part of ?filename=."""
    disposition = request.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        found = message.get_filename()
        if found:
            return str(found)
    header = request.headers.get("x-filename")
    raw = unquote(header) if header else request.query_params.get("filename", "")
    name = raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise InvalidInput(
            'name the file: Content-Disposition: attachment; filename="clip.mov", '
            "X-Filename: clip.mov, or ?filename=clip.mov"
        )
    return name


def inconsistent(detail: str) -> InvalidInput:
    return InvalidInput(detail, type=PROBLEM + "inconsistent-upload-length")


def length_of(request: Request[Any, Any, Any], lib: Lib, offset: int, last: bool) -> int | None:
    """The representation's length as this request tells it (Upload-Length, or offset plus
    Content-Length of the last piece): 400 when they disagree, 413 over the upload limit."""
    declared = sf_integer(request.headers.get("upload-length"))
    content = sf_integer(request.headers.get("content-length"))
    implied = offset + content if last and content is not None else None
    if declared is not None and implied is not None and declared != implied:
        raise inconsistent(
            f"Upload-Length {declared} disagrees with the {implied} bytes that offset {offset} "
            f"plus Content-Length {content} make"
        )
    length = declared if declared is not None else implied
    biggest = max(length or 0, offset + (content or 0))
    if biggest > lib.settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"upload of {biggest} bytes is larger than MEDIA_SYNC_MAX_UPLOAD_MB "
            f"({lib.settings.max_upload_mb} MiB)"
        )
    return length
