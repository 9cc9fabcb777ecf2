"""The Litestar application: routes, error mapping, CORS, static page, and the process lifecycle."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.static_files import create_static_files_router

from daemon import __version__
from daemon.library import Library
from daemon.media.previews import Previews
from daemon.settings import Settings
from daemon.storage.indexfile import catch_up_indexes
from daemon.storage.spool import remove_stale_temps
from ingress.deps import provide_library
from ingress.errors import EXCEPTION_HANDLERS
from ingress.guard import guard
from ingress.limits import BodyIdleTimeout
from ingress.routes import (
    events,
    health,
    login,
    manage,
    media,
    projects,
    reindex,
    resolve,
    sources,
    upload,
)

log = logging.getLogger("media_sync.ingress")

# Things that run beside the HTTP server in the same process (the watcher, thumbnail workers).
# Each is called with the Library at start-up and returns a stop function.
Service = Callable[[Library], Callable[[], None]]


def web_dir() -> Path:
    """The `web/` folder: beside the packages in a checkout, or installed under share/."""
    candidates = [
        Path(__file__).resolve().parent.parent / "web",
        Path(sys.prefix) / "share" / "media-sync" / "web",
        Path.cwd() / "web",
    ]
    for candidate in candidates:
        if (candidate / "index.html").is_file():
            return candidate
    return candidates[0]


@get("/", include_in_schema=False)
async def root() -> Response[bytes]:
    index = web_dir() / "index.html"
    content = index.read_bytes() if index.is_file() else b"<h1>media-sync</h1>"
    return Response(content, media_type="text/html", headers={"Cache-Control": "no-cache"})


def create_app(
    settings: Settings, *, services: list[Service] | None = None, library: Library | None = None
) -> Litestar:
    """Build the app; the Library opens (and stale temps are cleaned) at start-up."""
    stops: list[Callable[[], None]] = []

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        lib = library or Library.open(settings)
        app.state.library = lib
        removed = remove_stale_temps(lib.registry().sources)
        catch_up_indexes(lib.settings)  # index.json files a full disk left stale
        if removed:
            log.info("removed %d leftover temp file(s) from interrupted uploads", removed)
        previews = Previews(lib, settings.thumbnail_workers)
        previews.start()
        app.state.previews = previews
        stops.append(previews.stop)
        for service in services or []:
            stops.append(service(lib))
        try:
            yield
        finally:
            while stops:
                stops.pop()()
            if library is None:
                lib.close()

    route_handlers: list[Any] = [
        root,
        *health.ROUTES,
        *login.ROUTES,
        *projects.ROUTES,
        *upload.ROUTES,
        *sources.ROUTES,
        *resolve.ROUTES,
        *media.ROUTES,
        *events.ROUTES,
        *reindex.ROUTES,
        *manage.ROUTES,
        create_static_files_router(
            path="/public", directories=[web_dir()], html_mode=True, include_in_schema=False
        ),
    ]
    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    return Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        dependencies={"lib": Provide(provide_library, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=cors,
        middleware=[guard(settings), BodyIdleTimeout(settings.body_timeout_seconds)],
        openapi_config=OpenAPIConfig(title="media-sync", version=__version__, path="/schema"),
        debug=False,
        logging_config=None,  # the CLI configures logging; no background queue thread
    )
