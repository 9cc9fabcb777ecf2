"""Proof that a catalogued copy still holds the bytes it was hashed as, before it counts as one.

A copy is *live* when the path is a regular file (never through a symlink) whose size, inode,
mtime_ns and ctime_ns are all what they were when it was hashed (the ctime is the one stamp no
tool can set back), or else when re-hashing it now gives the recorded content. A row without
a recorded ctime (catalogued by an older media-sync) is unproven and always re-hashed.

Callers prove outside their write transaction (hashing can take minutes), then re-``stamp`` the
copy inside it: a copy whose stamp moved since the proof is no longer proven.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from daemon.catalog import File
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


class Row(Protocol):
    """A catalog row of a copy (``File``): where it is and the stamp it was hashed at."""

    id: int
    rel_path: str
    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int | None


@dataclass
class Verified:
    """Copies of one content in a folder, proven outside the write transaction."""

    proven: dict[str, Stamp] = field(default_factory=dict)  # rel -> stamp it holds the bytes at
    gone: set[str] = field(default_factory=set)
    changed: dict[str, Proof] = field(default_factory=dict)


def verify_copies(root: Path, rows: Iterable[Row], blake3: str) -> Verified:
    """Prove catalogued copies under ``root`` (re-hashing those whose stamp moved) until one
    holds ``blake3``. Call it outside any write transaction."""
    verified = Verified()
    for row in rows:
        recorded = recorded_stamp(row.size, row.inode, row.mtime_ns, row.ctime_ns)
        proof = prove(root / row.rel_path, recorded, blake3)
        if proof.live and proof.stamp is not None:
            verified.proven[row.rel_path] = proof.stamp
            break
        if proof.verdict == GONE:
            verified.gone.add(row.rel_path)
        else:
            verified.changed[row.rel_path] = proof
    return verified


def live_in_transaction(
    root: Path, rows: Iterable[Row], verified: Verified
) -> tuple[str | None, list[str]]:
    """Inside the write transaction, with ``rows`` re-read in it: a copy whose stamp is still
    the proven (or recorded) one, and the rows whose file is still gone. Nothing is hashed
    here; a re-hashed copy gets the stamp it was proven at recorded."""
    phantoms: list[str] = []
    for row in rows:
        now = current_stamp(root / row.rel_path)
        if now is None:
            if row.rel_path in verified.gone:
                phantoms.append(row.rel_path)
            continue
        if row.rel_path in verified.changed:
            continue
        recorded = recorded_stamp(row.size, row.inode, row.mtime_ns, row.ctime_ns)
        if now == verified.proven.get(row.rel_path) or (recorded is not None and now == recorded):
            if now != recorded:
                File.update(size=now[0], inode=now[1], mtime_ns=now[2], ctime_ns=now[3]).where(
                    File.id == row.id
                ).execute()
            return row.rel_path, phantoms
    return None, phantoms
