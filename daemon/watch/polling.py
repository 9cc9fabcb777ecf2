"""The polling backend that backs off by tree size: each walk is timed and the next waits k x it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from watchdog.observers.api import BaseObserver, EventQueue, ObservedWatch
from watchdog.observers.polling import PollingEmitter
from watchdog.utils.dirsnapshot import DirectorySnapshot

from daemon.watch.listing import out_of_fds
from daemon.watch.plan import FD_EXHAUSTED

# Wait this many times the last walk before the next: a walk then costs at most 1/(1+k) of a
# core (k=10: under 10%), however big the tree, and never less than the configured interval.
POLL_BACKOFF = 10.0


@dataclass
class PollStats:
    """What the last polling walk cost and when the next one comes (shared with the status)."""

    base: float  # MEDIA_SYNC_POLL_INTERVAL_SECONDS
    interval: float = 0.0
    last_scan_seconds: float | None = None
    entries: int | None = None
    walks: int = 0
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.interval = self.interval or self.base

    def record(self, seconds: float, entries: int | None) -> None:
        with self._lock:
            self.last_scan_seconds = seconds
            if entries is not None:
                self.entries = entries
            self.walks += 1
            self.interval = max(self.base, POLL_BACKOFF * seconds)

    def failed(self, exc: OSError) -> None:
        with self._lock:
            self.error = FD_EXHAUSTED if out_of_fds(exc) else f"cannot list the root: {exc}"

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "interval_seconds": round(self.interval, 3),
                "last_scan_seconds": (
                    None if self.last_scan_seconds is None else round(self.last_scan_seconds, 3)
                ),
                "entries": self.entries,
            }

    def backoff_note(self) -> str | None:
        """Why the interval is longer than configured, or None."""
        with self._lock:
            if self.interval <= self.base or self.last_scan_seconds is None:
                return None
            return (
                f"backing off to every {self.interval:.1f}s: the last walk of {self.entries} "
                f"entries took {self.last_scan_seconds:.2f}s"
            )


class AdaptivePollingEmitter(PollingEmitter):
    """watchdog's polling emitter, timing each walk (snapshot and diff) to set the next wait."""

    def __init__(
        self,
        event_queue: EventQueue,
        watch: ObservedWatch,
        *,
        stats: PollStats,
        stat: Callable[[str], os.stat_result],
        listdir: Callable[[str | None], Iterator[os.DirEntry[str]]],
        **kwargs: Any,
    ) -> None:
        super().__init__(event_queue, watch, stat=stat, listdir=listdir, **kwargs)
        self.stats = stats
        self._timeout = stats.interval
        self._entries: int | None = None
        take = self._take_snapshot

        def counted() -> DirectorySnapshot:
            try:
                snapshot = take()
            except OSError as exc:
                stats.failed(exc)
                raise
            self._entries = len(snapshot.paths)
            stats.error = None
            return snapshot

        self._take_snapshot = counted

    def _timed(self, walk: Callable[[], None]) -> None:
        started = time.perf_counter()
        self._entries = None
        walk()
        if self._entries is not None:  # a failed walk keeps the last figures
            self.stats.record(time.perf_counter() - started, self._entries)
            self._timeout = self.stats.interval

    def on_thread_start(self) -> None:
        try:
            self._timed(super().on_thread_start)
        except (FileNotFoundError, NotADirectoryError):
            raise
        except OSError:  # e.g. out of fds: keep polling, the first good walk is the baseline
            pass

    def queue_events(self, timeout: float) -> None:
        if self.stopped_event.wait(timeout):
            return
        self._timed(partial(super().queue_events, 0))


def adaptive_observer(
    stats: PollStats,
    stat: Callable[[str], os.stat_result],
    listdir: Callable[[str | None], Iterator[os.DirEntry[str]]],
) -> BaseObserver:
    """A polling observer whose interval is max(the setting, POLL_BACKOFF x the last walk)."""
    emitter = partial(AdaptivePollingEmitter, stats=stats, stat=stat, listdir=listdir)
    return BaseObserver(emitter, timeout=stats.base)  # type: ignore[arg-type]
