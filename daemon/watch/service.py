"""The watcher service: watchers feed a debouncer, passes reconcile, a jittered full scan
catches what they missed, dead watchers come back with backoff, and stop joins every thread."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from daemon.catalog import events as feed
from daemon.catalog import utcnow
from daemon.ingest.trash import purge_trash
from daemon.library import Library
from daemon.storage.conventions import INDEX_FILE, MANIFEST_DIR, SOURCES_DIR, is_project_name
from daemon.storage.indexfile import catch_up_indexes
from daemon.storage.sources import Source
from daemon.watch import backends
from daemon.watch.debounce import Debouncer
from daemon.watch.heartbeat import Heartbeat
from daemon.watch.holding import Holdings
from daemon.watch.listing import skip_name
from daemon.watch.observed import EventClock
from daemon.watch.plan import FD_EXHAUSTED
from daemon.watch.polling import POLL_BACKOFF
from daemon.watch.reconcile import Reconciler, Scope, reconciler_for
from daemon.watch.relocate import ROOT
from daemon.watch.watchstate import Status, Timers, Tuning, Watch, describe_error, unwatched

log = logging.getLogger("media_sync.watch")

Item = tuple[str, str]  # (source name, project or ROOT)
IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
MAX_BACKOFF = 60.0


def scope_key(root: str, path: str) -> str | None:
    """The project (or ROOT) an event path belongs to; None for places never scanned."""
    rel = os.path.relpath(path, root)
    if rel == ".":
        return ROOT
    if rel.startswith(".."):
        return None
    parts = rel.split(os.sep)
    first, name = parts[0], parts[-1]
    if skip_name(first) or first == SOURCES_DIR:
        return None
    if len(parts) > 1 and (skip_name(name) or name == INDEX_FILE or MANIFEST_DIR in parts[1:2]):
        return None
    if is_project_name(first):
        return first
    return ROOT if len(parts) == 1 else None


class EventHandler(FileSystemEventHandler):
    """Only queues: never scans, hashes or touches the catalog on the observer's thread."""

    def __init__(self, source: str, root: Path, sink: Debouncer[Item], clock: EventClock) -> None:
        self.source, self.root, self.sink, self.clock = source, str(root), sink, clock

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        self.clock.saw(getattr(event, "dest_path", "") or event.src_path)  # the lag starts
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                key = scope_key(self.root, os.fsdecode(path))
                if key is not None:
                    self.sink.add((self.source, key))


class WatchService:
    """Runs in its own thread; ``start()`` returns at once, ``stop()`` joins everything."""

    def __init__(self, lib: Library, tuning: Tuning | None = None) -> None:
        self.lib = lib
        self.settings = lib.settings
        self.tuning = tuning or Tuning()
        self.reconciler: Reconciler = reconciler_for(lib)
        self.debouncer: Debouncer[Item] = Debouncer(
            self.tuning.debounce_quiet, self.tuning.debounce_max
        )
        self.watches: dict[str, Watch] = {}
        self.clock = EventClock()  # when each path's last event came (the watcher lag)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = Status()
        self.ready = threading.Event()  # set after the start-up reconcile
        self.holdings = Holdings(lib, self.settings.watch_takeover_seconds)
        self.heartbeat = Heartbeat(lib.catalog, self.tuning.heartbeat, self.published)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> WatchService:
        self._thread = threading.Thread(target=self._run, name="media-sync-watch", daemon=True)
        self._thread.start()
        self.heartbeat.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self.debouncer.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("watcher thread did not stop within %.0fs", timeout)
        for watch in list(self.watches.values()):
            watch.stop()
        self.holdings.release_all()
        self.heartbeat.stop()

    # -- status ------------------------------------------------------------------------------
    def status_of(self, source: str) -> dict[str, Any]:
        with self._lock:
            watch = self.watches.get(source)
            body: dict[str, Any] = watch.status() if watch else unwatched()
        state = self.reconciler.states.get(source)
        body["offline"] = bool(state and state.offline_reason)
        body["offline_reason"] = state.offline_reason if state else None
        body["offline_since"] = state.offline_since if state else None
        body["error"] = body.get("error") or (state.last_error if state else None)
        body["last_reconcile"] = state.last_result if state else None
        return body

    def published(self) -> dict[str, Any]:
        """What the heartbeat writes into the catalog: the status, the roots this process
        holds (since when) and each of their statuses."""
        holds = self.holdings.holds()
        status = self.status()
        del status["running"]  # the heartbeat's age says that
        sources = {name: self.status_of(name) for name in holds}
        return {"status": status, "holds": holds, "sources": sources}

    def status(self) -> dict[str, Any]:
        with self._lock:
            watches = {name: w.status() for name, w in self.watches.items()}
        return {
            "running": self._thread is not None and self._thread.is_alive(),
            "started_at": self._status.started_at,
            "passes": self._status.passes,
            "last_full_reconcile": self._status.last_full,
            "last_pass": self._status.last_pass,
            "last_error": self._status.last_error,
            "offline_sources": self.reconciler.offline_sources(),
            "watch": watches,
        }

    # -- watchers ----------------------------------------------------------------------------
    def _start_watch(self, watch: Watch) -> None:
        inner = EventHandler(watch.source.name, watch.source.root, self.debouncer, self.clock)
        watch.start(self.settings, backends.CanaryHandler(inner), self.tuning.canary_timeout)

    def _try_start(self, watch: Watch) -> None:
        try:
            self._start_watch(watch)
            watch.failures, watch.retry_at = 0, None
        except Exception as exc:  # a watcher that cannot start must not stop scanning
            watch.failures += 1
            delay = min(MAX_BACKOFF, 2.0 ** (watch.failures - 1))
            watch.retry_at = time.monotonic() + delay
            watch.error = f"{describe_error(exc)}; retrying in {delay:g}s"
            watch.observer = None
            log.warning("watcher for %s failed to start: %s", watch.source.name, watch.error)
        self.heartbeat.changed()

    def _sync_watches(self) -> None:
        """Start watchers for new/enabled sources, stop them for removed/disabled ones."""
        enabled = self._enabled()
        if enabled is None:
            return
        wanted = {s.name: s for s in enabled}
        for name in list(self.watches):
            if name not in wanted or self.watches[name].source != wanted[name]:
                with self._lock:
                    watch = self.watches.pop(name)
                watch.stop()
        for name, source in wanted.items():
            if name not in self.watches:
                watch = Watch(source)
                self._try_start(watch)
                with self._lock:
                    self.watches[name] = watch

    def _check_watches(self, now: float) -> None:
        """Restart dead watchers (with backoff) and rescan their sources meanwhile."""
        for watch in list(self.watches.values()):
            if watch.mode == "off" and watch.retry_at is None:
                continue
            dead = watch.observer is None or not backends.observer_alive(watch.observer)
            if not dead:
                continue
            if watch.observer is not None:
                log.warning("watcher for %s died; restarting", watch.source.name)
                watch.stop()
                watch.failures += 1
                watch.retry_at = now + min(MAX_BACKOFF, 2.0 ** (watch.failures - 1))
                watch.error = "watcher stopped unexpectedly"
            if watch.retry_at is not None and now >= watch.retry_at:
                self._try_start(watch)
                if watch.observer is not None:
                    self._pass(watch.source, Scope(), "restart")

    # -- passes ------------------------------------------------------------------------------
    def _pass(self, source: Source, scope: Scope, kind: str) -> float:
        """One pass, reported in the status; returns how long it took."""
        started = time.monotonic()
        try:
            result = self.reconciler.pass_source(source, scope, cancel=self._stop)
        except Exception as exc:  # one failed pass never stops the service
            log.exception("reconcile of %s failed", source.name)
            self.lib.metrics.fail("reconcile")
            self._status.last_error = f"{utcnow()} {source.name}: {type(exc).__name__}: {exc}"
            self.heartbeat.changed()
            return time.monotonic() - started
        seconds = time.monotonic() - started
        self.clock.listed(self.lib.metrics, source.root, result, kind, seconds)
        if any(e["error"] == FD_EXHAUSTED for e in result.errors):
            self._status.last_error = f"{utcnow()} {source.name}: {FD_EXHAUSTED}"
        summary = {
            "at": utcnow(),
            "kind": kind,
            "source": source.name,
            "seconds": round(seconds, 3),
            **{k: v for k, v in result.as_dict().items() if k not in ("moves", "errors")},
            "errors": result.errors[:20],
        }
        self._status.passes += 1
        self._status.last_pass = summary
        if kind == "full":
            self._status.last_full = summary
        self.heartbeat.changed()
        if result.indexed or result.removed or result.relocated or result.renamed:
            log.info(
                "%s %s: indexed %d, removed %d, relocated %d, renamed %d",
                kind, source.name, result.indexed, result.removed, result.relocated,
                result.renamed,
            )  # fmt: skip
        return seconds

    def _enabled(self) -> tuple[Source, ...] | None:
        """The registry's enabled sources this process holds; None when it cannot be read."""
        registry = self._registry()
        return None if registry is None else self.holdings.held(registry)

    def _take_over(self) -> None:
        """Take the free roots (a dead holder's too) and let go of lost ones; a root taken
        is watched at once and gets a full pass (what arrived meanwhile is catalogued)."""
        registry = self._registry()
        if registry is None:
            return
        gained, lost = self.holdings.refresh(registry)
        if gained or lost:
            self._sync_watches()
            self.heartbeat.changed()
        for source in registry:
            if source.name in gained and not self._stop.is_set():
                self._pass(source, Scope(), "takeover")

    def _registry(self) -> tuple[Source, ...] | None:
        """The registry's enabled sources; None when it cannot be read right now."""
        try:
            return self.lib.registry().enabled
        except OSError as exc:  # e.g. out of fds: keep the sources being watched
            log.warning("cannot read the source registry: %s", describe_error(exc))
            self._status.last_error = f"{utcnow()} source registry: {describe_error(exc)}"
            return None

    def _full(self) -> None:
        enabled = self._enabled()
        for source in enabled or tuple(w.source for w in list(self.watches.values())):
            if self._stop.is_set():
                return
            self._pass(source, Scope(), "full")
        if not self._stop.is_set() and enabled:  # chores are the root holders' to do
            self._chores()

    def _chores(self) -> None:
        """With each full reconcile (and at start-up): trash past MEDIA_SYNC_TRASH_DAYS goes,
        index.json files a full disk left stale are rewritten, the live feed's old events are
        pruned. A chore that fails is logged and retried at the next full pass."""
        lib = self.lib
        chores: list[tuple[str, Callable[[], int]]] = [
            (f"trashed file(s) older than {lib.settings.trash_days} day(s) purged",
             lambda: purge_trash(lib)),
            ("index.json file(s) left stale by an earlier failure rewritten",
             lambda: catch_up_indexes(lib.settings, lib.catalog)),
            ("old event(s) pruned from the live feed", self._prune_events),
        ]  # fmt: skip
        for done, chore in chores:
            try:
                count = chore()
            except Exception:
                log.exception("a chore failed (%s); retried at the next full pass", done)
                continue
            if count:
                log.info("%d %s", count, done)

    def _prune_events(self) -> int:
        with self.lib.catalog.write():
            return feed.prune(self.lib.catalog)

    def _rescan(self, items: set[Item]) -> None:
        by_source: dict[str, set[str]] = {}
        for source, key in items:
            by_source.setdefault(source, set()).add(key)
        for name, keys in by_source.items():
            watch = self.watches.get(name)
            if watch is None or self._stop.is_set():
                continue
            scope = Scope(frozenset(keys - {ROOT}), ROOT in keys)
            self._pass(watch.source, scope, "events")

    def _settle_due(self, now: float) -> None:
        due = self.reconciler.tracker.next_due(self.settings.settle_seconds)
        if due is None or now < due:
            return
        items = {
            (name, key) for name in self.watches for key in self.reconciler.tracker.pending(name)
        }
        self._rescan(items)

    def _next_full(self) -> float:
        spread = self.tuning.jitter
        interval = self.settings.reconcile_interval_seconds
        return time.monotonic() + interval * random.uniform(1 - spread, 1 + spread)

    def _run(self) -> None:
        try:
            registry = self._registry()
            self.holdings.refresh(registry or ())
            self._sync_watches()
            self._full()
            self.ready.set()
            self._loop()
        except Exception:
            log.exception("watcher service crashed")
            self._status.last_error = "watcher service crashed; see the log"
        finally:
            self.ready.set()
            self.lib.catalog.release()

    def _loop(self) -> None:
        now = time.monotonic()
        timers = Timers(
            self._next_full(),
            now + self.tuning.registry_every,
            now + self.settings.poll_interval_seconds,
        )
        while not self._stop.is_set():
            try:
                self._tick(timers)
            except Exception as exc:  # one bad round (e.g. out of fds) never stops the watcher
                log.exception("watcher round failed; retrying in 1s")
                self._status.last_error = f"{utcnow()} {describe_error(exc)}"
                self._stop.wait(1.0)

    def _tick(self, timers: Timers) -> None:
        now = time.monotonic()
        wake = [timers.full, timers.registry, timers.offline, self.holdings.due]
        settle = self.reconciler.tracker.next_due(self.settings.settle_seconds)
        wake += [settle] if settle is not None else []
        wake += [w.retry_at for w in self.watches.values() if w.retry_at is not None]
        batch = self.debouncer.take(max(min(wake) - now, 0.01))
        if self._stop.is_set():
            return
        if batch:
            self._rescan(batch)
        now = time.monotonic()
        self._settle_due(now)
        self._check_watches(now)
        if now >= timers.offline:  # back off like polling: at most ~10% of a core
            spent = sum(
                self._pass(self.watches[name].source, Scope(), "offline-check")
                for name in self.reconciler.offline_sources()
                if name in self.watches
            )
            timers.offline = time.monotonic() + max(
                self.settings.poll_interval_seconds, POLL_BACKOFF * spent
            )
        if now >= self.holdings.due:
            self._take_over()
        if now >= timers.registry:
            timers.registry = now + self.tuning.registry_every
            self._sync_watches()
        if now >= timers.full:
            timers.full = self._next_full()
            self._full()


def start_watching(lib: Library, tuning: Tuning | None = None) -> Callable[[], None]:
    """Start the watcher service for ``lib``; returns its stop function (an ingress Service)."""
    return WatchService(lib, tuning).start().stop
