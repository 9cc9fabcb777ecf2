"""Every decode in the service (metadata and thumbnails, background or asked for by a request)
runs on one bounded pool of worker threads, and holds its estimated peak memory in one decode
budget (MEDIA_SYNC_DECODE_MEMORY_MB) while it decodes.

Requests do not decode: ``thumbnail`` queues the job ahead of background work (single-flight:
one job per thumbnail however many ask) and waits for its result. So at most
MEDIA_SYNC_THUMBNAIL_WORKERS decodes run at once, and together they hold at most the budget,
except one decode bigger than the whole budget, which waits until nothing else decodes and then
runs alone (``daemon.media.budget``); anything past the hard cap (``daemon.media.decodeplan``)
is refused and recorded as a metadata error.

A thumbnail that cannot be made is remembered per content (why, and the stamp of the copy
decoded): later requests answer that failure without decoding again until the copy to decode is
no longer proven to hold those bytes (it changed) or a request asks for a retry. Reasons are
stored naming no file and no server path; whoever shows one names the file it is shown for.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import re
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
    MediaNotFound,
    MediaSyncError,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from daemon.library import Change, Library
from daemon.media.budget import DecodeBudget
from daemon.media.metadata import extract_metadata
from daemon.media.reasons import safe_reason
from daemon.media.thumbnails import jpeg_bytes, render
from daemon.media.workclaims import WorkClaims
from daemon.storage.conventions import atomic_write_bytes, checked_dir
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
class Failed:
    """A thumbnail that could not be made: the copy tried (its name) and why."""

    name: str
    reason: str
    failed_at: str | None = None

    def error(self) -> MediaNotFound:
        return MediaNotFound(
            f"no thumbnail for {self.name}: {self.reason}",
            thumbnail_error=self.reason,
            failed_at=self.failed_at,
            retry="not decoded again until the file changes; add ?retry=1 to try now",
        )


Made = Path | Failed | None


@dataclass(frozen=True)
class Demand:
    """A thumbnail a request is waiting for."""

    project: ProjectRef
    sha256: str
    target: Path
    future: Future[Made]


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
        self._inflight: dict[Path, Future[Made]] = {}
        self._lock = threading.Lock()
        self._counts = {"thumbnail_decodes": 0, "thumbnail_failures": 0}
        self._stopping = False
        self._unsubscribe: Callable[[], None] = lambda: None
        self.claims = WorkClaims(lib.catalog)  # so that no other process decodes them too

    def start(self) -> None:
        self._unsubscribe = self.lib.subscribe(self.on_change)
        self.claims.start()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._unsubscribe()
        with self._lock:
            self._stopping = True
        self.claims.stopping.set()  # a worker waiting for another process's claim gives up
        for _ in self._threads:
            self._put(STOP, None)
        for thread in self._threads:
            thread.join()
        self.claims.stop()

    def _put(self, priority: int, item: Task | Demand | None) -> None:
        self._queue.put((priority, next(self._order), item))

    def pending(self) -> int:
        return self._queue.qsize()

    def stats(self) -> dict[str, int]:
        """Work done since start: thumbnail decodes attempted, and how many failed."""
        with self._lock:
            return {"pending": self.pending(), **self._counts}

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

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
        """Read the metadata and make the thumbnail unless done, holding the content's claim
        (another process holding it is waited for, and has then mostly done it)."""
        source = task.project.path / task.rel_path
        if not source.is_file() or self._done(task):
            return
        with self.claims.hold(task.sha256, lambda: self._done(task)) as mine:
            if mine:  # each step looks again: another process may have just done it
                self._metadata(task, source)
                self._background_thumbnail(task.project, task.sha256, source)

    def _done(self, task: Task) -> bool:
        if contents.meta_status(self.lib.catalog, task.blake3) == MetaStatus.PENDING:
            return False
        made = thumbnail_path(task.project, task.sha256).is_file()
        return made or self._known_failure(task.project, task.sha256) is not None

    def _metadata(self, task: Task, source: Path) -> None:
        catalog = self.lib.catalog
        if contents.meta_status(catalog, task.blake3) != MetaStatus.PENDING:
            return
        try:
            info = extract_metadata(source, self.budget).to_dict()
            error = None
        except DECODE_ERRORS as exc:
            error = stored_reason(exc, source)
            self.lib.metrics.fail("metadata")
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

    def thumbnail(self, ref: ProjectRef, sha256: str, *, retry: bool = False) -> Path | None:
        """The thumbnail for ``sha256``, made by the pool ahead of background work if it is not
        there yet; the caller (a request thread) waits and never decodes itself. Concurrent
        callers share one job. None when the project holds no such file; MediaNotFound with the
        reason when it cannot be made, remembered: answered again without decoding unless the
        file changed or ``retry``; Unavailable while stopping."""
        target = thumbnail_path(ref, sha256)
        if target.is_file():
            return target
        known = None if retry else self._known_failure(ref, sha256)
        if known is not None:
            raise known.error()
        made = self._demand(ref, sha256, target)
        if isinstance(made, Failed):
            raise made.error()
        return made

    def _demand(self, ref: ProjectRef, sha256: str, target: Path) -> Made:
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
            demand.future.set_result(self._claimed_make(demand))
        except BaseException as exc:
            demand.future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(demand.target, None)

    def _claimed_make(self, demand: Demand) -> Made:
        """Make it holding the content's claim, or take the one another process just made."""
        target = demand.target
        with self.claims.hold(demand.sha256, target.is_file) as mine:
            if mine and not target.is_file():
                return self._make(demand.project, demand.sha256, target, None)
        if target.is_file():
            return target
        raise Unavailable("the service is stopping; ask again in a moment")

    def _background_thumbnail(self, ref: ProjectRef, sha256: str, source: Path) -> None:
        """Make the thumbnail on this worker unless it exists, failed for these very bytes, or
        a queued request owns it."""
        target = thumbnail_path(ref, sha256)
        if target.is_file() or self._known_failure(ref, sha256) is not None:
            return
        future: Future[Made] = Future()
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

    def _make(self, ref: ProjectRef, sha256: str, target: Path, source: Path | None) -> Made:
        if source is None:
            source = self._find_source(ref, sha256)
            if source is None:
                return None
        rel = source.relative_to(ref.path).as_posix()
        if not _real_folder(ref.path):
            return None  # the project went away (renamed, unmounted): never re-create it here
        stamp = _stamp(source)  # before decoding: a change while it decodes earns a retry
        self._count("thumbnail_decodes")
        try:
            picture = render(source, budget=self.budget)
        except DECODE_ERRORS as exc:
            return self._failed(ref, rel, sha256, source, stamp, exc)
        try:
            # never through a symlinked ingest/ or ingest/thumbnails out of the source root
            checked_dir(ref.source.root, target.parent, create=True)
            atomic_write_bytes(target, jpeg_bytes(picture))
        except OSError as exc:  # nothing wrong with the file: not remembered
            log.warning("cannot write the thumbnail of %s: %s", rel, exc)
            return None
        catalog = self.lib.catalog
        if contents.thumbnail_failure(catalog, sha256) is not None:
            with catalog.write():
                contents.clear_thumbnail_failure(catalog, sha256)
        self.lib.record_event(Change(ChangeType.THUMBNAIL, ref, rel, None, sha256))
        return target

    def _failed(
        self,
        ref: ProjectRef,
        rel: str,
        sha256: str,
        source: Path,
        stamp: str | None,
        exc: Exception,
    ) -> Failed:
        """Remember why the thumbnail could not be made; a file too large to decode is also
        recorded as a metadata error."""
        self._count("thumbnail_failures")
        self.lib.metrics.fail("thumbnail")
        reason = stored_reason(exc, source)
        catalog = self.lib.catalog
        if isinstance(exc, PayloadTooLarge):
            log.warning("refused to decode %s: %s", rel, reason)
        else:
            log.info("no thumbnail for %s: %s", rel, reason)
        with catalog.write():
            when = contents.record_thumbnail_failure(catalog, sha256, reason, stamp)
            fields = None
            if isinstance(exc, PayloadTooLarge):
                fields = contents.record_error(catalog, reason, sha256=sha256)
        if fields is not None:
            self._metadata_event(ref, rel, None, sha256, fields)
        return Failed(source.name, reason, when)

    def _known_failure(self, ref: ProjectRef, sha256: str) -> Failed | None:
        """The remembered failure, when the copy a decode would read still holds the bytes that
        failed: it has the stamp it failed at, or the stamp it was hashed at."""
        catalog = self.lib.catalog
        failure = contents.thumbnail_failure(catalog, sha256)
        if failure is None:
            return None
        for copy in contents.copies(catalog, ref.source.name, ref.name, sha256):
            path = ref.path / copy.rel_path
            now = _stamp(path)
            if now is None:
                continue  # not there: the next copy is the one a decode would read
            if now in {failure.stamp, copy.stamp}:
                return Failed(path.name, failure.reason, failure.failed_at)
            return None
        return None

    def _find_source(self, ref: ProjectRef, sha256: str) -> Path | None:
        for rel in files.paths_holding(self.lib.catalog, ref.source.name, ref.name, sha256):
            path: Path = ref.path / rel
            if path.is_file():
                return path
        return None


def _stamp(path: Path) -> str | None:
    """The regular file's stamp as the catalog stores it (lstat), or None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return contents.stamp_text(st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def stored_reason(exc: BaseException, source: Path) -> str:
    """Why ``source`` could not be read, as stored per content: no server path, and not the
    file's name (another copy of the same bytes has another), which whoever shows it adds."""
    text = safe_reason(exc, source)
    name = re.escape(source.name)
    text = re.sub(rf"^{name}:\s*", "", text)
    return re.sub(rf"(?::\s*|\s*)(['\"]){name}\1", "", text).strip() or "unreadable"


def _real_folder(path: Path) -> bool:
    """True for a folder that is itself no symlink (lstat)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False
