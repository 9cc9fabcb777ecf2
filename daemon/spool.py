"""Receiving bytes into a temp file beside their destination while hashing them in one pass."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

from daemon.conventions import ORIGINALS, THUMBNAILS, is_temp_name, temp_owner_gone, temp_path_for
from daemon.hashing import Digest, StreamHasher
from daemon.sources import Source

log = logging.getLogger("media_sync.spool")
_IOV_MAX = os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024


class TempWriter:
    """A temp file inside the destination directory; ``finish()`` fsyncs and returns the digest.

    Never leaves a file behind: ``abort()`` (or a failed ``finish()``) removes it.
    """

    def __init__(self, directory: Path, hint: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = temp_path_for(directory, hint)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._hasher = StreamHasher()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None, "write after finish/abort"
        self._hasher.update(data)
        view = memoryview(data)
        while view:
            count = os.write(self._fd, view)
            view = view[count:]
        self.size += len(data)

    def write_many(self, pieces: Sequence[bytes | bytearray | memoryview]) -> None:
        """Hash and write several pieces with one ``writev`` (falls back to ``write`` on a short one)."""
        assert self._fd is not None, "write after finish/abort"
        for piece in pieces:
            self._hasher.update(piece)
        total = sum(len(piece) for piece in pieces)
        written = os.writev(self._fd, pieces[:_IOV_MAX]) if pieces else 0
        self.size += total
        if written == total:
            return
        view = memoryview(b"".join(pieces))[written:]
        while view:
            count = os.write(self._fd, view)
            view = view[count:]

    def finish(self) -> Digest:
        assert self._fd is not None, "finish twice"
        try:
            os.fsync(self._fd)
        except BaseException:
            self.abort()
            raise
        os.close(self._fd)
        self._fd = None
        return self._hasher.digest()

    def abort(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _temp_dirs(source: Source) -> list[Path]:
    """Where media-sync writes temp files in a root: uploads in `ingest/originals/`, atomic
    writes of index.json (project folder), thumbnails, and the `_sources/` registry."""
    try:
        folders = [Path(e.path) for e in os.scandir(source.root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [d for folder in folders for d in (folder, folder / ORIGINALS, folder / THUMBNAILS)]


def remove_stale_temps(sources: tuple[Source, ...], stale_after: float = 24 * 3600) -> int:
    """Delete temp files whose writer is gone (crash leftovers) wherever media-sync writes them."""
    removed = 0
    now = time.time()
    for source in sources:
        for directory in _temp_dirs(source):
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                if not is_temp_name(entry.name):
                    continue
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    if temp_owner_gone(entry.name, stale_after, mtime, now):
                        os.unlink(entry.path)
                        removed += 1
                        log.info("removed leftover temp file %s", entry.path)
                except OSError:
                    continue
    return removed
