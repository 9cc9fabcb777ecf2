"""Choosing a watch backend per source: inotify where it sees changes, polling where it cannot."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver

from daemon.storage.conventions import SOURCES_DIR
from daemon.watch.polling import PollStats, adaptive_observer

log = logging.getLogger("media_sync.watch")

# Filesystems on which inotify sees nothing (or only local changes): network shares, VM and
# container bind mounts (Docker Desktop's grpcfuse/fakeowner/virtiofs, WSL's drvfs/9p).
POLLING_FS = frozenset(
    {
        "cifs", "smb3", "smbfs", "nfs", "nfs4", "9p", "virtiofs", "grpcfuse", "fakeowner",
        "vboxsf", "drvfs", "afs", "ceph", "glusterfs", "davfs", "lustre", "prl_fs", "vmhgfs",
        "fuseblk", "osxfs",
    }
)  # fmt: skip
CANARY_PREFIX = ".media-sync-canary-"
INOTIFY_LIMITS = {errno.ENOSPC, errno.EMFILE}


@dataclass(frozen=True)
class Choice:
    mode: str  # native | polling | off
    reason: str


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mount_fstype(path: Path, mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """The filesystem type of the mount holding ``path`` (longest mount-point prefix)."""
    try:
        target = os.path.realpath(path)
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        point = _unescape(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, right.split()[0]
    return fstype


def choose(setting: str, fstype: str | None) -> Choice:
    """The backend a setting and a filesystem type call for (before any self-test)."""
    if setting == "off":
        return Choice("off", "MEDIA_SYNC_WATCH=off: periodic reconcile only")
    if setting == "polling":
        return Choice("polling", "MEDIA_SYNC_WATCH=polling")
    if setting == "native":
        return Choice("native", "MEDIA_SYNC_WATCH=native")
    if fstype is not None and (fstype in POLLING_FS or fstype.startswith("fuse.")):
        return Choice("polling", f"{fstype} filesystem: inotify cannot see remote changes")
    return Choice("native", f"inotify on {fstype or 'unknown'} filesystem")


def _filtered_scandir(path: str | None) -> Iterator[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        yield from (e for e in entries if not e.name.startswith("."))


def make_observer(mode: str, poll_interval: float, stats: PollStats | None = None) -> BaseObserver:
    """A watchdog observer for ``mode`` (native: the platform's best, polling: a stat walk that
    backs off by tree size and reports its cost in ``stats``)."""
    if mode == "polling":
        return adaptive_observer(stats or PollStats(poll_interval), os.lstat, _filtered_scandir)
    from watchdog.observers import Observer

    observer: BaseObserver = Observer()
    return observer


def start_observer(
    mode: str,
    root: Path,
    handler: FileSystemEventHandler,
    poll_interval: float,
    stats: PollStats | None = None,
) -> BaseObserver:
    """Schedule and start an observer on ``root``; an inotify limit raises OSError."""
    # watchdog's inotify reader warns about a benign race (a new directory's watch added twice);
    # under `-W error` that warning would kill its reader thread and blind the watcher.
    warnings.filterwarnings(
        "ignore", message=r"Callback with id .* already exists", category=RuntimeWarning
    )
    observer = make_observer(mode, poll_interval, stats)
    observer.name = f"media-sync-{mode}-{root.name}"
    observer.schedule(handler, str(root), recursive=True)
    try:
        observer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            observer.stop()
        raise
    return observer


def stop_observer(observer: BaseObserver, timeout: float = 10) -> None:
    observer.stop()
    if observer.is_alive():
        observer.join(timeout)


def observer_alive(observer: BaseObserver) -> bool:
    return observer.is_alive() and all(e.is_alive() for e in observer.emitters)


def canary_path(root: Path) -> Path:
    return root / SOURCES_DIR / f"{CANARY_PREFIX}{os.getpid()}"


class CanaryHandler(FileSystemEventHandler):
    """Wraps the real handler; notices the canary file's event and hides it from the rest."""

    def __init__(self, inner: FileSystemEventHandler) -> None:
        self.inner = inner
        self.seen = threading.Event()

    def dispatch(self, event: FileSystemEvent) -> None:
        src = str(event.src_path)
        if os.path.basename(src).startswith(CANARY_PREFIX):
            self.seen.set()
            return
        self.inner.dispatch(event)


def run_canary(root: Path, handler: CanaryHandler, timeout: float) -> bool:
    """Write a hidden file under the root's `_sources/`; True when the watcher reported it."""
    path = canary_path(root)
    handler.seen.clear()
    try:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"media-sync canary\n")
    except OSError as exc:
        log.warning("cannot write watcher canary %s: %s", path, exc)
        return False
    try:
        return handler.seen.wait(timeout)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def inotify_limit(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in INOTIFY_LIMITS


def describe(observer: BaseObserver | None) -> dict[str, Any]:
    if observer is None:
        return {"alive": False}
    return {"alive": observer_alive(observer)}
