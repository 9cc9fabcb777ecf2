"""The Litestar application: routes, error mapping, CORS, static page, around the start-up routine."""

from __future__ import annotations

import site
import sys
import sysconfig
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Reference
from litestar.static_files import create_static_files_router

from daemon import __version__
from daemon.runtime.services import Service
from daemon.runtime.startup import start
from daemon.settings import Settings
from ingress.deps import provide_library
from ingress.errors import EXCEPTION_HANDLERS
from ingress.guard import guard
from ingress.limits import BodyIdleTimeout
from ingress.routes import (
    agent,
    events,
    folders,
    health,
    login,
    manage,
    media,
    metrics,
    precheck,
    previews,
    projects,
    reindex,
    resolve,
    sources,
    timeline,
    upload,
    uploads,
)
from ingress.tusheaders import EXPOSED
from ingress.urls import warn_if_phones_cannot_reach


def web_dir() -> Path:
    """The `web/` folder: beside the packages in a checkout (and an editable install), or where
    a wheel put it (pyproject's data-files: ``<prefix>/share/media-sync/web``, the prefix being
    the venv, the user base of ``--user``, or the one above ``lib/python3.X/site-packages``)."""
    here = Path(__file__).resolve().parents  # ingress, site-packages, python3.X, lib, prefix
    installed = Path("share") / "media-sync" / "web"
    candidates = [
        here[1] / "web",
        Path(sysconfig.get_path("data")) / installed,
        Path(sys.prefix) / installed,
        *([here[4] / installed] if len(here) > 4 else []),
        Path(site.getuserbase()) / installed,
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


def create_app(settings: Settings, *, services: Sequence[Service] = ()) -> Litestar:
    """Build the app; at start-up it runs the daemon's start-up routine (``daemon.runtime.
    startup``: the Library, clean-up, preview workers, then ``services``) and stops it at
    shutdown. `serve` passes the watcher unless ``--no-watch``."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = start(settings, services)
        app.state.library = runtime.library
        app.state.previews = runtime.previews
        try:
            yield
        finally:
            runtime.stop()

    route_handlers: list[Any] = [
        root,
        *health.ROUTES,
        *login.ROUTES,
        *projects.ROUTES,
        *upload.ROUTES,
        *precheck.ROUTES,
        *uploads.ROUTES,
        *sources.ROUTES,
        *resolve.ROUTES,
        *media.ROUTES,
        *metrics.ROUTES,
        *events.ROUTES,
        *reindex.ROUTES,
        *manage.ROUTES,
        *agent.ROUTES,
        *folders.ROUTES,
        *timeline.ROUTES,
        create_static_files_router(
            path="/public", directories=[web_dir()], html_mode=True, include_in_schema=False
        ),
    ]
    cors = (
        CORSConfig(allow_origins=list(settings.cors_origins), expose_headers=EXPOSED)
        if settings.cors_origins
        else None
    )
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        dependencies={"lib": Provide(provide_library, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        cors_config=cors,
        middleware=[guard(settings), BodyIdleTimeout(settings.body_timeout_seconds)],
        openapi_config=OpenAPIConfig(title="media-sync", version=__version__, path="/schema"),
        debug=False,
        logging_config=None,  # the CLI configures logging; no background queue thread
        plugins=[previews.BrowserMedia()],  # browser previews, scrub strips, their workers
    )
    _no_body_in_204(app)
    warn_if_phones_cannot_reach(settings)  # inside a container without MEDIA_SYNC_PUBLIC_URL
    return app


def _no_body_in_204(app: Litestar) -> None:
    """A 204 carries no body: the schema says so (Litestar documents a JSON null), so clients
    and schema checkers do not expect a Content-Type on the tus/IETF answers."""
    for item in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "options", "head", "patch"):
            operation = getattr(item, method, None)
            empty = (operation.responses or {}).get("204") if operation else None
            if empty is not None and not isinstance(empty, Reference):
                empty.content = None
