"""Proof that a catalogued copy still holds the bytes it was hashed as, before it counts as one.

A copy is *live* when the path is a regular file (never through a symlink) whose size, inode,
mtime_ns and ctime_ns are all what they were when it was hashed (the ctime is the one stamp no
tool can set back), or else when re-hashing it now gives the recorded content. A row without
a recorded ctime (catalogued by an older media-sync) is unproven and always re-hashed.

Callers prove outside their write transaction (hashing can take minutes), then look at the
copy's stamp again inside it (``daemon.ingest.facts``): a copy whose stamp moved since the proof
is no longer proven.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from daemon.storage.hashing import CHUNK, Digest, StreamHasher

Stamp = tuple[int, int, int, int]  # size, inode, mtime_ns, ctime_ns

LIVE = "live"  # holds the content
GONE = "gone"  # no regular file there (deleted, replaced by a folder or a symlink)
CHANGED = "changed"  # holds other bytes now, or was being written while we hashed it


@dataclass(frozen=True)
class Proof:
    """What a copy was found to be, with the stamp that holds for the verdict."""

    verdict: str
    stamp: Stamp | None = None
    digest: Digest | None = None  # set when the copy was re-hashed
    st: os.stat_result | None = None

    @property
    def live(self) -> bool:
        return self.verdict == LIVE


def stamp_of(st: os.stat_result) -> Stamp:
    return st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns


def recorded_stamp(size: int, inode: int, mtime_ns: int, ctime_ns: int | None) -> Stamp | None:
    """The stamp a catalog row proves, or None when it proves nothing (no ctime recorded)."""
    if ctime_ns is None:
        return None
    return size, inode, mtime_ns, ctime_ns


def current_stamp(path: Path) -> Stamp | None:
    """The stamp of the regular file at ``path`` (lstat: a symlink is no copy), or None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return stamp_of(st) if stat.S_ISREG(st.st_mode) else None


def _hash_steady(path: Path) -> tuple[Digest, os.stat_result] | None:
    """Hash the regular file at ``path`` without following a symlink; None when it is not
    there or changed while it was read (its stamp before and after differ)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return None
        hasher = StreamHasher()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while count := os.readv(fd, [buffer]):
            hasher.update(view[:count])
        after = os.fstat(fd)
    except OSError:
        return None
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    if stamp_of(after) != stamp_of(before) or current_stamp(path) != stamp_of(after):
        return None
    return hasher.digest(), after


def prove(path: Path, recorded: Stamp | None, blake3: str) -> Proof:
    """Whether the copy at ``path`` (catalogued as ``blake3`` at stamp ``recorded``) holds it."""
    now = current_stamp(path)
    if now is None:
        return Proof(GONE)
    if recorded is not None and now == recorded:
        return Proof(LIVE, now)
    hashed = _hash_steady(path)
    if hashed is None:
        return Proof(GONE) if current_stamp(path) is None else Proof(CHANGED)
    digest, st = hashed
    verdict = LIVE if digest.blake3 == blake3 else CHANGED
    return Proof(verdict, stamp_of(st), digest, st)


def still(path: Path, proven: Stamp) -> bool:
    """True while the copy at ``path`` carries the stamp it was proven at."""
    return current_stamp(path) == proven
