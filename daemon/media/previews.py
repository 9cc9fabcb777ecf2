"""Every decode in the service (metadata and thumbnails, background or asked for by a request)
runs on one bounded pool of worker threads, and holds its estimated peak memory in one decode
budget (MEDIA_SYNC_DECODE_MEMORY_MB) while it decodes.

Requests do not decode: ``thumbnail`` queues the job ahead of background work (single-flight:
one job per thumbnail however many ask) and waits for its result. So at most
MEDIA_SYNC_THUMBNAIL_WORKERS decodes run at once, and together they hold at most the budget,
except one decode bigger than the whole budget, which waits until nothing else decodes and then
runs alone (``daemon.media.budget``); anything past the hard cap (``daemon.media.decodeplan``)
is refused and recorded as a metadata error.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import stat
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from daemon.catalog import contents, files
from daemon.catalog.values import ChangeType, MetaStatus
from daemon.errors import (
    CorruptFile,
    MediaSyncError,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from daemon.library import Change, Library
from daemon.media.budget import DecodeBudget
from daemon.media.metadata import extract_metadata
from daemon.media.thumbnails import make_thumbnail
from daemon.storage.conventions import checked_dir
from daemon.storage.projects import ProjectRef

log = logging.getLogger("media_sync.previews")

WORK_TYPES = {ChangeType.STORED, ChangeType.INDEXED}
DEMAND, BACKGROUND, STOP = 0, 1, 2  # queue priorities: requests first, stop after the work
DECODE_ERRORS = (CorruptFile, UnsupportedMediaType, PayloadTooLarge, OSError)


@dataclass(frozen=True)
class Task:
    project: ProjectRef
    rel_path: str
    blake3: str
    sha256: str


@dataclass(frozen=True)
class Demand:
    """A thumbnail a request is waiting for."""

    project: ProjectRef
    sha256: str
    target: Path
    future: Future[Path | None]


def thumbnail_path(ref: ProjectRef, sha256: str) -> Path:
    return ref.thumbnails / f"{sha256}.jpg"


class Previews:
    """Owns the worker threads and the decode budget; ``stop()`` joins the threads."""

    def __init__(self, lib: Library, workers: int) -> None:
        self.lib = lib
        self.budget = DecodeBudget(lib.settings.decode_memory_bytes)
        self._queue: queue.PriorityQueue[tuple[int, int, Task | Demand | None]]
        self._queue = queue.PriorityQueue()
        self._order = itertools.count()
        self._threads = [
            threading.Thread(target=self._run, args=(i == 0,), name=f"previews-{i}", daemon=True)
            for i in range(workers)
        ]
        self._inflight: dict[Path, Future[Path | None]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._unsubscribe: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._unsubscribe = self.lib.subscribe(self.on_change)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._unsubscribe()
        with self._lock:
            self._stopping = True
        for _ in self._threads:
            self._put(STOP, None)
        for thread in self._threads:
            thread.join()

    def _put(self, priority: int, item: Task | Demand | None) -> None:
        self._queue.put((priority, next(self._order), item))

    def pending(self) -> int:
        return self._queue.qsize()

    def on_change(self, change: Change) -> None:
        if change.type in WORK_TYPES and change.blake3 and change.sha256:
            self._put(
                BACKGROUND, Task(change.project, change.rel_path, change.blake3, change.sha256)
            )

    def _backfill(self) -> None:
        """Queue work that a previous run did not finish (pending metadata)."""
        try:
            registry = self.lib.registry()
            for name, project, rel, blake3, sha256 in files.pending_metadata(self.lib.catalog):
                try:
                    source = registry.get(name)
                except MediaSyncError:
                    continue
                self._put(BACKGROUND, Task(ProjectRef(source, project), rel, blake3, sha256))
        except Exception:
            log.exception("preview backfill failed")

    def _run(self, backfill: bool) -> None:
        if backfill:
            self._backfill()
        while True:
            _, _, item = self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, Demand):
                    self._fulfil(item)
                else:
                    self.process(item)
            except Exception:
                log.exception("preview work failed for %s", getattr(item, "rel_path", item))

    def process(self, task: Task) -> None:
        source = task.project.path / task.rel_path
        if not source.is_file():
            return
        self._metadata(task, source)
        self._background_thumbnail(task.project, task.sha256, source)

    def _metadata(self, task: Task, source: Path) -> None:
        catalog = self.lib.catalog
        if contents.meta_status(catalog, task.blake3) != MetaStatus.PENDING:
            return
        try:
            info = extract_metadata(source, self.budget).to_dict()
            error = None
        except DECODE_ERRORS as exc:
            error = str(getattr(exc, "detail", exc))
        with catalog.write():
            if error is None:
                fields = contents.record_metadata(catalog, task.blake3, info)
            else:
                fields = contents.record_error(catalog, error, blake3=task.blake3)
        self._metadata_event(task.project, task.rel_path, task.blake3, task.sha256, fields)

    def _metadata_event(
        self, ref: ProjectRef, rel: str, blake3: str | None, sha256: str, fields: dict[str, object]
    ) -> None:
        status = {"status": fields["meta_status"]}
        self.lib.record_event(Change(ChangeType.METADATA, ref, rel, blake3, sha256, status))

    def thumbnail(self, ref: ProjectRef, sha256: str) -> Path | None:
        """The thumbnail for ``sha256``, made by the pool ahead of background work if it is not
        there yet; the caller (a request thread) waits and never decodes itself. Concurrent
        callers share one job. None when the file has no thumbnail; Unavailable while stopping."""
        target = thumbnail_path(ref, sha256)
        if target.is_file():
            return target
        with self._lock:
            if self._stopping:
                raise Unavailable("the service is stopping; ask again in a moment")
            future = self._inflight.get(target)
            if future is None:
                future = Future()
                self._inflight[target] = future
                self._put(DEMAND, Demand(ref, sha256, target, future))
        return future.result()

    def _fulfil(self, demand: Demand) -> None:
        try:
            demand.future.set_result(self._make(demand.project, demand.sha256, demand.target, None))
        except BaseException as exc:
            demand.future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(demand.target, None)

    def _background_thumbnail(self, ref: ProjectRef, sha256: str, source: Path) -> None:
        """Make the thumbnail on this worker unless it exists or a queued request owns it."""
        target = thumbnail_path(ref, sha256)
        if target.is_file():
            return
        future: Future[Path | None] = Future()
        with self._lock:
            if target in self._inflight:
                return
            self._inflight[target] = future
        try:
            future.set_result(self._make(ref, sha256, target, source))
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(target, None)

    def _make(self, ref: ProjectRef, sha256: str, target: Path, source: Path | None) -> Path | None:
        if source is None:
            source = self._find_source(ref, sha256)
            if source is None:
                return None
        rel = source.relative_to(ref.path).as_posix()
        if not _real_folder(ref.path):
            return None  # the project went away (renamed, unmounted): never re-create it here
        try:
            # never through a symlinked ingest/ or ingest/thumbnails out of the source root
            checked_dir(ref.source.root, target.parent, create=True)
            make_thumbnail(source, target, budget=self.budget)
        except PayloadTooLarge as exc:
            self._refused(ref, rel, sha256, exc.detail)
            return None
        except DECODE_ERRORS as exc:
            log.info("no thumbnail for %s: %s", source.name, getattr(exc, "detail", exc))
            return None
        self.lib.record_event(Change(ChangeType.THUMBNAIL, ref, rel, None, sha256))
        return target

    def _refused(self, ref: ProjectRef, rel: str, sha256: str, detail: str) -> None:
        """Record a file too large to decode as a metadata error, with the reason."""
        log.warning("refused to decode %s: %s", rel, detail)
        with self.lib.catalog.write():
            fields = contents.record_error(self.lib.catalog, detail, sha256=sha256)
        self._metadata_event(ref, rel, None, sha256, fields)

    def _find_source(self, ref: ProjectRef, sha256: str) -> Path | None:
        for rel in files.paths_holding(self.lib.catalog, ref.source.name, ref.name, sha256):
            path: Path = ref.path / rel
            if path.is_file():
                return path
        return None


def _real_folder(path: Path) -> bool:
    """True for a folder that is itself no symlink (lstat)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
