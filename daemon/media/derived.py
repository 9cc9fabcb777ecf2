"""Making a derived file (browser preview, scrub track, proxy) once: a lock every process on the
state dir shares, leftovers of crashed writers swept, and the result renamed into place whole."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from daemon.media.transcode import Cancelled
from daemon.storage import conventions
from daemon.storage.conventions import is_temp_name
from daemon.storage.spool import remove_if_abandoned

LOCK_POLL = 0.2  # seconds between tries of another process's lock


def lock_path(locks_dir: Path, target: Path) -> Path:
    """The lock file every process holds while it makes ``target``."""
    return locks_dir / f"browser-{hashlib.sha1(os.fsencode(target)).hexdigest()[:20]}.lock"


@contextlib.contextmanager
def exclusive(locks_dir: Path, target: Path, stopping: threading.Event) -> Iterator[None]:
    """Hold the lock file of ``target``, trying again every LOCK_POLL seconds so that a stop
    is never held up (Cancelled when ``stopping`` is set while waiting)."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(locks_dir, target), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if stopping.wait(LOCK_POLL):
                    raise Cancelled from None
        yield
    finally:
        os.close(fd)


def sweep(folder: Path) -> None:
    """Remove temp files a crashed writer left in ``folder`` (those nobody holds locked)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if is_temp_name(entry.name):
                remove_if_abandoned(Path(entry.path))


def write_whole(
    folder: Path, target: Path, suffix: str, file_mode: int, make: Callable[[Path], None]
) -> None:
    """``make(temp)`` writes into a locked temp file in ``folder`` (an encoder opens it by
    path); it becomes ``target`` only when complete (``conventions.write_whole``)."""
    conventions.write_whole(folder, target, suffix, file_mode, lambda temp, _fd: make(temp))
