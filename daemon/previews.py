"""Background metadata and thumbnails: a bounded pool of worker threads fed by ingest changes,
plus single-flight on-demand thumbnails for requests that arrive first."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from daemon.catalog import Content, File
from daemon.errors import CorruptFile, MediaSyncError, UnsupportedMediaType
from daemon.library import Change, Library
from daemon.media.metadata import extract_metadata
from daemon.media.thumbnails import make_thumbnail
from daemon.projects import ProjectRef

log = logging.getLogger("media_sync.previews")

WORK_TYPES = {"stored", "indexed"}


@dataclass(frozen=True)
class Task:
    project: ProjectRef
    rel_path: str
    blake3: str
    sha256: str


def thumbnail_path(ref: ProjectRef, sha256: str) -> Path:
    return ref.thumbnails / f"{sha256}.jpg"


class Previews:
    """Owns the worker threads; ``stop()`` joins them."""

    def __init__(self, lib: Library, workers: int) -> None:
        self.lib = lib
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._run, args=(i == 0,), name=f"previews-{i}", daemon=True)
            for i in range(workers)
        ]
        self._inflight: dict[Path, Future[Path | None]] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._unsubscribe = self.lib.subscribe(self.on_change)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._unsubscribe()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def pending(self) -> int:
        return self._queue.qsize()

    def on_change(self, change: Change) -> None:
        if change.type in WORK_TYPES and change.blake3 and change.sha256:
            self._queue.put(Task(change.project, change.rel_path, change.blake3, change.sha256))

    def _backfill(self) -> None:
        """Queue work that a previous run did not finish (pending metadata)."""
        try:
            rows = (
                File.select(
                    File.source, File.project, File.rel_path, Content.blake3, Content.sha256
                )
                .join(Content)
                .where(Content.meta_status == "pending")
                .dicts()
            )
            registry = self.lib.registry()
            for row in rows:
                try:
                    source = registry.get(row["source"])
                except MediaSyncError:
                    continue
                self._queue.put(
                    Task(
                        ProjectRef(source, row["project"]),
                        row["rel_path"],
                        row["blake3"],
                        row["sha256"],
                    )
                )
        except Exception:
            log.exception("preview backfill failed")

    def _run(self, backfill: bool) -> None:
        if backfill:
            self._backfill()
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                self.process(task)
            except Exception:
                log.exception("preview work failed for %s", task.rel_path)

    def process(self, task: Task) -> None:
        source = task.project.path / task.rel_path
        if not source.is_file():
            return
        self._metadata(task, source)
        self.thumbnail(task.project, task.sha256, source)

    def _metadata(self, task: Task, source: Path) -> None:
        content = Content.get_or_none(Content.blake3 == task.blake3)
        if content is None or content.meta_status != "pending":
            return
        try:
            info = extract_metadata(source).to_dict()
            fields = {k: v for k, v in info.items() if k in Content._meta.fields}
            fields.update(meta_status="ok", meta_error=None)
        except (CorruptFile, UnsupportedMediaType, OSError) as exc:
            fields = {"meta_status": "error", "meta_error": str(getattr(exc, "detail", exc))}
        with self.lib.catalog.write():
            Content.update(**fields).where(Content.blake3 == task.blake3).execute()
        change = Change(
            "metadata",
            task.project,
            task.rel_path,
            task.blake3,
            task.sha256,
            {"status": fields["meta_status"]},
        )
        self.lib.record_event(change)

    def thumbnail(self, ref: ProjectRef, sha256: str, source: Path | None = None) -> Path | None:
        """Make (once) the thumbnail for ``sha256``; concurrent callers share the same job."""
        target = thumbnail_path(ref, sha256)
        if target.is_file():
            return target
        with self._lock:
            future = self._inflight.get(target)
            owner = future is None
            if future is None:
                future = Future()
                self._inflight[target] = future
        if not owner:
            return future.result()
        try:
            result = self._make(ref, sha256, target, source)
            future.set_result(result)
            return result
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
        try:
            make_thumbnail(source, target)
        except (CorruptFile, UnsupportedMediaType, OSError) as exc:
            log.info("no thumbnail for %s: %s", source.name, getattr(exc, "detail", exc))
            return None
        rel = source.relative_to(ref.path).as_posix()
        self.lib.record_event(Change("thumbnail", ref, rel, None, sha256))
        return target

    def _find_source(self, ref: ProjectRef, sha256: str) -> Path | None:
        rows = (
            File.select(File.rel_path)
            .join(Content)
            .where(
                (File.source == ref.source.name)
                & (File.project == ref.name)
                & (Content.sha256 == sha256)
            )
        )
        for row in rows:
            path: Path = ref.path / row.rel_path
            if path.is_file():
                return path
        return None
