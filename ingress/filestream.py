"""A Litestar response that streams one file from disk honouring Range and conditional requests."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.lowlevel
import anyio.to_thread
from anyio import CancelScope
from litestar.response import File
from litestar.response.base import ASGIResponse

from daemon.errors import MediaNotFound, Unavailable, UnsafePath
from ingress.ranges import (
    Plan,
    Validators,
    content_disposition,
    lower_headers,
    plan_response,
    validators_for,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.app import Litestar
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.connection import Request
    from litestar.datastructures.cookie import Cookie
    from litestar.enums import MediaType
    from litestar.types import Receive, Scope, Send, TypeEncodersMap

CHUNK_SIZE = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)  # Linux >= 4.14
_NOWAIT_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS})


@dataclass(frozen=True)
class StreamSpec:
    """Everything needed to answer one GET or HEAD of a file."""

    path: Path
    head: bool
    request_headers: dict[str, str]
    media_type: str
    attachment_name: str | None
    cache_control: str
    chunk_size: int = CHUNK_SIZE


@dataclass(frozen=True)
class OpenedFile:
    """A regular file opened once; size and validators come from the same descriptor."""

    fd: int
    size: int
    validators: Validators


def open_regular_file(path: Path) -> OpenedFile:
    """Open ``path`` read-only without following a final symlink, and fstat the descriptor."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise MediaNotFound("file not found", path=str(path)) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath("refusing to follow a symlink", path=str(path)) from exc
        raise Unavailable(f"cannot open file: {exc.strerror}", path=str(path)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MediaNotFound("not a regular file", path=str(path))
    except BaseException:
        os.close(fd)
        raise
    return OpenedFile(fd, info.st_size, validators_for(info.st_size, info.st_mtime_ns, info.st_ino))


def response_headers(spec: StreamSpec, opened: OpenedFile, plan: Plan) -> dict[str, str]:
    """Headers for the answer ``plan`` gives to ``spec`` about ``opened``."""
    headers = {
        "accept-ranges": "bytes",
        "etag": opened.validators.etag,
        "last-modified": opened.validators.last_modified,
        "cache-control": spec.cache_control,
    }
    if plan.content_range is not None:
        headers["content-range"] = plan.content_range
    if plan.status in (200, 206):
        headers["content-type"] = spec.media_type
        if spec.attachment_name is not None:
            headers["content-disposition"] = content_disposition(spec.attachment_name)
    if plan.status != 304:
        headers["content-length"] = str(plan.length)
    return headers


async def _watch_disconnect(receive: Receive, scope: CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


class ChunkReader:
    """Reads a file in chunks: straight from the page cache when it can, else in a worker thread.

    ``preadv(RWF_NOWAIT)`` never waits for the disk, so the event loop is never blocked; only
    data that is not cached yet pays for a thread hop (thread-only reads measured ~30% slower
    on a warm cache with tests/bench/stream.py).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.try_cache = _RWF_NOWAIT is not None

    def read_cached(self, size: int, offset: int) -> bytearray | None:
        """Up to ``size`` bytes at ``offset`` if they are cached right now, else ``None``."""
        if not self.try_cache or _RWF_NOWAIT is None:
            return None
        buffer = bytearray(size)
        try:
            count = os.preadv(self.fd, [buffer], offset, _RWF_NOWAIT)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno not in _NOWAIT_UNSUPPORTED:
                raise
            self.try_cache = False  # this filesystem cannot say; always use the thread
            return None
        if count == 0:
            return None
        del buffer[count:]
        return buffer

    async def read(self, size: int, offset: int) -> bytes:
        cached = self.read_cached(size, offset)
        if cached is not None:
            # uvicorn writes any bytes-like body; copying into bytes would cost a pass.
            return cast(bytes, cached)
        return await anyio.to_thread.run_sync(os.pread, self.fd, size, offset)


async def _send_slice(send: Send, fd: int, start: int, length: int, chunk_size: int) -> None:
    reader = ChunkReader(fd)
    offset, end = start, start + length
    while offset < end:
        chunk = await reader.read(min(chunk_size, end - offset), offset)
        if not chunk:
            raise Unavailable("file shrank while it was being sent", offset=offset)
        offset += len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": offset < end})
        # Neither a cached read nor a send to a gone client yields; let the watcher run.
        await anyio.lowlevel.checkpoint()


class FileStreamASGIResponse(ASGIResponse):
    """The ASGI side of ``FileStream``: opens, decides, then streams in large chunks."""

    __slots__ = ("spec",)

    def __init__(
        self,
        spec: StreamSpec,
        *,
        headers: dict[str, Any],
        cookies: Iterable[Cookie],
        background: BackgroundTask | BackgroundTasks | None,
    ) -> None:
        super().__init__(background=background, cookies=cookies, media_type=spec.media_type)
        self.spec = spec
        self.headers.headers.clear()  # decided in __call__, once the file is open
        for name, value in headers.items():
            self.headers.add(name, str(value))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        opened = await anyio.to_thread.run_sync(open_regular_file, self.spec.path)
        try:
            await self._answer(opened, receive, send)
        finally:
            os.close(opened.fd)
        await self.after_response()

    async def _answer(self, opened: OpenedFile, receive: Receive, send: Send) -> None:
        plan = plan_response(self.spec.request_headers, opened.size, opened.validators)
        self.status_code = plan.status
        for name, value in response_headers(self.spec, opened, plan).items():
            self.headers[name] = value
        await self.start_response(send)
        if self.spec.head or plan.length == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        async with anyio.create_task_group() as group:
            group.start_soon(_watch_disconnect, receive, group.cancel_scope)
            await _send_slice(send, opened.fd, plan.start, plan.length, self.spec.chunk_size)
            group.cancel_scope.cancel()


class FileStream(File):
    """A ``File`` response with Range, If-Range, 304s and RFC 6266 downloads (see ``file_response``)."""

    __slots__ = ("spec",)

    def __init__(self, spec: StreamSpec) -> None:
        super().__init__(spec.path, media_type=spec.media_type, chunk_size=spec.chunk_size)
        self.spec = spec

    def to_asgi_response(  # type: ignore[override]  # an ASGIResponse, not an ASGIFileResponse
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        cookies: Iterable[Cookie] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> FileStreamASGIResponse:
        return FileStreamASGIResponse(
            self.spec,
            headers={**(headers or {}), **self.headers},
            cookies=[*self.cookies, *(cookies or ())],
            background=self.background or background,
        )


def file_response(
    path: Path,
    *,
    method: str,
    headers: Mapping[str, str],
    media_type: str,
    attachment_name: str | None = None,
    cache_control: str = "no-cache",
) -> FileStream:
    """A response serving ``path`` to a GET or HEAD with Range, ETag/Last-Modified and 304s.

    The file is opened (never through a final symlink) and stat'ed when the response is
    sent; a missing file raises ``MediaNotFound`` and a symlink ``UnsafePath`` there.
    ``attachment_name`` adds ``Content-Disposition: attachment`` with RFC 6266 names.
    """
    verb = method.upper()
    if verb not in ("GET", "HEAD"):
        raise ValueError(f"file_response serves GET and HEAD, not {method!r}")
    spec = StreamSpec(
        path=Path(path),
        head=verb == "HEAD",
        request_headers=lower_headers(headers),
        media_type=media_type,
        attachment_name=attachment_name,
        cache_control=cache_control,
        chunk_size=CHUNK_SIZE,
    )
    return FileStream(spec)
