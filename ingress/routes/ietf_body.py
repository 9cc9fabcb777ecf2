"""Appending an IETF resumable-upload request body to the spool (daemon.ingest.resumable):
pipelined writes on one worker thread, a cut body kept up to its last byte, a newer request on
the same upload taking over from one a dropped connection left hanging (the draft's recommended
way: its body stops being read, what arrived is kept), and the 104 interim response where the
server can send one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from contextvars import copy_context
from functools import partial
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread
from litestar import Request

from daemon.errors import ClientDisconnected, MediaSyncError, UploadBusy
from daemon.ingest import resumable
from daemon.ingest.resumable import Upload
from daemon.storage.projects import ProjectRef
from ingress.deps import Lib
from ingress.receive import BATCH, IN_FLIGHT, limited

INFORMATIONAL = "http.response.informational"  # an ASGI extension uvicorn does not offer
BUSY_WAIT_SECONDS = 10.0  # most a request waits for the append it took over from to end
BUSY_POLL_SECONDS = 0.05
DURABLE_EVERY = 64 << 20  # bytes appended between two fsyncs of the spool and its state
T = TypeVar("T")

# upload id -> the cancel scope of the body being read into it (this process only)
_APPENDING: dict[str, anyio.CancelScope] = {}
_BUSY: dict[str, int] = {}  # upload id -> requests of this process appending to it


def supersede(upload_id: str) -> None:
    """Stop reading the body of an append still running on ``upload_id``: a client asking about
    the upload again has given that request up (its bytes so far are kept)."""
    scope = _APPENDING.get(upload_id)
    if scope is not None:
        scope.cancel()


async def outwait(upload_id: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` until no other request holds the upload (taking over from an append left
    running by a dropped connection), at most BUSY_WAIT_SECONDS; then UploadBusy (409)."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        try:
            return await attempt()
        except UploadBusy:
            supersede(upload_id)
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(BUSY_POLL_SECONDS)


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(func, *args, **kwargs))


async def settled(lib: Lib, ref: ProjectRef, upload_id: str) -> Upload:
    """The upload's state once no append of this process is running on it (taking over from
    one a dropped connection left hanging): an offset answered while an older request still
    appends would be stale (the draft forbids it). No lock is taken: no prefix is re-hashed."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while _BUSY.get(upload_id):
        supersede(upload_id)
        if time.monotonic() > deadline:
            raise UploadBusy(
                f"another request is still writing to the upload {upload_id!r}; ask again shortly"
            )
        await asyncio.sleep(BUSY_POLL_SECONDS)
    return await in_thread(resumable.load, lib, ref, upload_id)


@contextmanager
def _busy(upload_id: str) -> Iterator[None]:
    """Count a request appending to ``upload_id``, from before it takes the spool's lock until
    after it let it go (its offset is final then)."""
    _BUSY[upload_id] = _BUSY.get(upload_id, 0) + 1
    try:
        yield
    finally:
        left = _BUSY[upload_id] - 1
        if left:
            _BUSY[upload_id] = left
        else:
            del _BUSY[upload_id]


class _Sink:
    """Hands batches of body bytes to one worker thread in order; after a failed write the rest
    is skipped, so what the spool holds is always a contiguous prefix."""

    def __init__(self, appender: resumable.Appender, pool: ThreadPoolExecutor) -> None:
        self.appender, self.pool = appender, pool
        self.pending: list[Future[None]] = []
        self.failed = False
        self.error: MediaSyncError | None = None

    def _write(self, pieces: list[bytes]) -> None:
        if self.failed:
            return
        try:
            self.appender.write_many(pieces)
            if self.appender.received >= DURABLE_EVERY:
                self.appender.durable()  # a kill -9 loses at most this much of a long body
        except BaseException:
            self.failed = True
            raise

    async def put(self, pieces: list[bytes]) -> None:
        """Queue a batch; waits while IN_FLIGHT are queued. A write's error is kept for drain."""
        self.pending.append(self.pool.submit(self._write, pieces))
        while len(self.pending) > IN_FLIGHT or (self.pending and self.pending[0].done()):
            await self._settle(self.pending.pop(0))

    async def _settle(self, future: Future[None]) -> None:
        try:
            await asyncio.wrap_future(future)
        except MediaSyncError as exc:
            self.error = self.error or exc

    async def drain(self) -> MediaSyncError | None:
        while self.pending:
            await self._settle(self.pending.pop(0))
        return self.error


async def _locked(
    lib: Lib, ref: ProjectRef, upload_id: str, offset: int, call: Callable[..., Awaitable[Any]]
) -> tuple[AbstractContextManager[resumable.Appender], resumable.Appender]:
    """Enter ``resumable.append`` (taking over from an append left running)."""

    async def attempt() -> tuple[AbstractContextManager[resumable.Appender], resumable.Appender]:
        context = resumable.append(lib, ref, upload_id, offset)
        return context, await call(context.__enter__)

    return await outwait(upload_id, attempt)


async def receive_into(
    request: Request[Any, Any, Any], lib: Lib, ref: ProjectRef, upload_id: str, offset: int
) -> Upload:
    """Append the request body at ``offset``. However the body ends (complete, cut, too large,
    disk full) what arrived is made durable before the lock is let go; then the error, if one."""
    with _busy(upload_id), ThreadPoolExecutor(1, thread_name_prefix="ietf-upload") as pool:

        async def call(func: Callable[..., Any], *args: Any) -> Any:
            # the request's context (its client address) goes along into the worker
            return await asyncio.wrap_future(pool.submit(copy_context().run, func, *args))

        context, appender = await _locked(lib, ref, upload_id, offset, call)
        sink = _Sink(appender, pool)
        failure: MediaSyncError | None = None
        reading = _APPENDING[upload_id] = anyio.CancelScope()
        try:
            pieces: list[bytes] = []
            size = 0
            try:
                with reading:  # cancelled by a newer request on this upload: see supersede()
                    room = lib.settings.max_upload_bytes - offset
                    async for chunk in limited(request.stream(), room):
                        pieces.append(chunk)
                        size += len(chunk)
                        if size >= BATCH:
                            with anyio.CancelScope(shield=True):  # a batch is queued whole
                                await sink.put(pieces)
                            pieces, size = [], 0
            except MediaSyncError as exc:  # cut, or past the size limit
                failure = exc
            finally:
                if _APPENDING.get(upload_id) is reading:
                    del _APPENDING[upload_id]
            if reading.cancelled_caught:
                failure = ClientDisconnected("a newer request on this upload took over")
            if pieces:  # what arrived before a cut is kept too
                await sink.put(pieces)
            failure = (await sink.drain()) or failure
            upload: Upload = await call(appender.durable)
        except BaseException as exc:
            await call(context.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await call(context.__exit__, None, None, None)
    if failure is not None:
        raise failure
    return upload


async def announce(request: Request[Any, Any, Any], headers: dict[str, str]) -> bool:
    """Send the 104 interim response when the server can (see the module docstring)."""
    if INFORMATIONAL not in (request.scope.get("extensions") or {}):
        return False
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    message = {"type": INFORMATIONAL, "status": 104, "headers": raw}
    await request.send(cast(Any, message))
    return True
