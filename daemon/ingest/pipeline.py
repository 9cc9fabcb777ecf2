"""The one ingest use-case: uploads and drops both end here (dedupe -> place -> catalog ->
index.json -> manifest -> listeners)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw

from daemon.catalog import Content, Event, File, Project, utcnow
from daemon.catalog.values import ChangeType
from daemon.errors import EmptyUpload, MediaSyncError, StorageFull
from daemon.ingest.liveness import Verified, live_in_transaction, verify_copies
from daemon.library import Change, Library
from daemon.mediatypes import media_type
from daemon.storage.conventions import (
    EVENTS_JOURNAL,
    FILES_JOURNAL,
    ORIGINALS,
    append_jsonl,
    place_no_overwrite,
)
from daemon.storage.hashing import Digest, hash_file
from daemon.storage.indexfile import project_row, write_index, write_index_or_mark
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.spool import full_means_storage_full
from daemon.tags import dump_tags

log = logging.getLogger("media_sync.ingest")


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    status: str  # stored | duplicate | indexed | unchanged
    project: ProjectRef
    rel_path: str
    digest: Digest
    duplicate_of: str | None = None
    also_in: list[dict[str, str]] = field(default_factory=list)
    uploaded_at: str | None = None
    warnings: list[str] = field(default_factory=list)  # after the commit: what did not follow


def _append(path: Path, record: dict[str, Any]) -> str | None:
    """Append a journal line; a failure is logged and returned as a warning, never raised."""
    try:
        append_jsonl(path, record)
    except OSError as exc:
        log.error("cannot append to %s: %s", path, exc)
        return f"{path.parent.name}/{path.name} was not appended to ({exc.strerror or exc})"
    return None


def journal(ref: ProjectRef, action: str, **fields: Any) -> str | None:
    """Append one line to the project's `_manifest/files.jsonl` audit log (a warning on failure)."""
    record = {"at": utcnow(), "action": action, "project": ref.name, "source": ref.source.name}
    record.update(fields)
    return _append(ref.path / FILES_JOURNAL, record)


def _project_event(
    ref: ProjectRef, event: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    line = {"timestamp": utcnow(), "event": event, "payload": payload}
    return line, _append(ref.path / EVENTS_JOURNAL, line)


def record_project_event(ref: ProjectRef, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Append the original's ``{timestamp, event, payload}`` line to `_manifest/events.jsonl`.

    Returns the line. Failing to write it is logged, never fatal: the file itself is committed.
    """
    return _project_event(ref, event, payload)[0]


def _also_in(ref: ProjectRef, blake3: str) -> list[dict[str, str]]:
    rows = File.select(File.source, File.project, File.rel_path).where(
        (File.content == blake3) & ~((File.source == ref.source.name) & (File.project == ref.name))
    )
    return [{"source": r.source, "project": r.project, "path": r.rel_path} for r in rows]


def _upsert(
    ref: ProjectRef,
    rel_path: str,
    digest: Digest,
    st: os.stat_result,
    origin: str,
    uploaded_at: str | None = None,
    tags: list[str] | None = None,
) -> None:
    kind = media_type(rel_path)
    Content.insert(
        blake3=digest.blake3,
        sha256=digest.sha256,
        size=digest.size,
        kind=kind.kind if kind else None,
    ).on_conflict_ignore().execute()
    values = {
        "source": ref.source.name,
        "project": ref.name,
        "rel_path": rel_path,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "inode": st.st_ino,
        "ctime_ns": st.st_ctime_ns,
        "content": digest.blake3,
        "origin": origin,
        "uploaded_at": uploaded_at or utcnow(),
    }
    if tags is not None:
        values["tags"] = dump_tags(tags)
    File.insert(**values).on_conflict(
        conflict_target=[File.source, File.project, File.rel_path],
        update={
            File.size: st.st_size,
            File.mtime_ns: st.st_mtime_ns,
            File.inode: st.st_ino,
            File.ctime_ns: st.st_ctime_ns,
            File.content: digest.blake3,
        },
    ).execute()


def _copies(ref: ProjectRef, blake3: str) -> list[File]:
    """The catalog rows of ``blake3`` in the project."""
    return list(
        File.select(
            File.id, File.rel_path, File.size, File.inode, File.mtime_ns, File.ctime_ns
        ).where(
            (File.source == ref.source.name) & (File.project == ref.name) & (File.content == blake3)
        )
    )


@contextlib.contextmanager
def _catalog_full(lib: Library, filename: str) -> Iterator[None]:
    """A full disk under the catalog (sqlite's "database or disk is full") is StorageFull."""
    try:
        yield
    except pw.OperationalError as exc:
        if "full" not in str(exc).lower():
            raise
        raise StorageFull(
            f"no space left on the disk holding the catalog {lib.catalog.path}; "
            f"{filename!r} was not stored"
        ) from exc


@dataclass
class _Committed:
    status: str
    rel_path: str
    uploaded_at: str | None
    change: Change
    removed: list[str]
    also_in: list[dict[str, str]]


def _commit_upload(
    lib: Library, ref: ProjectRef, temp: Path, filename: str, digest: Digest, verified: Verified
) -> _Committed:
    """The dedupe decision, the placement and the catalog rows, in one immediate transaction;
    a placed file whose transaction fails is removed again (nothing committed silently)."""
    placed: Path | None = None
    try:
        with _catalog_full(lib, filename), lib.catalog.write():
            project = project_row(ref)
            existing, phantoms = live_in_transaction(
                ref.path, _copies(ref, digest.blake3), verified
            )
            if phantoms:
                _forget(ref, project, phantoms)
            if existing is not None:
                Project.update(duplicates_skipped=Project.duplicates_skipped + 1).where(
                    Project.id == project.id
                ).execute()
                status, rel_path = ChangeType.DUPLICATE, existing
                uploaded_at = _uploaded_at(ref, existing)
            else:
                with full_means_storage_full(ref.originals, f"{filename!r} was not stored"):
                    placed = place_no_overwrite(temp, ref.originals, filename)
                os.chmod(placed, lib.settings.file_mode)
                rel_path = placed.relative_to(ref.path).as_posix()
                uploaded_at = utcnow()
                _upsert(ref, rel_path, digest, placed.stat(), "upload", uploaded_at)
                status = ChangeType.STORED
            change = Change(
                status, ref, rel_path, digest.blake3, digest.sha256, {"size": digest.size}
            )
            Event.insert(**lib.event_row(change)).execute()
            also_in = _also_in(ref, digest.blake3)
    except BaseException:
        if placed is not None:
            with contextlib.suppress(FileNotFoundError):
                placed.unlink()
        raise
    return _Committed(status, rel_path, uploaded_at, change, phantoms, also_in)


def _forget(ref: ProjectRef, project: Project, phantoms: list[str]) -> None:
    File.delete().where(
        (File.source == ref.source.name)
        & (File.project == ref.name)
        & (File.rel_path.in_(phantoms))
    ).execute()
    Project.update(removed_missing_records=Project.removed_missing_records + len(phantoms)).where(
        Project.id == project.id
    ).execute()


def _recatalog_changed(lib: Library, ref: ProjectRef, verified: Verified) -> None:
    """Copies found holding other bytes are catalogued as what they now hold."""
    for rel, proof in verified.changed.items():
        if proof.digest is None or proof.st is None:
            continue
        try:
            ingest_in_place(lib, ref, rel, digest=proof.digest, st=proof.st, update_index=False)
        except (OSError, MediaSyncError, FileChangedWhileHashing) as exc:
            log.warning("cannot re-catalog changed %s/%s: %s", ref.name, rel, exc)


def ingest_upload(
    lib: Library,
    ref: ProjectRef,
    temp: Path,
    filename: str,
    digest: Digest,
    *,
    batch: bool = False,
) -> IngestResult:
    """Finish an upload whose bytes are already in ``temp`` (inside ``ref.originals``) and hashed.

    A catalogued copy is a duplicate only when proven live (``daemon.ingest.liveness``): proven first,
    then re-stamped inside the immediate transaction that decides, places and catalogs, so
    concurrent uploads of the same bytes (from any process) store one file, and a copy that
    changes meanwhile does not swallow the upload. ENOSPC before the commit is StorageFull;
    after it, the result carries warnings (index.json is marked to catch up). ``batch``: one
    file of several in a request, whose caller made the project's layout and rewrites
    index.json once after the last (``write_index_or_mark``).
    """
    try:
        if digest.size == 0:
            raise EmptyUpload(f"{filename!r} is empty (0 bytes); nothing was stored")
        if not batch:
            with full_means_storage_full(ref.path, f"{filename!r} was not stored"):
                ensure_layout(ref)
        verified = verify_copies(ref.path, _copies(ref, digest.blake3), digest.blake3)
        done = _commit_upload(lib, ref, temp, filename, digest, verified)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    warnings = _after_upload(lib, ref, filename, digest, done)
    _recatalog_changed(lib, ref, verified)
    if not batch:
        warnings += [w for w in [write_index_or_mark(lib.settings, ref)] if w]
    lib.notify(done.change)
    return IngestResult(
        done.status,
        ref,
        done.rel_path,
        digest,
        duplicate_of=done.rel_path if done.status == "duplicate" else None,
        also_in=done.also_in,
        uploaded_at=done.uploaded_at,
        warnings=warnings,
    )


def _after_upload(
    lib: Library, ref: ProjectRef, filename: str, digest: Digest, done: _Committed
) -> list[str]:
    """The journals after the commit; what failed comes back as warnings."""
    warnings = [
        journal(ref, "removed", path=rel, reason="missing on disk at upload")
        for rel in done.removed
    ]
    warnings.append(
        journal(
            ref,
            done.status,
            path=done.rel_path,
            sha256=digest.sha256,
            blake3=digest.blake3,
            size=digest.size,
            original_name=filename,
        )
    )
    event = "upload_ingested" if done.status == "stored" else "upload_duplicate_skipped"
    payload = {
        "path": done.rel_path,
        "filename": filename,
        "sha256": digest.sha256,
        "size": digest.size,
        "source": ref.source.name,
    }
    warnings.append(_project_event(ref, event, payload)[1])
    return [w for w in warnings if w]


def _uploaded_at(ref: ProjectRef, rel_path: str) -> str | None:
    row = File.get_or_none(
        (File.source == ref.source.name) & (File.project == ref.name) & (File.rel_path == rel_path)
    )
    return str(row.uploaded_at) if row is not None else None


def ingest_in_place(
    lib: Library,
    ref: ProjectRef,
    rel_path: str,
    *,
    digest: Digest | None = None,
    st: os.stat_result | None = None,
    origin: str = "drop",
    uploaded_at: str | None = None,
    update_index: bool = True,
    tags: list[str] | None = None,
) -> IngestResult:
    """Record a file already sitting at ``rel_path`` in the project (a drop, or adoption).

    Idempotent: re-recording the same path with the same stat changes nothing.
    """
    path = ref.path / rel_path
    if st is None:
        st = path.stat()
    existing = File.get_or_none(
        (File.source == ref.source.name) & (File.project == ref.name) & (File.rel_path == rel_path)
    )
    if (
        existing is not None
        and existing.size == st.st_size
        and existing.mtime_ns == st.st_mtime_ns
        and existing.inode == st.st_ino
        and existing.ctime_ns == st.st_ctime_ns
    ):
        content = Content.get_by_id(existing.blake3)
        return IngestResult(
            "unchanged", ref, rel_path, Digest(content.blake3, content.sha256, content.size)
        )
    if digest is None:
        digest = hash_file(path)
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            raise FileChangedWhileHashing(rel_path)
    change = Change(
        ChangeType.INDEXED, ref, rel_path, digest.blake3, digest.sha256, {"size": digest.size}
    )
    with lib.catalog.write():
        project_row(ref)
        _upsert(ref, rel_path, digest, st, origin, uploaded_at, tags)
        Event.insert(**lib.event_row(change)).execute()
    journal(
        ref,
        "indexed",
        path=rel_path,
        sha256=digest.sha256,
        blake3=digest.blake3,
        size=digest.size,
        origin=origin,
    )
    if update_index:
        write_index(lib.settings, ref)
    lib.notify(change)
    return IngestResult("indexed", ref, rel_path, digest, also_in=[])


class FileChangedWhileHashing(Exception):
    """The file was still being written while we hashed it; try again later."""


def record_removed(
    lib: Library, ref: ProjectRef, rel_paths: list[str], *, reason: str, update_index: bool = True
) -> int:
    """Drop catalog rows for files proven gone; counts them in removed_missing_records."""
    if not rel_paths:
        return 0
    with lib.catalog.write():
        project = project_row(ref)
        count = (
            File.delete()
            .where(
                (File.source == ref.source.name)
                & (File.project == ref.name)
                & (File.rel_path.in_(rel_paths))
            )
            .execute()
        )
        Project.update(removed_missing_records=Project.removed_missing_records + count).where(
            Project.id == project.id
        ).execute()
        for rel in rel_paths:
            Event.insert(**lib.event_row(Change(ChangeType.REMOVED, ref, rel))).execute()
    for rel in rel_paths:
        journal(ref, "removed", path=rel, reason=reason)
        lib.notify(Change(ChangeType.REMOVED, ref, rel))
    if update_index:
        write_index(lib.settings, ref)
    return int(count)


def record_moved(
    lib: Library,
    src: ProjectRef,
    src_rel: str,
    dst: ProjectRef,
    dst_rel: str,
    *,
    reason: str,
    update_index: bool = True,
) -> bool:
    """Carry a file's identity (and uploaded_at) from one path to another after a move/rename."""
    st = (dst.path / dst_rel).stat()
    with lib.catalog.write():
        row = File.get_or_none(
            (File.source == src.source.name)
            & (File.project == src.name)
            & (File.rel_path == src_rel)
        )
        if row is None:
            return False
        project_row(dst)
        try:
            File.update(
                source=dst.source.name,
                project=dst.name,
                rel_path=dst_rel,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                inode=st.st_ino,
                ctime_ns=None,  # carried, not re-hashed: unproven until it is
            ).where(File.id == row.id).execute()
        except pw.IntegrityError:
            File.delete().where(File.id == row.id).execute()
        change = Change(
            ChangeType.MOVED,
            dst,
            dst_rel,
            row.blake3,
            None,
            {"from": f"{src.name}/{src_rel}", "to": f"{dst.name}/{dst_rel}"},
        )
        Event.insert(**lib.event_row(change)).execute()
    journal(
        dst,
        "moved",
        **{
            "from": f"{src.name}/{src_rel}",
            "to": f"{dst.name}/{dst_rel}",
            "blake3": row.blake3,
            "reason": reason,
        },
    )
    if src != dst:
        journal(
            src,
            "moved",
            **{
                "from": f"{src.name}/{src_rel}",
                "to": f"{dst.name}/{dst_rel}",
                "blake3": row.blake3,
                "reason": reason,
            },
        )
    if update_index:
        write_index(lib.settings, dst)
        if src != dst:
            write_index(lib.settings, src)
    lib.notify(change)
    return True


__all__ = [
    "ORIGINALS",
    "EmptyUpload",
    "FileChangedWhileHashing",
    "IngestResult",
    "ingest_in_place",
    "ingest_upload",
    "journal",
    "record_moved",
    "record_project_event",
    "record_removed",
]
