"""Browser previews and scrub strips made on demand: bounded workers, one job per file however
many ask (threads here, and other processes through a lock file), never a partial file.

``OnDemand.preview`` / ``OnDemand.scrub`` answer at once when the file is there; otherwise they
queue one job (or join the one queued or running), wait up to ``wait`` seconds and answer
``Ready`` or ``Pending`` (queued with its place in the line, or being made with its progress).
Previews run on MEDIA_SYNC_PREVIEW_WORKERS threads, scrub strips on one more thread of their
own, so a long encode never holds up the frames a hover asks for. Every job holds its decode
peak in the service's decode budget. A job writes into a locked temp file in the target's
folder and renames it into place; a failed or stopped job leaves nothing. A clip that cannot
be decoded is UnsupportedMediaType (naming the file and why), remembered until the file changes
or the process restarts, so asking again answers the same error without decoding again.

    ingest/previews/<sha256>.mp4            the H.264 preview
    ingest/thumbnails/scrub/<sha256>.jpg    the scrub strip's sprite sheet
    ingest/thumbnails/scrub/<sha256>.vtt    its WebVTT thumbnails track (written last)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from daemon.catalog import files
from daemon.errors import (
    CorruptFile,
    MediaNotFound,
    MediaSyncError,
    PayloadTooLarge,
    Unavailable,
    UnsafePath,
    UnsupportedMediaType,
)
from daemon.library import Library
from daemon.media.budget import DecodeBudget
from daemon.media.derived import exclusive, sweep, write_whole
from daemon.media.scrub import make_strip
from daemon.media.transcode import Cancelled, make_preview
from daemon.mediatypes import media_type
from daemon.storage.conventions import (
    PREVIEWS,
    safe_join,
    writable_dir,
)
from daemon.storage.projects import ProjectRef

log = logging.getLogger("media_sync.browserpreview")

SCRUB = "scrub"  # inside the thumbnails folder
REMEMBERED = (UnsupportedMediaType, PayloadTooLarge)


def preview_path(ref: ProjectRef, sha256: str) -> Path:
    return ref.path / PREVIEWS / f"{sha256}.mp4"


def scrub_paths(ref: ProjectRef, sha256: str) -> tuple[Path, Path]:
    """The sprite sheet and its VTT track."""
    folder = ref.thumbnails / SCRUB
    return folder / f"{sha256}.jpg", folder / f"{sha256}.vtt"


def clip_for(lib: Library, ref: ProjectRef, sha256: str) -> Path:
    """A catalogued video of the project holding these bytes (MediaNotFound when none is on
    disk, UnsupportedMediaType when they are not a video)."""
    found = False
    for rel in files.paths_holding(lib.catalog, ref.source.name, ref.name, sha256):
        try:
            path = safe_join(ref.path, rel)  # never through a symlink out of the project
        except UnsafePath:
            continue
        known = media_type(rel)
        if path.is_symlink() or not path.is_file():
            continue
        found = True
        if known is not None and known.kind == "video":
            return path
    if found:
        raise UnsupportedMediaType("only videos have browser previews and scrub strips")
    raise MediaNotFound(f"no file with sha256 {sha256} in {ref.name}")


@dataclass(frozen=True)
class Ready:
    path: Path


@dataclass(frozen=True)
class Pending:
    """Not there yet: ``state`` is "queued" (``ahead`` jobs before it) or "making"."""

    state: str
    progress: float | None
    ahead: int


@dataclass
class Job:
    kind: str  # "preview" or "scrub"
    target: Path
    source: Path
    done: threading.Event = field(default_factory=threading.Event)
    started: bool = False
    progress: float = 0.0
    error: MediaSyncError | None = None


@dataclass(frozen=True)
class _Failure:
    stamp: tuple[int, int]
    error: MediaSyncError


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _fresh(error: MediaSyncError) -> MediaSyncError:
    """A new exception like ``error`` (one object raised in many threads would share a
    traceback)."""
    return type(error)(error.detail, **error.extra)


class OnDemand:
    """The workers; ``start()`` then ``stop()``, which cancels running jobs and joins."""

    def __init__(
        self,
        workers: int,
        locks_dir: Path,
        *,
        budget: DecodeBudget,
        file_mode: int = 0o644,
    ) -> None:
        self.locks_dir, self.budget, self.file_mode = locks_dir, budget, file_mode
        self._cond = threading.Condition()
        self._lines: dict[str, deque[Job]] = {"preview": deque(), "scrub": deque()}
        self._jobs: dict[Path, Job] = {}
        self._failures: dict[Path, _Failure] = {}
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=("preview",), name=f"browser-preview-{i}")
            for i in range(workers)
        ] + [threading.Thread(target=self._run, args=("scrub",), name="scrub-strip")]
        self.made = {"preview": 0, "scrub": 0}  # files made (for tests and logs)
        self.tried = {"preview": 0, "scrub": 0}  # decodes started, made or failed

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping.set()
            for line in self._lines.values():
                while line:
                    self._finish(line.popleft(), Unavailable("the service is stopping"))
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join()

    def preview(self, target: Path, source: Path, wait: float) -> Ready | Pending:
        return self._ask("preview", target, source, wait)

    def scrub(self, track: Path, source: Path, wait: float) -> Ready | Pending:
        return self._ask("scrub", track, source, wait)

    def _ask(self, kind: str, target: Path, source: Path, wait: float) -> Ready | Pending:
        if target.is_file():
            return Ready(target)
        with self._cond:
            if self._stopping.is_set():
                raise Unavailable("the service is stopping; ask again in a moment")
            job = self._jobs.get(target)
            if job is None:
                self._check_failure(target, source)
                job = Job(kind, target, source)
                self._jobs[target] = job
                self._lines[kind].append(job)
                self._cond.notify_all()
        if job.done.wait(max(0.0, wait)):
            if job.error is not None:
                raise _fresh(job.error)
            return Ready(target)
        with self._cond:
            line = self._lines[kind]
            if job.started or job not in line:
                return Pending("making", round(job.progress, 3), 0)
            return Pending("queued", None, line.index(job))

    def _check_failure(self, target: Path, source: Path) -> None:
        failed = self._failures.get(target)
        if failed is None:
            return
        try:
            unchanged = _stamp(source) == failed.stamp
        except OSError:
            unchanged = False
        if unchanged:
            raise _fresh(failed.error)
        del self._failures[target]

    def unfinished(self) -> int:
        """Previews and scrub strips asked for and not made yet (queued or being made)."""
        with self._cond:
            return len(self._jobs)

    def _finish(self, job: Job, error: MediaSyncError | None) -> None:
        """Called holding the condition."""
        job.error = error
        self._jobs.pop(job.target, None)
        job.done.set()

    def _run(self, kind: str) -> None:
        line = self._lines[kind]
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(line) or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                job = line.popleft()
                job.started = True
            error = self._attempt(job)
            with self._cond:
                if isinstance(error, REMEMBERED):
                    with contextlib.suppress(OSError):
                        self._failures[job.target] = _Failure(_stamp(job.source), error)
                self._finish(job, error)

    def _attempt(self, job: Job) -> MediaSyncError | None:
        try:
            self._make(job)
        except Cancelled:
            return Unavailable("the service is stopping; ask again in a moment")
        except CorruptFile as exc:  # the clip, not the service: the same answer every time
            log.info("no %s for %s: %s", job.kind, job.source.name, exc.detail)
            return UnsupportedMediaType(exc.detail)
        except MediaSyncError as exc:
            log.info("no %s for %s: %s", job.kind, job.source.name, exc.detail)
            return exc
        except OSError as exc:
            log.warning("no %s for %s: %s", job.kind, job.source.name, exc)
            return Unavailable(
                f"{job.source.name}: could not write the {job.kind} ({exc.strerror})"
            )
        except Exception:
            log.exception("%s failed for %s", job.kind, job.source.name)
            return Unavailable(f"{job.source.name}: the {job.kind} failed; see the server log")
        return None

    def _make(self, job: Job) -> None:
        with exclusive(self.locks_dir, job.target, self._stopping):
            if job.target.is_file():
                return  # another process made it while this one waited
            if not job.source.is_file():
                raise MediaNotFound(f"{job.source.name} is gone; no {job.kind} made")
            folder = writable_dir(job.target.parent)
            sweep(folder)
            with self._cond:
                self.tried[job.kind] += 1
            if job.kind == "scrub":
                sprite = job.target.with_suffix(".jpg")
                make_strip(
                    job.source,
                    sprite,
                    job.target,
                    budget=self.budget,
                    stop=self._stopping.is_set,
                    file_mode=self.file_mode,
                )
            else:
                self._encode(job, folder)
            with self._cond:
                self.made[job.kind] += 1

    def _encode(self, job: Job, folder: Path) -> None:
        def progress(fraction: float) -> None:
            job.progress = fraction

        def encode(temp: Path) -> None:
            stop = self._stopping.is_set
            make_preview(job.source, temp, budget=self.budget, progress=progress, stop=stop)

        write_whole(folder, job.target, ".mp4", self.file_mode, encode)
