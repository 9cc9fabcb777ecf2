"""Resumable uploads (tus 1.0.0 and the IETF draft share it): create a spool, append to it with
offsets made durable before they are acknowledged, and commit the finished bytes through the one
ingest pipeline (``daemon.ingest.pipeline.ingest_upload``); expired spools are removed.

Crash safety: an append writes at the stored offset (the file is cut back to it first, so bytes
written but never acknowledged are forgotten), fsyncs the data, then writes the state atomically.
A commit hands the pipeline a second link to the bytes and marks the state ``committing`` first,
so a crash anywhere leaves either the spool (committed again, found a duplicate of itself) or
the result. Files in the spool: ``daemon.ingest.resumable_spool``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from daemon.errors import (
    ChecksumMismatch,
    EmptyUpload,
    InvalidInput,
    OffsetMismatch,
    PayloadTooLarge,
    StorageFull,
    UploadFinished,
    UploadNotFound,
)
from daemon.ingest import batches
from daemon.ingest.pipeline import check_upload_name
from daemon.ingest.resumable_commit import complete
from daemon.ingest.resumable_spool import (
    HASHES,
    HELD,
    WRITEBACK_EVERY,
    RunningHash,
    Upload,
    check_id,
    commit_path,
    hash_prefix,
    iso_time,
    locked,
    new_id,
    part_path,
    read,
    read_live,
    save,
    spool_dir,
    start_writeback,
    state_path,
    unlink_quietly,
)
from daemon.ingest.resumable_sweep import expire
from daemon.library import Library
from daemon.storage.conventions import fsync_dir, writable_dir
from daemon.storage.projects import ProjectRef
from daemon.storage.spool import full_means_storage_full, is_full

log = logging.getLogger("media_sync.resumable")
CHECKSUMS = ("sha1", "sha256")  # the tus checksum extension's algorithms we accept


def check_name(raw: str | None) -> str:
    """A safe stored name with an accepted media extension, or 400/415 (before any byte)."""
    return check_upload_name(
        raw, "the upload names no file: send its name (tus: Upload-Metadata filename)"
    )


def _check_length(lib: Library, length: int, offset: int = 0) -> None:
    if length < offset or length < 0:
        raise InvalidInput(f"Upload-Length {length} is below the {offset} bytes already received")
    if length == 0:
        raise EmptyUpload("the upload is empty (0 bytes); nothing would be stored")
    if length > lib.settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"upload of {length} bytes is larger than MEDIA_SYNC_MAX_UPLOAD_MB "
            f"({lib.settings.max_upload_mb} MiB)"
        )


def _expiry(lib: Library, now: float | None = None) -> str:
    return iso_time((time.time() if now is None else now) + lib.settings.upload_expiry_hours * 3600)


def create(
    lib: Library,
    ref: ProjectRef,
    *,
    filename: str | None,
    length: int | None,
    metadata: dict[str, str],
    batch_id: str | None,
    protocol: str,
) -> Upload:
    """A new empty spool; 415/413/400 from the name and length before any byte is read."""
    name = check_name(filename)
    if length is not None:
        _check_length(lib, length)
    batches.check_open(lib, ref, batch_id)
    upload_id = new_id()
    now = time.time()
    upload = Upload(
        upload_id, ref.source.name, ref.name, name, length, 0, iso_time(now), _expiry(lib, now),
        dict(metadata), batch_id, protocol,
    )  # fmt: skip
    what = f"the upload of {name!r} was not started"
    with full_means_storage_full(ref.path, what):
        writable_dir(spool_dir(ref))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        os.close(os.open(part_path(ref, upload_id), flags, 0o600))
        try:
            save(ref, upload)
        except BaseException:
            unlink_quietly(part_path(ref, upload_id))
            raise
    log.info("resumable upload %s started: %s/%s (%s bytes)", upload_id, ref.name, name, length)
    return upload


def load(lib: Library, ref: ProjectRef, upload_id: str) -> Upload:
    """The upload's state: 404 for an unknown or malformed id, 410 once expired."""
    del lib
    return read_live(ref, check_id(upload_id), time.time())


def set_length(lib: Library, ref: ProjectRef, upload_id: str, length: int) -> Upload:
    """Fix a deferred length once; the same value again is fine, another one is a conflict."""
    with locked(ref, check_id(upload_id)):
        upload = load(lib, ref, upload_id)
        if upload.length == length:
            return upload
        if upload.length is not None:
            raise UploadFinished(
                f"the length of upload {upload_id!r} is {upload.length} already, not {length}"
            )
        _check_length(lib, length, upload.offset)
        upload.length = length
        save(ref, upload)
        return upload


class Appender:
    """One request's bytes appended at the stored offset; nothing counts until ``durable()``."""

    def __init__(self, lib: Library, ref: ProjectRef, upload: Upload, fd: int, hasher: RunningHash):
        self.lib, self.ref, self._fd = lib, ref, fd
        self.upload = upload  # as durably stored
        self._hasher = hasher
        self._saved = hasher.copy()
        self.received = 0  # bytes of this request written since the last durable()/rollback()
        self._checksum: tuple[Any, bytes] | None = None
        self._written_back = upload.offset

    def expect_checksum(self, algorithm: str, expected: bytes) -> None:
        """This request's bytes must hash to ``expected`` (checked by ``durable()``)."""
        if algorithm not in CHECKSUMS:
            raise InvalidInput(
                f"checksum algorithm {algorithm!r} is not supported; use one of {', '.join(CHECKSUMS)}"
            )
        self._checksum = (hashlib.new(algorithm), expected)

    @property
    def limit(self) -> int:
        """How many more bytes this upload may take."""
        cap = self.upload.length or self.lib.settings.max_upload_bytes
        return cap - self.upload.offset - self.received

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.write_many([data])

    def write_many(self, pieces: Sequence[bytes | bytearray | memoryview]) -> None:
        """Write (``pwritev``) and hash several pieces; past the length: 413, nothing kept."""
        total = sum(len(piece) for piece in pieces)
        if total > self.limit:
            self.rollback()
            if self.upload.length is None:
                raise PayloadTooLarge(
                    "upload is larger than MEDIA_SYNC_MAX_UPLOAD_MB "
                    f"({self.lib.settings.max_upload_mb} MiB)"
                )
            raise PayloadTooLarge(
                f"the request carries more than the {self.upload.length - self.upload.offset} "
                f"bytes left of Upload-Length {self.upload.length}; this request was dropped"
            )
        position = self.upload.offset + self.received
        try:
            written = os.pwritev(self._fd, list(pieces), position) if pieces else 0
            if written < total:
                view = memoryview(b"".join(pieces))[written:]
                while view:
                    view = view[os.pwrite(self._fd, view, position + total - len(view)) :]
        except OSError as exc:
            self.rollback()
            if is_full(exc):
                raise StorageFull(
                    f"no space left on the disk holding {self.ref.path} ({exc.strerror}); "
                    f"the last {total} bytes of {self.upload.filename!r} were not stored"
                ) from exc
            raise
        for piece in pieces:
            self._hasher.update(piece)
            if self._checksum is not None:
                self._checksum[0].update(piece)
        self.received += total
        end = self.upload.offset + self.received
        if end - self._written_back >= WRITEBACK_EVERY:
            start_writeback(self._fd, self._written_back, end - self._written_back)
            self._written_back = end

    def durable(self) -> Upload:
        """Check the checksum, fsync the bytes, then store the new offset: after this it may be
        acknowledged. A checksum mismatch drops this request's bytes (ChecksumMismatch)."""
        if self._checksum is not None:
            hasher, expected = self._checksum
            if hasher.digest() != expected:
                self.rollback()
                raise ChecksumMismatch(
                    f"the bytes received do not match Upload-Checksum ({hasher.name}); they were "
                    f"dropped: send them again from offset {self.upload.offset}"
                )
            self._checksum = (hashlib.new(hasher.name), expected)
        if self.received:
            try:
                os.fsync(self._fd)
                upload = replace(
                    self.upload,
                    offset=self.upload.offset + self.received,
                    expires_at=_expiry(self.lib),
                )
                with full_means_storage_full(self.ref.path, "the offset was not advanced"):
                    save(self.ref, upload)
            except BaseException:
                self.rollback()
                raise
            self.upload, self.received = upload, 0
            self._saved = self._hasher.copy()
            HASHES.keep(upload.id, self._saved)
        return replace(self.upload)

    def rollback(self) -> None:
        """Forget the bytes written since the last ``durable()`` (the file is cut back)."""
        self._hasher = self._saved.copy()
        self.received = 0
        self._written_back = min(self._written_back, self.upload.offset)
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self.upload.offset)


def _not_finished(upload: Upload) -> Upload:
    if upload.result is not None or upload.complete:
        raise UploadFinished(
            f"the resumable upload {upload.id!r} is complete already: ask for its state (HEAD "
            "or GET) to learn what became of it"
        )
    return upload


@contextmanager
def append(lib: Library, ref: ProjectRef, upload_id: str, offset: int) -> Iterator[Appender]:
    """Hold the spool's lock while one request appends at ``offset`` (which must be the stored
    one: else OffsetMismatch). Another request on the same upload meanwhile: UploadBusy. Bytes
    not made durable by the end of the block are dropped."""
    _not_finished(load(lib, ref, upload_id))
    with locked(ref, upload_id) as fd:
        upload = _not_finished(load(lib, ref, upload_id))  # read again under the lock
        if offset != upload.offset:
            raise OffsetMismatch(
                f"Upload-Offset {offset} is not where the upload stands ({upload.offset}): "
                "ask for the offset (HEAD) and send from there",
                offset=upload.offset,
            )
        if os.fstat(fd).st_size != upload.offset:
            os.ftruncate(fd, upload.offset)  # bytes written but never acknowledged
        hasher = HASHES.take(upload_id, upload.offset) or hash_prefix(fd, upload.offset)
        appender = Appender(lib, ref, upload, fd, hasher)
        HELD.hold(upload_id)
        try:
            yield appender
        finally:
            HELD.release(upload_id)
            if appender.received:
                appender.rollback()


def terminate(lib: Library, ref: ProjectRef, upload_id: str) -> None:
    """Remove the spool (its bytes and its state); 404 when unknown."""
    del lib
    check_id(upload_id)
    if read(ref, upload_id) is None:
        raise UploadNotFound(f"no resumable upload {upload_id!r} in project {ref.name!r}")
    part = part_path(ref, upload_id)
    if part.exists():
        with locked(ref, upload_id):
            unlink_quietly(part, commit_path(ref, upload_id), state_path(ref, upload_id))
    else:
        unlink_quietly(commit_path(ref, upload_id), state_path(ref, upload_id))
    fsync_dir(spool_dir(ref))
    HASHES.drop(upload_id)
    log.info("resumable upload %s terminated", upload_id)


__all__ = [
    "CHECKSUMS",
    "Appender",
    "Upload",
    "append",
    "check_name",
    "complete",
    "create",
    "expire",
    "load",
    "set_length",
    "terminate",
]
