"""`media-sync daemon`: the watcher service alone, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from daemon.library import Library
from daemon.media.previews import Previews
from daemon.settings import Settings
from daemon.storage.spool import remove_stale_temps
from daemon.watch.service import WatchService

log = logging.getLogger("media_sync.daemon")


def run_forever(settings: Settings, stop: threading.Event | None = None) -> int:
    """Run the watcher until a signal (or ``stop``) arrives; every thread is joined before return."""
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    lib = Library.open(settings)
    try:
        remove_stale_temps(lib.registry().sources)
        previews = Previews(lib, settings.thumbnail_workers)  # drops get previews here too
        previews.start()
        service = WatchService(lib).start()
        log.info("media-sync daemon watching %s", settings.projects_root)
        try:
            while not stop.wait(1.0):
                pass
        finally:
            service.stop()
            previews.stop()
    finally:
        lib.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("media-sync daemon stopped")
    return 0
