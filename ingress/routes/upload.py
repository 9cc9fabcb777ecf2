"""Uploads: multipart (`file`/`files`) and raw-body PUT, streamed to disk while hashing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post, put

from daemon.conventions import clean_upload_name
from daemon.errors import EmptyUpload, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from daemon.ingest import IngestResult, ingest_upload
from daemon.mediatypes import ACCEPTED_EXTENSIONS, is_media
from daemon.projects import ProjectRef
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
    return {
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


async def _store(lib: Lib, ref: ProjectRef, writer: PipelinedWriter, name: str) -> IngestResult:
    try:
        digest = await writer.finish()
    except BaseException:
        writer.abort()
        raise
    return await anyio.to_thread.run_sync(ingest_upload, lib, ref, writer.writer.path, name, digest)


@dataclass(frozen=True)
class Refused:
    """A file part refused on its own (wrong type, empty) while the others go on."""

    filename: str
    error: InvalidInput

    def body(self) -> dict[str, Any]:
        return {
            "status": "refused",
            "filename": self.filename,
            "detail": self.error.detail,
            "error": type(self.error).__name__,
            "status_code": status_for(self.error),
        }


Outcome = tuple[str, IngestResult] | Refused


async def receive_multipart(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef
) -> list[Outcome]:
    """Every file part of the body, each stored, found duplicate or refused on its own."""
    parser = MultipartParser(boundary_from(request.headers.get("content-type", "")))
    outcomes: list[Outcome] = []
    writer: PipelinedWriter | None = None
    name = ""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
        try:
            async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                for event in parser.feed(chunk):
                    if isinstance(event, PartStart):
                        if event.name in FILE_FIELDS or event.filename:
                            try:
                                name = check_upload_name(event.filename)
                            except InvalidInput as exc:
                                outcomes.append(Refused(event.filename or "", exc))
                                continue
                            writer = PipelinedWriter(ref.originals, name, executor)
                    elif isinstance(event, PartData):
                        if writer is not None:
                            await writer.write(event.data)
                    elif isinstance(event, PartEnd) and writer is not None:
                        current, writer = writer, None
                        try:
                            outcomes.append((name, await _store(lib, ref, current, name)))
                        except EmptyUpload as exc:
                            outcomes.append(Refused(name, exc))
            parser.close()
        finally:
            if writer is not None:
                writer.abort()
    if not outcomes:
        raise InvalidInput("no file found in the body: send multipart field 'file'")
    return outcomes


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
    outcomes = await receive_multipart(request, lib, ref)
    refused = [o for o in outcomes if isinstance(o, Refused)]
    if len(refused) == len(outcomes):
        raise refused[0].error  # nothing was stored: the request as a whole failed
    bodies = [
        o.body() if isinstance(o, Refused) else result_body(request, lib, o[1], o[0])
        for o in outcomes
    ]
    if len(bodies) == 1:
        return Response(bodies[0], status_code=200)
    counts = {s: sum(b["status"] == s for b in bodies) for s in ("stored", "duplicate", "refused")}
    hint = f"{counts['stored']} stored, {counts['duplicate']} already there"
    if counts["refused"]:
        hint += f", {counts['refused']} refused (see each file's 'detail')"
    return Response(
        {
            "files": bodies,
            "stored": counts["stored"],
            "duplicates": counts["duplicate"],
            "refused": counts["refused"],
            "instructions": hint + ".",
        },
        status_code=200,
    )


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
