"""The one start-up routine of `serve` and `daemon`: open, clean up, start services; stop in reverse.

``start(settings, services)`` checks the roots (one line naming the variable when the projects
root is missing, unless it is the default ``./data/projects``, or the state dir cannot be
made), opens the Library, removes the temp files a crashed writer left and the resumable
uploads that expired, rewrites the ``index.json`` files a full disk left stale, then starts the
preview workers, the upload-expiry sweep, the Resolve proxy worker (when
MEDIA_SYNC_RESOLVE_PROXIES is on) and the given services (the watcher). ``Runtime.stop()``
stops them in the reverse order, joins their threads and closes the Library. The HTTP ingress
runs this inside its lifespan and adds only HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from daemon.errors import SettingsError
from daemon.ingest.resumable_sweep import expire as expire_uploads
from daemon.ingest.resumable_sweep import start_expiry_sweep
from daemon.library import Library
from daemon.media.previews import Previews
from daemon.media.proxy import Proxies
from daemon.runtime.services import Service
from daemon.settings import Settings
from daemon.storage.indexfile import catch_up_indexes
from daemon.storage.sources import missing_root
from daemon.storage.spool import remove_stale_temps

log = logging.getLogger("media_sync.runtime")


def check_roots(settings: Settings) -> None:
    """Refuse a projects root that is not there (a typo or an unmounted NAS would otherwise put
    footage on the local disk), except the default ``./data/projects`` of `make run`, which is
    created; create the state dir. Each failure is one line naming the variable."""
    root = settings.projects_root
    if not root.is_dir() and not settings.default_root:
        raise SettingsError(missing_root(f"MEDIA_SYNC_PROJECTS_ROOT={str(root)!r}", root))
    for var, path in (
        ("MEDIA_SYNC_PROJECTS_ROOT", root),
        ("MEDIA_SYNC_STATE_DIR", settings.state_dir),
    ):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"{var}={str(path)!r} cannot be created: {exc.strerror}") from None


def preflight(settings: Settings) -> None:
    """Fail in one line on roots that cannot be made or a catalog that cannot be opened, before
    a server starts (inside uvicorn's lifespan the same errors become a page of traceback)."""
    check_roots(settings)
    Library.open(settings).close()


class Runtime:
    """A started process: its Library, its preview workers and its services' stop functions."""

    def __init__(self, library: Library, previews: Previews) -> None:
        self.library = library
        self.previews = previews
        self.proxies: Proxies | None = None  # the Resolve proxy worker, when proxies are on
        self._stops: list[Callable[[], None]] = []

    def stop(self) -> None:
        """Stop the services in the reverse order of their start, then close the Library."""
        try:
            while self._stops:
                self._stops.pop()()
        finally:
            self.library.close()


def _clean_up(library: Library) -> None:
    """What an interrupted run left: temp files nobody holds, index.json files marked stale."""
    removed = remove_stale_temps(library.registry().sources)
    if removed:
        log.info("removed %d leftover temp file(s) from interrupted uploads", removed)
    expired = expire_uploads(library)
    if expired:
        log.info("removed %d expired resumable upload(s)", expired)
    rewritten = catch_up_indexes(library.settings, library.catalog)
    if rewritten:
        log.info("rewrote %d index.json file(s) a full disk had left stale", rewritten)


def start(settings: Settings, services: Sequence[Service] = ()) -> Runtime:
    """Open and clean up, then start the preview workers and ``services`` in order."""
    check_roots(settings)
    library = Library.open(settings)
    try:
        _clean_up(library)
        previews = Previews(library, settings.thumbnail_workers)
    except BaseException:
        library.close()
        raise
    runtime = Runtime(library, previews)
    try:
        previews.start()
        runtime._stops.append(previews.stop)
        runtime._stops.append(start_expiry_sweep(library))
        if settings.resolve_proxies != "off":
            runtime.proxies = Proxies(library, settings.resolve_proxies, previews.budget)
            runtime.proxies.start()
            runtime._stops.append(runtime.proxies.stop)
        for service in services:
            runtime._stops.append(service(library))
    except BaseException:
        runtime.stop()
        raise
    return runtime


@contextmanager
def running(settings: Settings, services: Sequence[Service] = ()) -> Iterator[Runtime]:
    """``start`` as a context manager: everything is stopped and joined however the block ends."""
    runtime = start(settings, services)
    try:
        yield runtime
    finally:
        runtime.stop()
