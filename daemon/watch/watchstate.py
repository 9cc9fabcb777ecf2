"""What the watcher service keeps and reports per source: its watch, timings and status."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from watchdog.observers.api import BaseObserver

from daemon.catalog import utcnow
from daemon.settings import Settings
from daemon.storage.sources import Source
from daemon.watch import backends
from daemon.watch.listing import out_of_fds
from daemon.watch.plan import FD_EXHAUSTED
from daemon.watch.polling import PollStats

log = logging.getLogger("media_sync.watch")


@dataclass
class Watch:
    """One source's watcher and why it runs the way it does."""

    source: Source
    mode: str = "off"
    reason: str = ""
    observer: BaseObserver | None = None
    failures: int = 0
    retry_at: float | None = None
    error: str | None = None
    poll: PollStats | None = None  # the polling walk's cost and interval (polling mode only)

    def status(self) -> dict[str, Any]:
        alive = self.observer is not None and backends.observer_alive(self.observer)
        poll = self.poll if self.mode == "polling" else None
        note = poll.backoff_note() if poll else None
        body = {
            "mode": self.mode,
            "reason": f"{self.reason}; {note}" if note else self.reason,
            "alive": alive,
            "error": self.error or (poll.error if poll else None),
            "interval_seconds": None,
            "last_scan_seconds": None,
            "entries": None,
        }
        if poll is not None:
            body.update(poll.as_dict())
        return body

    def start(self, settings: Settings, handler: backends.CanaryHandler, canary: float) -> None:
        """Start the observer the settings and the mount call for (native falls back to polling
        at the inotify limit, and in ``auto`` mode when no canary event arrives in time)."""
        choice = backends.choose(settings.watch, backends.mount_fstype(self.source.root))
        self.mode, self.reason, self.error = choice.mode, choice.reason, None
        if choice.mode == "off":
            return
        root, interval = self.source.root, settings.poll_interval_seconds
        self.poll = PollStats(interval)
        try:
            self.observer = backends.start_observer(choice.mode, root, handler, interval, self.poll)
        except OSError as exc:
            if choice.mode == "native" and backends.inotify_limit(exc):
                self.mode, self.reason = "polling", f"inotify limit reached ({exc.strerror})"
                self.observer = backends.start_observer(
                    "polling", root, handler, interval, self.poll
                )
            else:
                raise
        if (
            settings.watch == "auto"
            and self.mode == "native"
            and not backends.run_canary(root, handler, canary)
        ):
            self.stop()
            self.mode = "polling"
            self.reason = f"canary event not seen within {canary:g}s; polling"
            self.observer = backends.start_observer("polling", root, handler, interval, self.poll)
        log.info("watching %s (%s): %s", self.source.name, self.mode, self.reason)

    def stop(self) -> None:
        if self.observer is not None:
            backends.stop_observer(self.observer)
            self.observer = None


@dataclass
class Tuning:
    """Timings that tests shorten."""

    canary_timeout: float = 3.0
    debounce_quiet: float = 0.15
    debounce_max: float = 1.0
    registry_every: float = 5.0
    jitter: float = 0.10
    heartbeat: float = 2.0  # the status in the catalog; stale after three missed beats


@dataclass
class Status:
    started_at: str = field(default_factory=utcnow)
    passes: int = 0
    last_full: dict[str, Any] | None = None
    last_pass: dict[str, Any] | None = None
    last_error: str | None = None


@dataclass
class Timers:
    """When the loop's periodic chores are next due (monotonic seconds)."""

    full: float
    registry: float
    offline: float


def unwatched() -> dict[str, Any]:
    return {
        "mode": "off",
        "reason": "source not watched",
        "alive": False,
        "error": None,
        "interval_seconds": None,
        "last_scan_seconds": None,
        "entries": None,
    }


def describe_error(exc: BaseException) -> str:
    return FD_EXHAUSTED if out_of_fds(exc) else f"{type(exc).__name__}: {exc}"
