"""uvicorn tuned for a LAN: a connection cap below the fd limit, header/keep-alive timeouts,
a cap on the request head, and no reading of a body the app has already refused."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, cast

import uvicorn
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from daemon.settings import Settings
from ingress.errors import error_body, send_error
from ingress.observe import observed

log = logging.getLogger("media_sync.ingress")

FD_RESERVE = 64  # descriptors kept for the catalog, media files, the watcher and thumbnails
MIN_CONNECTIONS = 16
MAX_HEAD_BYTES = 64 * 1024  # request line and headers together
MAX_HEAD_LINES = 200
WARN_EVERY_SECONDS = 10.0


def connection_cap(settings: Settings) -> int:
    """MEDIA_SYNC_MAX_CONNECTIONS, or (0) half the soft open-file limit less a reserve, >= 16."""
    if settings.max_connections:
        return settings.max_connections
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(MIN_CONNECTIONS, soft // 2 - FD_RESERVE)


@dataclass(frozen=True)
class SocketLimits:
    """What one connection may hold and how long it may take to say what it wants."""

    max_connections: int
    header_timeout: float
    max_head_bytes: int = MAX_HEAD_BYTES
    max_head_lines: int = MAX_HEAD_LINES


class HeadTooLarge(Exception):
    """Raised from a parser callback; httptools wraps it, so a flag carries the reason."""


class _Throttled:
    """A warning at most every WARN_EVERY_SECONDS, with how many were suppressed."""

    def __init__(self) -> None:
        self.last = 0.0
        self.count = 0

    def warn(self, message: str, *args: object) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= WARN_EVERY_SECONDS:
            log.warning(message + " (%d such in the last while)", *args, self.count)
            self.last, self.count = now, 0


_refusals = _Throttled()


def _response(status: int, reason: str, detail: str, error: str) -> bytes:
    body = json.dumps(error_body(status, detail, error)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


BUSY_DETAIL = "too many connections (MEDIA_SYNC_MAX_CONNECTIONS); retry shortly"
BUSY = _response(503, "Service Unavailable", BUSY_DETAIL, "TooManyConnections")


async def _busy(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """uvicorn's over-the-cap answer, in the API's JSON error shape."""
    await send_error(send, 503, BUSY_DETAIL, "TooManyConnections", ((b"connection", b"close"),))


INFORMATIONAL = "http.response.informational"  # {"status": 1xx, "headers": [...]}: see below


def _informational(cycle: RequestResponseCycle, message: Any) -> None:
    """Write a 1xx interim response (the IETF resumable upload's 104) before the final one;
    uvicorn's own ``send`` accepts nothing but ``http.response.start`` first. Dropped once the
    final response has begun, for HTTP/1.0, or with a malformed header."""
    status = int(message.get("status", 0))
    if not 101 < status < 200 or cycle.response_started or cycle.transport.is_closing():
        return
    if cycle.scope.get("http_version") != "1.1":
        return
    reason = {103: b"Early Hints", 104: b"Upload Resumption Supported"}.get(
        status, b"Informational"
    )
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    for name, value in message.get("headers", []):
        if any(c in bytes(name) + bytes(value) for c in b"\r\n\0") or not name:
            return
        lines.append(bytes(name) + b": " + bytes(value) + b"\r\n")
    cycle.transport.write(b"".join(lines) + b"\r\n")


async def _close_if_body_unread(
    cycle: RequestResponseCycle,
    app: ASGI3Application,
    scope: Scope,
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
) -> None:
    """An answer given before the whole body arrived (a 413, a 404) closes the connection:
    the rest of the body is never read. Also offers the ``http.response.informational``
    extension (1xx interim responses) to the app."""
    http_scope = cast(dict[str, Any], scope)
    http_scope["extensions"] = {**(http_scope.get("extensions") or {}), INFORMATIONAL: {}}

    async def guarded(message: Any) -> None:
        if message["type"] == INFORMATIONAL:
            _informational(cycle, message)
            return
        if message["type"] == "http.response.start" and cycle.more_body:
            kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
            message = {**message, "headers": [*kept, (b"connection", b"close")]}
        await send(message)

    await app(scope, receive, guarded)


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (what `uvicorn[standard]` picks) with the socket limits."""

    limits: ClassVar[SocketLimits]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = True
        self._head_bytes = 0  # raw bytes received while the head is incomplete
        self._head_size = 0  # request line and headers as parsed
        self._head_lines = 0
        self._too_large = False
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _refusals.warn("refused a connection: %d open", len(self.connections))
            self._refuse(BUSY)
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)
        if self._in_head and not self._refused and self._head_bytes > self.limits.max_head_bytes:
            self._refuse_head()

    # Parser callbacks: count the head, stop the clock once it is complete.
    def on_url(self, url: bytes) -> None:
        self._count_head(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes, self._head_size, self._head_lines = True, 0, 0, 0

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse_head()
        else:
            self._refused = True
            self._cancel_head_timer()
            super().send_400_response(msg)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        app = _busy if app is service_unavailable else app
        super()._start_asgi_task(cycle, partial(_close_if_body_unread, cycle, app))

    def _count_head(self, size: int, lines: int) -> None:
        self._head_size += size
        self._head_lines += lines
        if (
            self._head_lines > self.limits.max_head_lines
            or self._head_size > self.limits.max_head_bytes
        ):
            self._too_large = True
            raise HeadTooLarge

    def _refuse_head(self) -> None:
        _refusals.warn("refused a request head over %d bytes", self.limits.max_head_bytes)
        detail = (
            f"request head larger than {self.limits.max_head_bytes} bytes "
            f"or {self.limits.max_head_lines} header lines"
        )
        self._refuse(
            _response(431, "Request Header Fields Too Large", detail, "HeaderFieldsTooLarge")
        )

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout, self._head_timed_out
            )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a response is still going out: the next head may wait
            return
        _refusals.warn("closed a connection that sent no complete request head in time")
        detail = f"request head not received within {self.limits.header_timeout:g} s"
        sent_something = self._head_bytes > 0
        self._refuse(_response(408, "Request Timeout", detail, "RequestTimeout"), sent_something)

    def _refuse(self, response: bytes, answer: bool = True) -> None:
        """Answer (unless mid-response) and close; nothing more is read from this client."""
        self._refused = True
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        if answer and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(response)
        self.transport.close()


def protocol_class(limits: SocketLimits) -> type[LimitedProtocol]:
    """A LimitedProtocol bound to ``limits`` (uvicorn builds protocols from a class)."""
    bound: type[LimitedProtocol] = type("MediaSyncProtocol", (LimitedProtocol,), {"limits": limits})
    return bound


def uvicorn_config(
    app: Any, settings: Settings, *, timeout_graceful_shutdown: int
) -> uvicorn.Config:
    """The Config for `media-sync serve` (the app wrapped by ``ingress.observe``: refusals,
    the access log; uvicorn's loggers go through ours); logs the connection cap it chose."""
    cap = connection_cap(settings)
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    log.info(
        "serving at most %d connections (open-file limit %d%s)",
        cap,
        soft,
        "" if settings.max_connections else ", derived",
    )
    limits = SocketLimits(max_connections=cap, header_timeout=settings.header_timeout_seconds)
    return uvicorn.Config(
        observed(app, settings),
        host=settings.host,
        port=settings.port,
        http=protocol_class(limits),
        log_level=settings.log_level.lower(),
        log_config=None,  # configured by the command (``daemon.runtime.logsetup``)
        access_log=False,  # ``media_sync_api.access`` instead (MEDIA_SYNC_ACCESS_LOG)
        limit_concurrency=cap,
        timeout_keep_alive=settings.keepalive_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=timeout_graceful_shutdown,
    )
