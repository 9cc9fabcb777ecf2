"""The on-disk spool of resumable uploads: the persisted ``Upload`` state, its file names, its
ids and times, and the running hash kept in process between requests.

One upload is two files in ``<project>/_manifest/uploads/``: ``<id>.part`` (the bytes received,
locked with ``flock`` while a request appends) and ``<id>.json`` (the state, written atomically:
temp + fsync + rename + fsync dir). ``_manifest/`` is skipped by the watcher and reconcile and
sits on the project's filesystem, so a finished upload is placed with a link, never a copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import blake3

from daemon.errors import UploadBusy, UploadExpired, UploadNotFound
from daemon.storage.conventions import MANIFEST_DIR, atomic_write_json
from daemon.storage.hashing import CHUNK, Digest
from daemon.storage.projects import ProjectRef

UPLOADS_DIR = f"{MANIFEST_DIR}/uploads"
PROTOCOLS = ("tus", "ietf")
_ID = re.compile(r"^[A-Za-z0-9_-]{24}$")  # secrets.token_urlsafe(18)


@dataclass
class Upload:
    """The persisted state of one resumable upload."""

    id: str
    source: str
    project: str
    filename: str  # already checked: a clean name with an accepted media extension
    length: int | None  # None: not known yet (IETF before the client says)
    offset: int  # bytes durably stored
    created_at: str  # ISO UTC "...Z"
    expires_at: str  # ISO UTC: MEDIA_SYNC_UPLOAD_EXPIRY_HOURS after the last write
    metadata: dict[str, str] = field(default_factory=dict)
    batch_id: str | None = None
    protocol: str = "tus"
    result: dict[str, Any] | None = None  # once committed: status, path, sha256, size, ...
    committing: bool = False  # the pipeline was called (a restart finds out what it did)

    @property
    def complete(self) -> bool:
        """Every byte is here (it may still be waiting for its commit: see ``result``)."""
        return self.length is not None and self.offset >= self.length

    def expired(self, now: float) -> bool:
        return parse_time(self.expires_at) <= now


def new_id() -> str:
    return secrets.token_urlsafe(18)


def check_id(upload_id: str) -> str:
    """The id when it has the shape ``new_id`` makes, else UploadNotFound (never a path)."""
    if not _ID.match(upload_id):
        raise UploadNotFound(f"no resumable upload has the id {upload_id[:40]!r}")
    return upload_id


def spool_dir(ref: ProjectRef) -> Path:
    return ref.path / UPLOADS_DIR


def part_path(ref: ProjectRef, upload_id: str) -> Path:
    return spool_dir(ref) / f"{upload_id}.part"


def state_path(ref: ProjectRef, upload_id: str) -> Path:
    return spool_dir(ref) / f"{upload_id}.json"


def commit_path(ref: ProjectRef, upload_id: str) -> Path:
    """A second name of the bytes handed to the pipeline (which takes it away)."""
    return spool_dir(ref) / f"{upload_id}.commit"


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def http_date(text: str) -> str:
    """An ISO time as an RFC 9110 HTTP-date (the ``Upload-Expires`` header)."""
    moment = datetime.fromtimestamp(parse_time(text), UTC)
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def save(ref: ProjectRef, upload: Upload) -> None:
    """Write the state atomically and durably (temp, fsync, rename, fsync dir)."""
    atomic_write_json(state_path(ref, upload.id), asdict(upload), mode=0o600)


_FIELDS = {f.name for f in fields(Upload)}


def read(ref: ProjectRef, upload_id: str) -> Upload | None:
    """The stored state, or None when there is none (or it is not one this module wrote)."""
    try:
        document = json.loads(state_path(ref, check_id(upload_id)).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or not set(document) <= _FIELDS:
        return None
    try:
        upload = Upload(**document)
    except TypeError:
        return None
    return upload if upload.id == upload_id and upload.protocol in PROTOCOLS else None


def read_live(ref: ProjectRef, upload_id: str, now: float) -> Upload:
    """The stored state; UploadNotFound (404) when unknown, UploadExpired (410) once expired."""
    upload = read(ref, upload_id)
    if upload is None:
        raise UploadNotFound(
            f"no resumable upload {upload_id!r} in project {ref.name!r}: create one with "
            f"POST /api/projects/{ref.name}/uploads"
        )
    if upload.expired(now):
        raise UploadExpired(
            f"the resumable upload {upload_id!r} expired at {upload.expires_at} "
            "(MEDIA_SYNC_UPLOAD_EXPIRY_HOURS after its last write) and its bytes were "
            "removed: start the upload again"
        )
    return upload


class RunningHash:
    """blake3 + sha256 of the bytes so far; ``copy()`` so a refused chunk can be rolled back."""

    def __init__(self) -> None:
        self._blake3 = blake3.blake3()
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._blake3.update(data)
        self._sha256.update(data)
        self.size += len(data)

    def copy(self) -> RunningHash:
        twin = RunningHash.__new__(RunningHash)
        twin._blake3, twin._sha256, twin.size = self._blake3.copy(), self._sha256.copy(), self.size
        return twin

    def digest(self) -> Digest:
        return Digest(self._blake3.hexdigest(), self._sha256.hexdigest(), self.size)


def hash_prefix(fd: int, length: int) -> RunningHash:
    """Hash the first ``length`` bytes of an open file (after a restart: once, from disk)."""
    hasher = RunningHash()
    buffer = bytearray(CHUNK)
    while hasher.size < length:
        count = os.preadv(fd, [memoryview(buffer)[: min(CHUNK, length - hasher.size)]], hasher.size)
        if count <= 0:
            raise OSError(f"the spool ended at byte {hasher.size} of {length}")
        hasher.update(memoryview(buffer)[:count])
    return hasher


WRITEBACK_EVERY = 8 << 20  # start writing back every 8 MiB, so the fsync before an ack is short
_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None  # not Linux: the fsync does it all
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


_SFR = _sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range back now, without waiting (Linux
    ``sync_file_range(SYNC_FILE_RANGE_WRITE)``; nothing elsewhere): durability still comes
    from the fsync, which then has less left to wait for."""
    if _SFR is not None and length > 0:
        _SFR(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


class Hashes:
    """The running hash of each upload this process appended to, keyed by id (bounded by the
    uploads alive: dropped on commit, termination and expiry)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, RunningHash] = {}

    def take(self, upload_id: str, size: int) -> RunningHash | None:
        """A copy of the hash kept for ``upload_id`` when it covers exactly ``size`` bytes."""
        with self._lock:
            kept = self._by_id.get(upload_id)
            return kept.copy() if kept is not None and kept.size == size else None

    def keep(self, upload_id: str, hasher: RunningHash) -> None:
        with self._lock:
            self._by_id[upload_id] = hasher.copy()

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._by_id.pop(upload_id, None)


HASHES = Hashes()


BUSY_WAIT_SECONDS = 2.0  # a cut request's handler lets go once it has noticed the cut


def _flock_within(fd: int, seconds: float) -> bool:
    """Take the exclusive lock, waiting up to ``seconds`` for a holder that is finishing (a
    request whose client was cut, still saving what arrived); False when it is still held."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


@contextmanager
def locked(ref: ProjectRef, upload_id: str) -> Iterator[int]:
    """The spool's bytes file, open and exclusively locked (UploadBusy when another holds it;
    UploadNotFound when it is gone, also when it was removed while this waited for the lock)."""
    path = part_path(ref, upload_id)
    gone = UploadNotFound(f"the resumable upload {upload_id!r} has no bytes left")
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise gone from None
    try:
        if not _flock_within(fd, BUSY_WAIT_SECONDS):
            raise UploadBusy(
                f"another request is writing to the resumable upload {upload_id!r}; wait for it "
                "to end (or drop it), then ask for the offset again"
            )
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            raise gone  # expired or terminated by the holder we waited for
        yield fd
    finally:
        os.close(fd)


class Held:
    """Uploads whose spool lock an Appender of this process holds (a commit inside that
    request must not try to take it again), and one gate per upload serialising its commits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._gates: dict[str, threading.Lock] = {}

    def hold(self, upload_id: str) -> None:
        with self._lock:
            self._held.add(upload_id)

    def release(self, upload_id: str) -> None:
        with self._lock:
            self._held.discard(upload_id)

    def gate(self, upload_id: str) -> tuple[threading.Lock, bool]:
        """The upload's commit gate, and whether this process holds its spool lock."""
        with self._lock:
            return self._gates.setdefault(upload_id, threading.Lock()), upload_id in self._held

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._gates.pop(upload_id, None)


HELD = Held()


def unlink_quietly(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
