"""Uploads: multipart (`file`/`files`) and raw-body PUT, streamed to disk while hashing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post, put

from daemon.conventions import clean_upload_name
from daemon.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from daemon.ingest import IngestResult, ingest_upload
from daemon.mediatypes import ACCEPTED_EXTENSIONS, is_media
from daemon.projects import ProjectRef
from ingress.deps import Lib
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


async def receive_multipart(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef
) -> list[tuple[str, IngestResult]]:
    parser = MultipartParser(boundary_from(request.headers.get("content-type", "")))
    results: list[tuple[str, IngestResult]] = []
    writer: PipelinedWriter | None = None
    name = ""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
        try:
            async for chunk in limited(request.stream(), lib.settings.max_upload_bytes):
                for event in parser.feed(chunk):
                    if isinstance(event, PartStart):
                        if event.name in FILE_FIELDS or event.filename:
                            name = check_upload_name(event.filename)
                            writer = PipelinedWriter(ref.originals, name, executor)
                    elif isinstance(event, PartData):
                        if writer is not None:
                            await writer.write(event.data)
                    elif isinstance(event, PartEnd) and writer is not None:
                        current, writer = writer, None
                        results.append((name, await _store(lib, ref, current, name)))
            parser.close()
        finally:
            if writer is not None:
                writer.abort()
    if not results:
        raise InvalidInput("no file found in the body: send multipart field 'file'")
    return results


@post("/api/projects/{project:str}/upload", request_max_body_size=None)
async def upload(
    request: Request[Any, Any, Any],
    lib: Lib,
    project: str,
    source: str | None = None,
) -> Response[Any]:
    """Multipart upload (`file`, or several `files`); 200 for stored and duplicate alike."""
    _precheck(request, lib)
    ref = await anyio.to_thread.run_sync(lib.project, source, project)
    results = await receive_multipart(request, lib, ref)
    bodies = [result_body(request, lib, result, name) for name, result in results]
    if len(bodies) == 1:
        return Response(bodies[0], status_code=200)
    return Response(
        {
            "files": bodies,
            "stored": sum(b["status"] == "stored" for b in bodies),
            "duplicates": sum(b["status"] == "duplicate" for b in bodies),
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
