"""Cross-process locks kept in the local state directory (never on the SMB share)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _lock_path(locks_dir: Path, key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:80]
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return locks_dir / f"{safe}-{digest}.lock"


@contextmanager
def file_lock(locks_dir: Path, key: str) -> Iterator[None]:
    """Hold an exclusive flock named ``key``; excludes other threads and processes alike."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(locks_dir, key), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class HeldLock:
    """An exclusive ``flock`` taken without waiting; ``release()`` lets it go (so does the
    process's death: the kernel drops it with the file descriptor)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def try_file_lock(locks_dir: Path, key: str) -> HeldLock | None:
    """The exclusive flock named ``key`` if no other holder has it now, else None (it never
    waits). Another open file description in this very process counts as another holder."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(_lock_path(locks_dir, key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return HeldLock(fd)
