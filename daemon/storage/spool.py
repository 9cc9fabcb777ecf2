"""Receiving bytes into a locked temp file beside their destination while hashing them in one
pass, and removing the temp files of writers that are gone."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from daemon.errors import StorageFull
from daemon.storage.conventions import ORIGINALS, THUMBNAILS, is_temp_name, open_locked_temp
from daemon.storage.hashing import Digest, StreamHasher
from daemon.storage.sources import Source

log = logging.getLogger("media_sync.spool")
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_full(exc: BaseException) -> bool:
    """True for "no space left" and "quota exceeded"."""
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


@contextmanager
def full_means_storage_full(where: Path, what: str) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT inside the block into StorageFull naming the full place."""
    try:
        yield
    except OSError as exc:
        if not is_full(exc):
            raise
        raise StorageFull(
            f"no space left on the disk holding {where} ({exc.strerror}); {what}"
        ) from exc


class TempWriter:
    """A temp file inside the destination directory, locked (``flock``) while it exists;
    ``finish()`` fsyncs and returns the digest.

    Never leaves a file behind: ``abort()`` (or a failed ``finish()``) removes it. Keep the
    writer until the temp is placed (renamed or linked away), then ``close()`` it: the lock
    is what tells start-up cleanup that the temp is still someone's. ENOSPC/EDQUOT become
    StorageFull (the temp is removed).
    """

    def __init__(self, directory: Path, hint: str = "") -> None:
        self._what = f"{hint or 'the upload'} was not stored"
        with full_means_storage_full(directory, self._what):
            directory.mkdir(parents=True, exist_ok=True)
            self.path, fd = open_locked_temp(directory, hint)
        self._fd: int | None = fd
        self._writing = True
        self._hasher = StreamHasher()
        self.size = 0
        self.directory = directory

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_many([data])

    def write_many(self, pieces: Sequence[bytes | bytearray | memoryview]) -> None:
        """Hash and write several pieces with one ``writev`` (falls back to ``write`` on a short one)."""
        assert self._fd is not None and self._writing, "write after finish/abort"
        for piece in pieces:
            self._hasher.update(piece)
        total = sum(len(piece) for piece in pieces)
        try:
            written = os.writev(self._fd, pieces[:_IOV_MAX]) if pieces else 0
            self.size += total
            if written == total:
                return
            view = memoryview(b"".join(pieces))[written:]
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.abort()
        if is_full(exc):
            raise StorageFull(
                f"no space left on the disk holding {self.directory} ({exc.strerror}); {self._what}"
            ) from exc
        raise exc

    def finish(self) -> Digest:
        """fsync and return the digest; the temp stays locked until ``close()``/``abort()``."""
        assert self._fd is not None and self._writing, "finish twice"
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)
        except BaseException:
            self.abort()
            raise
        self._writing = False
        return self._hasher.digest()

    def close(self) -> None:
        """Release the lock (once the temp is placed or gone); removes a temp still there."""
        self.abort()

    def abort(self) -> None:
        """Remove the temp (while still holding its lock), then release the lock."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        self._writing = False


def _temp_dirs(source: Source) -> list[Path]:
    """Where media-sync writes temp files in a root: uploads in `ingest/originals/`, atomic
    writes of index.json (project folder), thumbnails, and the `_sources/` registry."""
    try:
        folders = [Path(e.path) for e in os.scandir(source.root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [d for folder in folders for d in (folder, folder / ORIGINALS, folder / THUMBNAILS)]


def remove_if_abandoned(path: Path) -> bool:
    """Remove the temp at ``path`` when no writer holds its lock (the writer crashed, or is a
    zombie, or its PID now belongs to another process); False while someone holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        if os.lstat(path).st_ino != os.fstat(fd).st_ino:
            return False
        os.unlink(path)  # while holding the lock: no writer can have taken it meanwhile
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_temps(sources: tuple[Source, ...]) -> int:
    """Delete temp files nobody holds locked (crash leftovers) wherever media-sync writes them."""
    removed = 0
    for source in sources:
        for directory in _temp_dirs(source):
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                if is_temp_name(entry.name) and remove_if_abandoned(Path(entry.path)):
                    removed += 1
                    log.info("removed leftover temp file %s", entry.path)
    return removed
