"""Committing a finished resumable upload: its digest (the running hash kept in process, or the
spool read once after a restart), the one ingest pipeline (``ingest_upload``), the sync
session's item, and the result kept in the state; idempotent, and safe against a crash at any
point (the state is marked ``committing`` and the pipeline gets a second link to the bytes)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from daemon.catalog import intake
from daemon.errors import InvalidInput, MediaSyncError, UploadNotFound
from daemon.ingest import batches
from daemon.ingest.liveness import stamp_of
from daemon.ingest.pipeline import IngestResult, ingest_upload, note_upload
from daemon.ingest.resumable_spool import (
    HASHES,
    HELD,
    Upload,
    check_id,
    commit_path,
    hash_prefix,
    locked,
    part_path,
    read,
    save,
    spool_dir,
    unlink_quietly,
)
from daemon.library import Library
from daemon.observe import CLIENT
from daemon.storage.conventions import fsync_dir
from daemon.storage.hashing import Digest
from daemon.storage.projects import ProjectRef

log = logging.getLogger("media_sync.resumable")


def _result_of(ref: ProjectRef, stored: dict[str, Any]) -> IngestResult:
    digest = Digest(stored["blake3"], stored["sha256"], stored["size"])
    return IngestResult(
        stored["status"], ref, stored["path"], digest,
        duplicate_of=stored.get("duplicate_of"), also_in=list(stored.get("also_in", [])),
        uploaded_at=stored.get("uploaded_at"), warnings=list(stored.get("warnings", [])),
    )  # fmt: skip


def _stored(result: IngestResult) -> dict[str, Any]:
    return {
        "status": result.status, "path": result.rel_path, "sha256": result.digest.sha256,
        "blake3": result.digest.blake3, "size": result.digest.size,
        "duplicate_of": result.duplicate_of, "also_in": result.also_in,
        "uploaded_at": result.uploaded_at, "warnings": result.warnings,
    }  # fmt: skip


@contextmanager
def _commit_lock(ref: ProjectRef, upload_id: str) -> Iterator[None]:
    """Serialise commits of one upload: in this process by a lock, across processes by the
    spool's flock (unless an Appender of this process holds that one already)."""
    gate, ours = HELD.gate(upload_id)
    with gate, contextlib.ExitStack() as stack:
        if not ours:
            with contextlib.suppress(UploadNotFound):  # no bytes: committed already, or lost
                stack.enter_context(locked(ref, upload_id))
        yield


def complete(lib: Library, ref: ProjectRef, upload: Upload) -> IngestResult:
    """Commit a finished upload through the pipeline (idempotent: the stored result after)."""
    with _commit_lock(ref, check_id(upload.id)):
        current = read(ref, upload.id) or upload
        if current.result is not None:
            return _result_of(ref, current.result)
        if not current.complete:
            raise InvalidInput(
                f"the upload has {current.offset} of {current.length or '?'} bytes; send the rest first"
            )
        part = part_path(ref, upload.id)
        if not part.exists():
            raise UploadNotFound(f"the bytes of upload {upload.id!r} are gone; start it again")
        hasher = HASHES.take(upload.id, current.offset)
        if hasher is None:
            fd = os.open(part, os.O_RDONLY | os.O_CLOEXEC)
            try:
                hasher = hash_prefix(fd, current.offset)
            finally:
                os.close(fd)
        again = current.committing  # a previous attempt may have placed these very bytes
        current.committing = True
        save(ref, current)
        handed = _second_name(ref, upload.id)
        inode = os.stat(part).st_ino
        try:
            arrived = (("client", CLIENT.get() or "unknown"), ("received_at", current.created_at))
            result = ingest_upload(
                lib, ref, handed, current.filename, hasher.digest(), arrived=arrived
            )
        except MediaSyncError as exc:
            batches.record_upload(lib, ref, current.batch_id, current.filename, error=exc)
            raise
        ours = _placed_from(ref, result, inode)
        if again and ours and result.status == "duplicate":
            result = replace(result, status="stored", duplicate_of=None)  # it was this upload
        batches.record_upload(lib, ref, current.batch_id, current.filename, result=result)
        current.result = _stored(result)
        save(ref, current)
        unlink_quietly(part)
        fsync_dir(spool_dir(ref))
        if ours:
            _restamp(lib, ref, result)
        HASHES.drop(upload.id)
        HELD.forget(upload.id)
        log.info("resumable upload %s committed: %s %s", upload.id, result.status, result.rel_path)
        return note_upload(lib, result)  # the upload's outcome line and counters


def _placed_from(ref: ProjectRef, result: IngestResult, inode: int) -> bool:
    """Whether the file the result names is the spool's inode (placed by a link)."""
    try:
        return os.lstat(ref.path / result.rel_path).st_ino == inode
    except OSError:
        return False


def _restamp(lib: Library, ref: ProjectRef, result: IngestResult) -> None:
    """Removing the spool's name of a placed file moves the file's ctime, which the catalog's
    liveness stamp includes: record the new one, when nothing else about the file changed."""
    try:
        now = stamp_of(os.lstat(ref.path / result.rel_path))
    except OSError:
        return
    with lib.catalog.write():
        rows = intake.rows_at(lib.catalog, ref.source.name, [(ref.name, result.rel_path)])
        if not rows:
            return
        row = rows[0]
        if (row.size, row.inode, row.mtime_ns, row.blake3) == (*now[:3], result.digest.blake3):
            intake.restamp(lib.catalog, ref.source.name, ref.name, result.rel_path, now)


def _second_name(ref: ProjectRef, upload_id: str) -> Path:
    """A second link to the bytes for the pipeline (which removes the name it is given), so a
    crash before the result is stored leaves the spool to commit again; the spool itself
    where the filesystem has no hard links."""
    part, twin = part_path(ref, upload_id), commit_path(ref, upload_id)
    unlink_quietly(twin)
    try:
        os.link(part, twin)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise
        return part  # no hard links here (some SMB mounts): the pipeline takes the spool itself
    return twin
