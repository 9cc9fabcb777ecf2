"""A tiny Litestar app on file_response, served by real uvicorn in a thread, and the bytes it
serves: a deterministic pattern in which a wrong offset shows up as a mismatch."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, get, head, route
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.params import FromPath
from litestar.response import File

from daemon.errors import MediaNotFound, MediaSyncError, UnsafePath
from ingress.filestream import file_response


@dataclass(frozen=True)
class FileServer:
    """A running uvicorn serving files from ``root``."""

    url: str
    root: Path


def _error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, str]]:
    status = 404 if isinstance(exc, MediaNotFound) else 403 if isinstance(exc, UnsafePath) else 500
    detail = exc.detail if isinstance(exc, MediaSyncError) else "error"
    return Response({"detail": detail}, status_code=status)


def make_app(root: Path) -> Litestar:
    """Routes the way the lead wires them: GET+HEAD in one handler, download, and @get/@head."""

    @route("/media/{name:str}", http_method=["GET", "HEAD"])
    async def media(request: Request[Any, Any, Any], name: FromPath[str]) -> File:
        return file_response(
            root / name, method=request.method, headers=request.headers, media_type="video/mp4"
        )

    @route("/download/{name:str}", http_method=["GET", "HEAD"])
    async def download(request: Request[Any, Any, Any], name: FromPath[str]) -> File:
        return file_response(
            root / name,
            method=request.method,
            headers=request.headers,
            media_type="video/quicktime",
            attachment_name=name,
        )

    @get("/split/{name:str}", sync_to_thread=False)
    def split_get(request: Request[Any, Any, Any], name: FromPath[str]) -> File:
        return file_response(
            root / name, method="GET", headers=request.headers, media_type="image/heic"
        )

    @head("/split/{name:str}", sync_to_thread=False)
    def split_head(request: Request[Any, Any, Any], name: FromPath[str]) -> File:
        return file_response(
            root / name, method="HEAD", headers=request.headers, media_type="image/heic"
        )

    return Litestar(
        [media, download, split_get, split_head],
        exception_handlers={MediaSyncError: _error_response},
        logging_config=None,  # no QueueListener thread outliving the test
        response_headers=[ResponseHeader(name="x-served-by", value="streaming-tests")],
        cache_control=CacheControlHeader(max_age=5),
    )


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def pattern_bytes(size: int, seed: int = 7) -> bytes:
    """Deterministic, non-repeating-looking content so a wrong offset shows up as a mismatch."""
    block = bytes((i * 131 + seed * 17 + (i >> 8) * 7) & 0xFF for i in range(65_521))
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


@contextmanager
def serving_files(root: Path) -> Iterator[FileServer]:
    """uvicorn in a thread on a free port serving ``root``; stopped and joined at the end."""
    config = uvicorn.Config(make_app(root), lifespan="off", log_level="warning")
    sock = _bound_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield FileServer(f"http://127.0.0.1:{port}", root)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "uvicorn thread did not stop"
