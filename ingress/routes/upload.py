"""Uploads: multipart (`file`/`files`) and raw-body PUT, streamed to disk while hashing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post, put

from daemon.errors import (
    EmptyUpload,
    InvalidInput,
    MediaSyncError,
    PayloadTooLarge,
    StorageFull,
    UnsupportedMediaType,
)
from daemon.ingest.pipeline import IngestResult, ingest_upload
from daemon.mediatypes import ACCEPTED_EXTENSIONS, is_media
from daemon.storage.conventions import clean_upload_name
from daemon.storage.indexfile import write_index_or_mark
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.spool import full_means_storage_full
from ingress.deps import Lib
from ingress.errors import status_for
from ingress.multipart import MultipartParser, PartData, PartEnd, PartStart, boundary_from
from ingress.receive import PipelinedWriter, limited
from ingress.urls import base_url, media_url

FILE_FIELDS = {"file", "files"}


def check_upload_name(raw: str | None) -> str:
    """A safe stored name with an accepted media extension, or 400/415."""
    if not raw:
        raise InvalidInput("the file part has no filename")
    name = clean_upload_name(raw)
    if not is_media(name):
        raise UnsupportedMediaType(
            f"{raw!r} is not a supported media file; accepted extensions: "
            + " ".join(ACCEPTED_EXTENSIONS),
            accepted=list(ACCEPTED_EXTENSIONS),
        )
    return name


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


async def _store(
    lib: Lib, ref: ProjectRef, writer: PipelinedWriter, name: str, *, batch: bool = False
) -> IngestResult:
    """Finish the temp and ingest it; the temp stays locked until it is placed or removed."""
    try:
        digest = await writer.finish()
        return await anyio.to_thread.run_sync(
            partial(ingest_upload, batch=batch), lib, ref, writer.writer.path, name, digest
        )
    finally:
        writer.abort()


@dataclass(frozen=True)
class Refused:
    """A file part refused on its own (wrong type, empty, disk full) while the others go on."""

    filename: str
    error: MediaSyncError

    def body(self) -> dict[str, Any]:
        return {
            "status": "refused",
            "filename": self.filename,
            "detail": self.error.detail,
            "error": type(self.error).__name__,
            "status_code": status_for(self.error),
        }


Outcome = tuple[str, IngestResult] | Refused


@dataclass
class Received:
    """What a multipart request did, part by part, and why it stopped early (if it did)."""

    outcomes: list[Outcome] = field(default_factory=list)
    stopped: MediaSyncError | None = None  # too many parts, disk full
    warnings: list[str] = field(default_factory=list)

    @property
    def committed(self) -> bool:
        return any(not isinstance(o, Refused) for o in self.outcomes)


class _MultipartReceiver:
    """Feeds the parser and stores each file part as it ends (index.json written once, after)."""

    def __init__(self, lib: Lib, ref: ProjectRef, executor: ThreadPoolExecutor) -> None:
        self.lib, self.ref, self.executor = lib, ref, executor
        self.received = Received()
        self.writer: PipelinedWriter | None = None
        self.name = ""
        self.parts = 0

    def start(self, event: PartStart) -> None:
        if not (event.name in FILE_FIELDS or event.filename):
            return
        self.parts += 1
        limit = self.lib.settings.max_parts
        if self.parts > limit:
            raise _Stop(
                PayloadTooLarge(
                    f"more than {limit} file parts in one request (MEDIA_SYNC_MAX_PARTS); the "
                    f"first {limit} were handled as listed in 'files', the rest was not read: "
                    "send them in another request"
                )
            )
        try:
            self.name = check_upload_name(event.filename)
        except InvalidInput as exc:
            self.received.outcomes.append(Refused(event.filename or "", exc))
            return
        try:
            self.writer = PipelinedWriter(self.ref.originals, self.name, self.executor)
        except StorageFull as exc:
            raise _Stop(exc, self.name) from exc

    async def end(self) -> None:
        current, self.writer = self.writer, None
        if current is None:
            return
        try:
            result = await _store(self.lib, self.ref, current, self.name, batch=True)
            self.received.outcomes.append((self.name, result))
        except EmptyUpload as exc:
            self.received.outcomes.append(Refused(self.name, exc))
        except StorageFull as exc:
            raise _Stop(exc, self.name) from exc

    async def feed(self, chunk: bytes, parser: MultipartParser) -> None:
        for event in parser.feed(chunk):
            if isinstance(event, PartStart):
                self.start(event)
            elif isinstance(event, PartData):
                if self.writer is not None:
                    try:
                        await self.writer.write(event.data)
                    except StorageFull as exc:
                        raise _Stop(exc, self.name) from exc
            elif isinstance(event, PartEnd):
                await self.end()


class _Stop(Exception):
    """Stop reading the body: the error, and the part it refused (if one)."""

    def __init__(self, error: MediaSyncError, filename: str | None = None) -> None:
        super().__init__(error.detail)
        self.error, self.filename = error, filename


async def receive_multipart(request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef) -> Received:
    """Every file part of the body, each stored, found duplicate or refused on its own; stops at
    MEDIA_SYNC_MAX_PARTS, a full disk or a client gone. index.json is rewritten once at the end
    (also when the client left): what was committed stays committed and listed."""
    parser = MultipartParser(boundary_from(request.headers.get("content-type", "")))
    with full_means_storage_full(ref.path, "nothing was stored"):
        await anyio.to_thread.run_sync(ensure_layout, ref)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
        receiver = _MultipartReceiver(lib, ref, executor)
        try:
            async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                await receiver.feed(chunk, parser)
            parser.close()
        except _Stop as stop:
            receiver.received.stopped = stop.error
            if stop.filename is not None:
                receiver.received.outcomes.append(Refused(stop.filename, stop.error))
        except InvalidInput as exc:  # too large, malformed: reported beside what was committed
            if not receiver.received.committed:
                raise
            receiver.received.stopped = exc
        finally:
            if receiver.writer is not None:
                receiver.writer.abort()
            if receiver.received.committed:
                warning = await anyio.to_thread.run_sync(
                    write_index_or_mark, lib.settings, ref, lib.catalog
                )
                receiver.received.warnings += [warning] if warning else []
    if not receiver.received.outcomes:
        raise receiver.received.stopped or InvalidInput(
            "no file found in the body: send multipart field 'file'"
        )
    return receiver.received


@post("/api/projects/{project:str}/upload", request_max_body_size=None, status_code=200)
async def upload(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    source: str | None = None,
) -> Response[Any]:
    """Multipart upload (`file`, or several `files`); 200 for stored and duplicate alike."""
    _precheck(request, lib)
    ref = await anyio.to_thread.run_sync(lib.project, source, project)
    received = await receive_multipart(request, lib, ref)
    outcomes = received.outcomes
    refused = [o for o in outcomes if isinstance(o, Refused)]
    if len(refused) == len(outcomes):
        raise refused[0].error  # nothing was stored: the request as a whole failed
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


@put("/api/projects/{project:str}/files/{filename:str}", request_max_body_size=None)
async def upload_raw(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    filename: str,
    source: str | None = None,
) -> Response[Any]:
    """Raw-body upload: the request body is the file, the last path segment its name."""
    _precheck(request, lib)
    name = check_upload_name(filename)
    ref = await anyio.to_thread.run_sync(lib.project, source, project)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
        writer = PipelinedWriter(ref.originals, name, executor)
        try:
            async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                await writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        result = await _store(lib, ref, writer, name)
    return Response(result_body(request, lib, result, name), status_code=200)


ROUTES = [upload, upload_raw]
