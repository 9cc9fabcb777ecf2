"""Removing expired resumable uploads (their bytes and state), at start-up and periodically on
a small stoppable thread; a spool some request holds locked right now is left alone."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from daemon.errors import Unavailable, UploadNotFound
from daemon.ingest.resumable_spool import (
    HASHES,
    commit_path,
    part_path,
    read,
    spool_dir,
    state_path,
    unlink_quietly,
)
from daemon.library import Library
from daemon.storage.conventions import fsync_dir, is_temp_name
from daemon.storage.projects import ProjectRef, list_project_names
from daemon.storage.spool import remove_if_abandoned

log = logging.getLogger("media_sync.resumable")


def _spools(lib: Library) -> Iterator[tuple[ProjectRef, Path]]:
    """Every project's spool folder that exists, in every source."""
    for source in lib.registry().sources:
        try:
            names = list_project_names(source)
        except Unavailable:
            continue
        for name in names:
            ref = ProjectRef(source, name)
            if spool_dir(ref).is_dir():
                yield ref, spool_dir(ref)


def _remove(ref: ProjectRef, upload_id: str) -> bool:
    """Remove one upload's files unless a request holds its spool locked (False then)."""
    part = part_path(ref, upload_id)
    try:
        fd: int | None = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        unlink_quietly(part, commit_path(ref, upload_id), state_path(ref, upload_id))
    finally:
        if fd is not None:
            os.close(fd)
    HASHES.drop(upload_id)
    return True


def _sweep_dir(ref: ProjectRef, directory: Path, now: float, keep_seconds: float) -> int:
    removed = 0
    try:
        with os.scandir(directory) as scan:
            entries = list(scan)
    except OSError:
        return 0
    for entry in entries:
        path = Path(entry.path)
        stem, _, ext = entry.name.rpartition(".")
        if is_temp_name(entry.name):
            remove_if_abandoned(path)  # a state write a crash interrupted
        elif ext == "json":
            upload = read(ref, stem)
            if upload is not None and upload.expired(now) and _remove(ref, stem):
                removed += 1
        elif ext in ("part", "commit") and not state_path(ref, stem).exists():
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime + keep_seconds <= now and remove_if_abandoned(path):
                    removed += 1  # bytes whose state was never written (a crash at creation)
    if removed:
        fsync_dir(directory)
    return removed


def expire(lib: Library, now: float | None = None) -> int:
    """Remove every expired spool (bytes + state) in every project; the count removed."""
    moment = time.time() if now is None else now
    keep = lib.settings.upload_expiry_hours * 3600
    removed = sum(_sweep_dir(ref, d, moment, keep) for ref, d in _spools(lib))
    if removed:
        log.info("removed %d expired resumable upload(s)", removed)
    return removed


def open_uploads(lib: Library, now: float | None = None) -> tuple[int, int]:
    """(how many, bytes held): the resumable uploads neither committed nor expired, read from
    the state files of every project's spool (``mediasync_resumable_upload*``)."""
    moment = time.time() if now is None else now
    count = held = 0
    for ref, directory in _spools(lib):
        try:
            with os.scandir(directory) as scan:
                names = [e.name[:-5] for e in scan if e.name.endswith(".json")]
        except OSError:
            continue
        for upload_id in names:
            try:
                upload = read(ref, upload_id)
            except UploadNotFound:  # not a name this module gives
                continue
            if upload is not None and upload.result is None and not upload.expired(moment):
                count, held = count + 1, held + upload.offset
    return count, held


def sweep_interval(lib: Library) -> float:
    """A tenth of the expiry time, between 10 s and 1 h."""
    return min(3600.0, max(10.0, lib.settings.upload_expiry_hours * 360))


def start_expiry_sweep(lib: Library) -> Callable[[], None]:
    """Expire spools every ``sweep_interval`` on a thread; returns the function that stops
    and joins it (a Service, see ``daemon.runtime.services``)."""
    stopping = threading.Event()

    def run() -> None:
        while not stopping.wait(sweep_interval(lib)):
            try:
                expire(lib)
            except Exception:
                log.exception("expiring resumable uploads failed; trying again later")

    thread = threading.Thread(target=run, name="upload-expiry", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join()

    return stop
