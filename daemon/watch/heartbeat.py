"""The watcher's heartbeat: its status written into the catalog at start, soon after each
change and every few seconds, and marked stopped at the end; `/health` in any process reads it
(``daemon.catalog.status``)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from daemon.catalog import Catalog, utcnow
from daemon.catalog import status as published

log = logging.getLogger("media_sync.watch")

MIN_GAP = 0.5  # seconds between two writes however often the status changes


class Heartbeat:
    """A thread publishing ``snapshot()`` every ``interval`` seconds and after ``changed()``;
    ``stop()`` joins it and marks the watcher stopped."""

    def __init__(
        self, catalog: Catalog, interval: float, snapshot: Callable[[], dict[str, Any]]
    ) -> None:
        self.catalog = catalog
        self.interval = interval
        self.snapshot = snapshot
        self.publisher = published.Publisher(socket.gethostname(), os.getpid(), utcnow(), interval)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="media-sync-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._write(published.start)
        self._thread.start()
        return self

    def changed(self) -> None:
        """The status changed: publish it soon (writes are coalesced, MIN_GAP apart)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            with self.catalog.write():
                published.stop(self.catalog, self.publisher)
        except Exception:
            log.exception("cannot mark the watcher stopped in the catalog")

    def _write(self, how: Callable[[Catalog, published.Publisher, dict[str, Any]], None]) -> None:
        try:
            body = self.snapshot()
            with self.catalog.write():
                how(self.catalog, self.publisher, body)
        except Exception:  # a busy or full catalog never stops the watcher; the next beat retries
            log.exception("cannot publish the watcher's status")

    def _run(self) -> None:
        try:
            due = time.monotonic() + self.interval
            while not self._stop.is_set():
                woken = self._wake.wait(max(due - time.monotonic(), 0))
                if self._stop.is_set():
                    return
                self._wake.clear()
                self._write(published.beat)
                due = time.monotonic() + self.interval  # never more than a beat apart
                if woken:  # a burst of changes makes one write per gap
                    self._stop.wait(min(MIN_GAP, self.interval / 2))
        finally:
            self.catalog.release()
