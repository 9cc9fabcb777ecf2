"""`/api/events`: a server-sent events stream of ingest events, read from the catalog so events
from a separate daemon process arrive too."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from daemon.catalog import Catalog
from daemon.catalog import events as feed
from daemon.errors import InvalidInput
from ingress.deps import Lib
from ingress.limits import INT64_MAX

# Set when the server begins shutting down, so open streams end instead of holding it up.
SHUTDOWN = threading.Event()
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0  # clients reconnect with Last-Event-ID


def _events_after(
    catalog: Catalog, last_id: int, project: str | None, limit: int = 200
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in feed.after(catalog, last_id, limit):
        if project and row.project != project:
            out.append({"id": row.id, "skip": True})
            continue
        body = {
            "id": row.id,
            "type": row.type,
            "at": row.at,
            "source": row.source,
            "project": row.project,
            "relative_path": row.rel_path,
        }
        body.update(row.data)
        out.append(body)
    return out


def _last_event_id(header: str | None) -> int | None:
    """The id a reconnecting client resumes after; anything but ASCII digits is ignored."""
    if not header or not (header.isascii() and header.isdigit()):
        return None
    digits = header.lstrip("0") or "0"
    if len(digits) > 19 or int(digits) > INT64_MAX:
        raise InvalidInput(f"Last-Event-ID must be at most {INT64_MAX}")
    return int(digits)


@get("/api/events")
async def events(
    request: Request[Any, Any, Any],
    lib: Lib,
    since: Annotated[int | None, QueryParameter(ge=0, le=INT64_MAX)] = None,
    project: str | None = None,
) -> ServerSentEvent:
    """Ingest events as SSE (`event: stored|indexed|moved|removed|thumbnail|metadata|...`)."""
    start = since if since is not None else _last_event_id(request.headers.get("last-event-id"))

    async def generate() -> AsyncGenerator[ServerSentEventMessage, None]:
        catalog = lib.catalog
        if start is None:
            last = await anyio.to_thread.run_sync(feed.latest_id, catalog)
        else:
            last = start
        yield ServerSentEventMessage(comment="connected", retry=1000)
        opened = quiet = time.monotonic()
        while not SHUTDOWN.is_set() and time.monotonic() - opened < MAX_STREAM_SECONDS:
            batch = await anyio.to_thread.run_sync(_events_after, catalog, last, project)
            for item in batch:
                last = item["id"]
                if not item.get("skip"):
                    quiet = time.monotonic()
                    yield ServerSentEventMessage(
                        data=json.dumps(item), event=item["type"], id=str(item["id"])
                    )
            if time.monotonic() - quiet > KEEPALIVE_SECONDS:
                quiet = time.monotonic()
                yield ServerSentEventMessage(comment="keep-alive")
            if not batch:
                await asyncio.sleep(POLL_SECONDS)

    return ServerSentEvent(
        generate(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


ROUTES = [events]
