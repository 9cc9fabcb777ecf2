"""`media-sync daemon`: the watcher and preview workers alone, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from daemon.runtime.services import default_services
from daemon.runtime.startup import running
from daemon.settings import Settings

log = logging.getLogger("media_sync.daemon")


def run_forever(settings: Settings, stop: threading.Event | None = None) -> int:
    """Run until a signal (or ``stop``) arrives; every thread is joined before return."""
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        with running(settings, default_services(settings)):
            log.info("media-sync daemon watching %s", settings.projects_root)
            while not stop.wait(1.0):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("media-sync daemon stopped")
    return 0
