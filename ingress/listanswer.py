"""The whole media listing of a project as one streamed JSON answer, kept per catalog generation.

A project's listing changes only when its catalog rows do, and the catalog counts those
changes itself (a generation per project, bumped by triggers on every write, whichever
process makes it). The first unpaged listing of a large project at a generation is built
from the catalog and written beside the answer into ``<state>/answers/``; later ones at the
same generation are read back from that file, so a 100,000-item listing costs a file read.
Cached answers hold a marker where the base URL goes (it depends on the request's host).
Memory is bounded by one batch either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import msgspec
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from daemon.catalog import Catalog
from daemon.catalog.listing import MediaQuery, iter_rows, listing_generation, media_item
from daemon.storage.projects import ProjectRef
from ingress.urls import item_urls

log = logging.getLogger("media_sync.ingress")

MARK = "\x00"  # stands for the base URL; JSON-encodes as \u0000, which no real item holds
_MARKED = b'"\\u0000'
MIN_CACHED = 2000  # smaller listings are rebuilt every time (cheap, and no files for them)
CACHE_BYTES = 1 << 30  # the answers folder is trimmed (oldest first) past this size
STALE_PART_SECONDS = 600  # a half-written answer older than this was abandoned by a crash
_TRAILER = 256  # bytes reserved at the start of a cached answer for its counts
FORMAT = 2  # of the items; answers cached in another format are never read (2: duplicate_of)
_encoder = msgspec.json.Encoder()


def _json_text(text: str) -> bytes:
    """A string's JSON form without its quotes (the base URL, spliced into cached items)."""
    return _encoder.encode(text)[1:-1]


class Answers:
    """The cache folder of unpaged listings, one file per project, sort and generation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, ref: ProjectRef, query: MediaQuery, generation: str) -> Path:
        key = f"{FORMAT}\n{ref.source.name}\n{ref.name}\n{query.sort}\n{query.order}".encode()
        return self.folder / f"{hashlib.sha1(key).hexdigest()}-{generation}.listing"

    def trim(self, keep: Path) -> None:
        """Drop older generations of ``keep``'s listing, answers left half-written by a process
        that died, then the oldest files past the cap."""
        prefix = keep.name.rsplit("-", 1)[0] + "-"
        stale = time.time() - STALE_PART_SECONDS
        entries = []
        with contextlib.suppress(OSError), os.scandir(self.folder) as scan:
            for entry in scan:
                if entry.name.endswith(".part"):
                    with contextlib.suppress(OSError):
                        if entry.stat().st_mtime < stale:
                            os.unlink(entry.path)
                elif entry.name.startswith(prefix) and entry.name != keep.name:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                elif entry.name.endswith(".listing"):
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        entries.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= CACHE_BYTES:
                break
            if path != str(keep):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                total -= size


class _ClosingStreamResponse(ASGIStreamingResponse):
    """Litestar's streaming response that closes its sync iterator when the response ends, also
    when the client went away (an abandoned listing releases its catalog snapshot and its
    half-written answer at once, not whenever garbage collection gets to it)."""

    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        try:
            await super().send_body(send, receive)
        finally:
            chunks = getattr(self.iterator, "iterator", None)  # Litestar's AsyncIteratorWrapper
            if chunks is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(_close, chunks)


class ClosingStream(Stream):
    """A `Stream` of a sync iterator that is always closed when the response ends."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _ClosingStreamResponse  # same layout: only send_body differs
        return response


def _close(chunks: Any) -> None:
    """Close a generator, waiting out a ``next()`` still running in another thread."""
    deadline = time.monotonic() + 60
    while getattr(chunks, "gi_running", False) and time.monotonic() < deadline:
        time.sleep(0.02)
    close = getattr(chunks, "close", None)
    if close is not None:
        with contextlib.suppress(ValueError):  # still running after a minute: leave it
            close()


Tail = Callable[[dict[str | None, int], int], dict[str, Any]]


def full_listing(
    answers: Answers, catalog: Catalog, ref: ProjectRef, query: MediaQuery, base: str, tail: Tail
) -> Iterator[bytes]:
    """``{"media": [...every item...], ...tail}`` as byte chunks, read in one snapshot of the
    catalog taken now (a read connection of its own, closed when the chunks end or are
    closed); ``tail(kinds, total)`` gives the fields after the list (counts, total,
    instructions), from the counts the list was built with."""
    return _chunks(answers, catalog, catalog.read_connection(), ref, query, base, tail)


def _chunks(
    answers: Answers,
    catalog: Catalog,
    connection: Any,
    ref: ProjectRef,
    query: MediaQuery,
    base: str,
    tail: Tail,
) -> Iterator[bytes]:
    try:
        key = (ref.source.name, ref.name)
        generation = listing_generation(connection, *key) if query.cacheable else None
        cached = answers.path(ref, query, generation) if generation is not None else None
        handle = _open(cached)
        if handle is not None:
            yield from _replay(handle, base, tail)
        else:
            yield from _build(answers, catalog, connection, ref, query, base, cached, tail)
    finally:
        connection.close()


def _open(path: Path | None) -> IO[bytes] | None:
    if path is None:
        return None
    try:
        return path.open("rb")
    except OSError:
        return None


def _replay(handle: IO[bytes], base: str, tail: Tail) -> Iterator[bytes]:
    splice = b'"' + _json_text(base)
    with handle:
        trailer = msgspec.json.decode(handle.read(_TRAILER).rstrip())
        yield b'{"media":['
        first = True
        for line in handle:
            yield (b"" if first else b",") + line.rstrip(b"\n").replace(_MARKED, splice)
            first = False
    yield b"]," + _encoder.encode(tail(trailer["kinds"], trailer["total"]))[1:]


def _build(
    answers: Answers,
    catalog: Catalog,
    connection: Any,
    ref: ProjectRef,
    query: MediaQuery,
    base: str,
    cached: Path | None,
    tail: Tail,
) -> Iterator[bytes]:
    """The listing from the catalog, written to ``cached`` as it goes when that is given."""
    splice = b'"' + _json_text(base)
    add_urls = item_urls(MARK, ref)
    writer = _Writer(cached) if cached is not None else None
    kinds: dict[str | None, int] = {}
    total = 0
    try:
        yield b'{"media":['
        for rows in iter_rows(catalog, connection, ref.source.name, ref.name, query):
            batch = [media_item(row) for row in rows]
            for item in batch:
                add_urls(item)
                kind = item["kind"]
                kinds[kind] = kinds.get(kind, 0) + 1
            encoded = _encoder.encode(batch)[1:-1]
            if writer is not None:
                writer.line(encoded)
            yield (b"," if total else b"") + encoded.replace(_MARKED, splice)
            total += len(batch)
        if writer is not None and total >= MIN_CACHED:
            writer.finish({"kinds": kinds, "total": total})
            answers.trim(writer.final)
    finally:
        if writer is not None:
            writer.discard()
    yield b"]," + _encoder.encode(tail(kinds, total))[1:]


class _Writer:
    """A cached answer being written: a temp file renamed into place only when complete."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.temp: Path | None = None
        self.handle: IO[bytes] | None = None
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            self.temp = final.with_name(f".{final.name}.{os.getpid()}.{id(self)}.part")
            self.handle = self.temp.open("wb")
            self.handle.write(b" " * (_TRAILER - 1) + b"\n")
        except OSError as exc:
            log.warning("cannot cache the listing in %s: %s", final.parent, exc)
            self.discard()

    def line(self, data: bytes) -> None:
        if self.handle is not None:
            try:
                self.handle.write(data + b"\n")
            except OSError:
                self.discard()

    def finish(self, trailer: dict[str, Any]) -> None:
        if self.handle is None or self.temp is None:
            return
        head = _encoder.encode(trailer)
        try:
            if len(head) >= _TRAILER:
                raise OSError("listing counts do not fit the cache header")
            self.handle.seek(0)
            self.handle.write(head)
            self.handle.close()
            self.handle = None
            os.replace(self.temp, self.final)
            self.temp = None
        except OSError as exc:
            log.warning("cannot cache the listing %s: %s", self.final.name, exc)

    def discard(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()
            self.handle = None
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            self.temp = None
