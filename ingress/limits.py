"""Per-request limits: numbers that fit the catalog's 64-bit integers, and a request body that
stalls is dropped (the upload sees a disconnect, so it leaves nothing) with a 408."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import PathParameter, QueryParameter
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from ingress.errors import send_error

log = logging.getLogger("media_sync.ingress")

# sqlite stores integers in 64 bits: a larger id, offset or limit is a 400, never an overflow.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64Query = Annotated[int, QueryParameter(ge=INT64_MIN, le=INT64_MAX)]
Int64Path = Annotated[int, PathParameter(ge=INT64_MIN, le=INT64_MAX)]


class _Body:
    """Where one request's body stands."""

    def __init__(self) -> None:
        self.complete = False  # the last body message has been handed to the app
        self.started = False  # a response has begun
        self.timed_out = False


class BodyIdleTimeout(ASGIMiddleware):
    """Waits at most ``seconds`` for each piece of a request body; a longer silence ends the
    request as if the client had gone, answered 408 with `Connection: close`.

    Only the body is timed: once it is complete, ``receive`` (which streaming responses use to
    notice a disconnect) waits as long as it likes.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        body = _Body()

        async def timed_receive() -> ReceiveMessage:
            if body.complete or body.timed_out:
                return await receive()
            try:
                async with asyncio.timeout(self.seconds):
                    message = await receive()
            except TimeoutError:
                body.timed_out = True
                log.warning(
                    "dropped %s %s: no body byte for %g s",
                    scope.get("method"),
                    scope["path"],
                    self.seconds,
                )
                if not body.started:
                    await self._answer_408(send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body.complete = True
            return message

        async def guarded_send(message: Message) -> None:
            if body.timed_out and not body.started:
                return  # the 408 went out; the app's own answer to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                body.started = True
            await send(message)

        await next_app(scope, timed_receive, guarded_send)

    async def _answer_408(self, send: Send) -> None:
        detail = f"no request body byte received for {self.seconds:g} s (MEDIA_SYNC_BODY_TIMEOUT_SECONDS)"
        await send_error(send, 408, detail, "RequestTimeout", ((b"connection", b"close"),))
