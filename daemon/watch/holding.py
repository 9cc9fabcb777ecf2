"""One watcher per source root across processes: which roots this process holds, taking the
free ones every MEDIA_SYNC_WATCH_TAKEOVER_SECONDS and letting go of those it lost.

Every `serve` and `daemon` may run the watcher; for each root exactly one process watches it
(listens, settles, reconciles, relocates) while it holds the root's lock: a PostgreSQL
advisory lock on a connection of its own, or with the sqlite catalog a ``flock`` in the state
dir (``daemon.catalog.leases``). The others try again every few seconds, so when the holder
dies (its connection or file descriptor goes with it) one of them takes the root over and
starts with a full pass of it, which catalogues what arrived meanwhile. A root is known by
its source name, which the catalog keys its files by (so hosts may mount it at other paths).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from daemon.catalog import leases, utcnow
from daemon.library import Library
from daemon.storage.locks import HeldLock, try_file_lock
from daemon.storage.sources import Source

log = logging.getLogger("media_sync.watch")


class Lease(Protocol):
    """A held root lock: still ours? let it go."""

    def alive(self) -> bool: ...

    def release(self) -> None: ...


class FileLease:
    """The sqlite catalog's root lock: an flock in the state dir, ours until released."""

    def __init__(self, lock: HeldLock) -> None:
        self._lock = lock

    def alive(self) -> bool:
        return self._lock.held

    def release(self) -> None:
        self._lock.release()


@dataclass
class Held:
    lease: Lease
    since: str


def lock_name(source_name: str) -> str:
    """The flock name of a root (the advisory lock key is made from the same identity)."""
    return f"watch-root-{source_name}"


class Holdings:
    """The roots this process holds. ``refresh`` runs on the watcher's thread; ``holds`` may be
    read from any thread (the heartbeat's)."""

    def __init__(self, lib: Library, every: float) -> None:
        self.lib = lib
        self.every = every
        self.due = 0.0  # monotonic: when the next refresh is due
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()

    def _take(self, name: str) -> Lease | None:
        catalog = self.lib.catalog
        if leases.on_postgresql(catalog):
            return leases.try_advisory(catalog, name)
        lock = try_file_lock(self.lib.settings.locks_dir, lock_name(name))
        return FileLease(lock) if lock is not None else None

    def refresh(self, enabled: Iterable[Source]) -> tuple[list[str], list[str]]:
        """Let go of roots no longer enabled or whose lock was lost, take the free ones;
        (gained, lost) by name. The next refresh is due ``every`` seconds later."""
        wanted = {source.name for source in enabled}
        gained: list[str] = []
        lost: list[str] = []
        for name, held in list(self._held.items()):
            if name not in wanted or not held.lease.alive():
                held.lease.release()
                with self._lock:
                    del self._held[name]
                if name in wanted:
                    lost.append(name)
                    log.warning("lost the watch of %s (its lock went away)", name)
        for name in sorted(wanted - set(self._held)):
            lease = self._take(name)
            if lease is not None:
                with self._lock:
                    self._held[name] = Held(lease, utcnow())
                gained.append(name)
                log.info("watching %s (this process holds it)", name)
        self.due = time.monotonic() + self.every
        return gained, lost

    def held(self, sources: Iterable[Source]) -> tuple[Source, ...]:
        """The given sources this process holds."""
        with self._lock:
            return tuple(source for source in sources if source.name in self._held)

    def holds(self) -> dict[str, str]:
        """Root name -> since when this process holds it (what the heartbeat publishes)."""
        with self._lock:
            return {name: held.since for name, held in self._held.items()}

    def release_all(self) -> None:
        with self._lock:
            held, self._held = list(self._held.values()), {}
        for item in held:
            item.lease.release()
