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
