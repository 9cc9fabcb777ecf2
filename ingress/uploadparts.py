"""Receiving uploads into temp files: the multipart body part by part (each file stored, found
duplicate or refused on its own) and the checks every upload path shares."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Request

from daemon.catalog import utcnow
from daemon.errors import (
    DigestMismatch,
    EmptyUpload,
    InvalidInput,
    MediaSyncError,
    PayloadTooLarge,
    StorageFull,
)
from daemon.ingest import batches, pipeline
from daemon.ingest.pipeline import IngestResult, ingest_upload
from daemon.storage.indexfile import write_index_or_mark
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.spool import full_means_storage_full
from ingress.deps import Lib
from ingress.errors import status_for
from ingress.multipart import MultipartParser, PartData, PartEnd, PartStart, boundary_from
from ingress.receive import PipelinedWriter, limited

FILE_FIELDS = {"file", "files"}
BATCH_FIELD = "batch_id"  # a multipart text field naming the session, before the file parts


def check_upload_name(raw: str | None) -> str:
    """A safe stored name with an accepted media extension, or 400/415."""
    return pipeline.check_upload_name(raw, "the file part has no filename")


async def store(
    lib: Lib,
    ref: ProjectRef,
    writer: PipelinedWriter,
    name: str,
    *,
    batch: bool = False,
    expect: str | None = None,
    arrived: tuple[tuple[str, str], ...] = (),
) -> IngestResult:
    """Finish the temp and ingest it; the temp stays locked until it is placed or removed.
    ``expect``: the sha256 the headers announced (other bytes are refused, nothing stored);
    ``arrived``: who sent it and when (``arrival``), journaled for the file's timeline."""
    try:
        digest = await writer.finish()
        if expect is not None and digest.sha256 != expect:
            raise DigestMismatch(
                f"{name!r} has sha256 {digest.sha256}, not the {expect} its headers announced; "
                "nothing was stored"
            )
        result = await anyio.to_thread.run_sync(
            partial(ingest_upload, batch=batch, arrived=arrived),
            lib,
            ref,
            writer.writer.path,
            name,
            digest,
        )
        return pipeline.note_upload(lib, result)  # logged and counted: stored or duplicate
    finally:
        writer.abort()


def arrival(request: Request[Any, Any, Any]) -> tuple[tuple[str, str], ...]:
    """The client address and the time now, as an upload's timeline records its arrival."""
    client = request.client.host if request.client is not None else "unknown"
    return (("client", client), ("received_at", utcnow()))


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
    batch_id: str | None = None  # the session the parts belong to

    @property
    def committed(self) -> bool:
        return any(not isinstance(o, Refused) for o in self.outcomes)


class _MultipartReceiver:
    """Feeds the parser and stores each file part as it ends (index.json written once, after)."""

    def __init__(
        self,
        lib: Lib,
        ref: ProjectRef,
        executor: ThreadPoolExecutor,
        expect: str | None = None,
        batch_id: str | None = None,
    ) -> None:
        self.lib, self.ref, self.executor, self.expect = lib, ref, executor, expect
        self.received = Received(batch_id=batch_id)
        self.writer: PipelinedWriter | None = None
        self.field: bytearray | None = None  # the batch_id field being read
        self.name = ""
        self.parts = 0
        self.request: Request[Any, Any, Any] | None = None  # whose parts (the timeline's client)
        self.arrived: tuple[tuple[str, str], ...] = ()

    def start(self, event: PartStart) -> None:
        if not (event.name in FILE_FIELDS or event.filename):
            if event.name == BATCH_FIELD:
                self.field = bytearray()
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
        self.arrived = arrival(self.request) if self.request is not None else ()
        try:
            self.name = check_upload_name(event.filename)
        except InvalidInput as exc:
            self.received.outcomes.append(Refused(event.filename or "", exc))
            return
        try:
            self.writer = PipelinedWriter(self.ref.originals, self.name, self.executor)
        except StorageFull as exc:
            raise _Stop(exc, self.name) from exc

    async def end_field(self) -> None:
        """The session named by a `batch_id` field: checked before any file part of it."""
        raw, self.field = bytes(self.field or b""), None
        batch_id = raw.decode("utf-8", "replace").strip()
        if not batch_id:
            return
        if self.received.batch_id not in (None, batch_id):
            raise _Stop(InvalidInput("the batch_id field names another session than the query"))
        try:
            await anyio.to_thread.run_sync(batches.check_open, self.lib, self.ref, batch_id)
        except MediaSyncError as exc:
            raise _Stop(exc) from exc
        self.received.batch_id = batch_id

    async def end(self) -> None:
        if self.field is not None:
            await self.end_field()
        current, self.writer = self.writer, None
        if current is None:
            return
        try:
            result = await store(
                self.lib,
                self.ref,
                current,
                self.name,
                batch=True,
                expect=self.expect,
                arrived=self.arrived,
            )
            self.received.outcomes.append((self.name, result))
        except (EmptyUpload, DigestMismatch) as exc:
            self.received.outcomes.append(Refused(self.name, exc))
        except StorageFull as exc:
            raise _Stop(exc, self.name) from exc

    async def feed(self, chunk: bytes, parser: MultipartParser) -> None:
        for event in parser.feed(chunk):
            if isinstance(event, PartStart):
                self.start(event)
            elif isinstance(event, PartData):
                if self.field is not None and len(self.field) <= batches.MAX_ID:
                    self.field += event.data
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


async def receive_multipart(
    request: Request[Any, Any, Any],
    lib: Lib,
    ref: ProjectRef,
    expect: str | None = None,
    batch_id: str | None = None,
) -> Received:
    """Every file part of the body, each stored, found duplicate or refused on its own; stops at
    MEDIA_SYNC_MAX_PARTS, a full disk or a client gone. index.json is rewritten once at the end
    (also when the client left): what was committed stays committed and listed."""
    parser = MultipartParser(boundary_from(request.headers.get("content-type", "")))
    with full_means_storage_full(ref.path, "nothing was stored"):
        await anyio.to_thread.run_sync(ensure_layout, ref)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload") as executor:
        receiver = _MultipartReceiver(lib, ref, executor, expect, batch_id)
        receiver.request = request
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
