"""Streaming a request body into TempWriters: hashing and disk writes happen on a worker thread,
pipelined with the socket reads, with bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from litestar.exceptions import InternalServerException

from daemon.errors import ClientDisconnected, PayloadTooLarge
from daemon.storage.hashing import Digest
from daemon.storage.spool import TempWriter

BATCH = 1 << 20  # hand the worker 1 MiB at a time
IN_FLIGHT = 2  # at most this many batches queued per upload: memory stays ~3 MiB


class Pipeline:
    """Feed bytes from the event loop; a dedicated thread hands them to ``sink`` in order, in
    batches of about 1 MiB, with at most ``IN_FLIGHT`` batches queued."""

    def __init__(
        self, sink: Callable[[list[bytes | memoryview]], None], executor: ThreadPoolExecutor
    ) -> None:
        self._sink = sink
        self._executor = executor
        self._pieces: list[bytes | memoryview] = []  # handed over as they are: no copying here
        self._size = 0
        self._pending: list[Future[None]] = []

    async def write(self, data: bytes | memoryview) -> None:
        self._pieces.append(data)
        self._size += len(data)
        if self._size >= BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self._pieces:
            batch, self._pieces, self._size = self._pieces, [], 0
            self._pending.append(self._executor.submit(self._sink, batch))
        while len(self._pending) > IN_FLIGHT or (self._pending and self._pending[0].done()):
            await asyncio.wrap_future(self._pending.pop(0))

    async def drain(self) -> None:
        """Wait until every byte fed so far went through ``sink`` (its error is raised here)."""
        await self._flush()
        while self._pending:
            await asyncio.wrap_future(self._pending.pop(0))

    def cancel(self) -> None:
        """Drop what is queued and wait for the batch being written, if one."""
        for future in self._pending:
            future.cancel()
        for future in self._pending:
            if not future.cancelled():
                try:
                    future.result()
                except Exception:
                    pass
        self._pending.clear()
        self._pieces, self._size = [], 0


class PipelinedWriter(Pipeline):
    """A Pipeline into a TempWriter: hashing and disk writes on the worker thread."""

    def __init__(self, directory: Path, hint: str, executor: ThreadPoolExecutor) -> None:
        self.writer = TempWriter(directory, hint)
        super().__init__(self.writer.write_many, executor)

    async def finish(self) -> Digest:
        await self.drain()
        return await asyncio.wrap_future(self._executor.submit(self.writer.finish))

    def abort(self) -> None:
        self.cancel()
        self.writer.abort()


async def limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Yield body chunks, raising PayloadTooLarge past ``limit`` and ClientDisconnected on a drop."""
    total = 0
    try:
        async for chunk in stream:
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(
                    f"upload is larger than MEDIA_SYNC_MAX_UPLOAD_MB ({limit // (1 << 20)} MiB)"
                )
            if chunk:
                yield chunk
    except InternalServerException as exc:
        raise ClientDisconnected("client disconnected before the upload finished") from exc
