"""Per-project trash: deleting catalogued media into `_manifest/trash/`, restoring and purging it."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from daemon.catalog import files as catalog_files
from daemon.catalog import intake, utcnow
from daemon.catalog.files import FileRecord
from daemon.catalog.values import ChangeType, Origin
from daemon.errors import MediaSyncError
from daemon.ingest.journal import journal, record_project_event
from daemon.ingest.pipeline import FileChangedWhileHashing, ingest_in_place
from daemon.ingest.selection import catalogued_file, safe_dir, safe_file
from daemon.library import Change, Library
from daemon.storage.conventions import (
    MANIFEST_DIR,
    append_jsonl,
    atomic_write_bytes,
    check_relative,
)
from daemon.storage.indexfile import write_index
from daemon.storage.locks import file_lock
from daemon.storage.placement import move_no_overwrite
from daemon.storage.projects import ProjectRef, disk_relative, list_project_names
from daemon.tags import dump_tags, load_tags

log = logging.getLogger("media_sync.trash")

TRASH_DIR = f"{MANIFEST_DIR}/trash"
TRASH_JOURNAL = f"{TRASH_DIR}/trash.jsonl"


@dataclass
class DeleteResult:
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    trash: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    purged: int = 0


@dataclass
class RestoreResult:
    restored: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def _lock(lib: Library, ref: ProjectRef) -> contextlib.AbstractContextManager[None]:
    return file_lock(lib.settings.locks_dir, ref.lock_key + "-trash")


def _parse_time(stamp: object) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_journal(ref: ProjectRef) -> list[dict[str, Any]]:
    """Every usable line of the project's trash journal, oldest first."""
    try:
        lines = (ref.path / TRASH_JOURNAL).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("relative_path"), str)
            and isinstance(entry.get("trash_path"), str)
        ):
            entries.append(entry)
    return entries


def trashed_file(lib: Library, ref: ProjectRef, entry: dict[str, Any]) -> Path | None:
    """The trashed copy a journal line points at, if it is still a real file in the trash."""
    try:
        rel = check_relative(entry["trash_path"]).as_posix()
    except MediaSyncError:
        return None
    if not rel.startswith(TRASH_DIR + "/") or rel == TRASH_JOURNAL:
        return None
    return safe_file(lib.settings, ref.path, rel)


def _rewrite_journal(ref: ProjectRef, entries: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in entries)
    atomic_write_bytes(ref.path / TRASH_JOURNAL, text.encode())


def _prune_empty_dirs(ref: ProjectRef, start: Path) -> None:
    top = ref.path / TRASH_DIR
    directory = start
    while directory != top and top in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _compact(lib: Library, ref: ProjectRef, purge_before: datetime | None) -> int:
    """Drop journal lines whose copy is gone; purge copies trashed before ``purge_before``."""
    purged = 0
    with _lock(lib, ref):
        kept = []
        for entry in read_journal(ref):
            path = trashed_file(lib, ref, entry)
            if path is None:
                continue
            trashed_at = _parse_time(entry.get("trashed_at"))
            if purge_before is not None and trashed_at is not None and trashed_at < purge_before:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                _prune_empty_dirs(ref, path.parent)
                purged += 1
                continue
            kept.append(entry)
        if (ref.path / TRASH_JOURNAL).exists():
            _rewrite_journal(ref, kept)
    return purged


def _cutoff(lib: Library, now: datetime | None = None) -> datetime | None:
    days = lib.settings.trash_days
    if days <= 0:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge_project(lib: Library, ref: ProjectRef, now: datetime | None = None) -> int:
    """Delete a project's trashed copies older than MEDIA_SYNC_TRASH_DAYS; returns how many."""
    if not (ref.path / TRASH_JOURNAL).exists():
        return 0
    purged = _compact(lib, ref, _cutoff(lib, now))
    if purged:
        log.info(
            "%s: purged %d trashed file(s) older than %d days",
            ref.name,
            purged,
            lib.settings.trash_days,
        )
    return purged


def purge_trash(lib: Library, now: datetime | None = None) -> int:
    """Purge expired trash in every project of every enabled, reachable source."""
    total = 0
    for source in lib.registry().enabled:
        if not source.status()["accessible"]:
            continue
        for name in list_project_names(source):
            try:
                total += purge_project(lib, ProjectRef(source, name), now)
            except OSError:
                log.exception("cannot purge the trash of %s/%s", source.name, name)
    return total


def trash_file(
    lib: Library, ref: ProjectRef, rel: str, path: Path, row: FileRecord
) -> dict[str, Any]:
    """Move one catalogued file into the trash, journal it, and drop its catalog row."""
    now = utcnow()
    rel_parts = PurePosixPath(rel)
    directory = safe_dir(ref.path, (*TRASH_DIR.split("/"), now[:10], *rel_parts.parent.parts))
    final = move_no_overwrite(path, directory, rel_parts.name)
    record = {
        "trashed_at": now,
        "relative_path": rel,
        "trash_path": final.relative_to(ref.path).as_posix(),
        "sha256": row.sha256,
        "blake3": row.blake3,
        "size": row.size,
        "uploaded_at": row.uploaded_at,
        "tags": load_tags(row.tags),
        "origin": row.origin,
    }
    with _lock(lib, ref):
        append_jsonl(ref.path / TRASH_JOURNAL, record)
    change = Change(ChangeType.REMOVED, ref, rel, row.blake3, row.sha256, {"trash": final.name})
    with lib.catalog.write():
        catalog_files.delete(lib.catalog, row.id)
        # copies flagged as its duplicates name another copy (the oldest becomes the original)
        intake.repoint_duplicates(lib.catalog, ref.source.name, ref.name, row.blake3, rel, None)
        lib.add_event(change)
    journal(ref, "trashed", path=rel, trash_path=record["trash_path"], blake3=row.blake3)
    lib.notify(change)
    return record


def delete_media(lib: Library, ref: ProjectRef, rel_paths: list[str]) -> DeleteResult:
    """Move catalogued media into the project's trash; anything else is reported missing."""
    result = DeleteResult()
    result.purged = purge_project(lib, ref)
    for asked in rel_paths:
        rel = disk_relative(ref.path, asked)  # an NFC path finds a Mac's NFD file
        found = catalogued_file(lib.settings, ref, rel, lib.catalog)
        if found is None:
            result.missing.append(rel)
            continue
        try:
            record = trash_file(lib, ref, rel, found[1], found[0])
        except (OSError, MediaSyncError) as exc:
            result.errors.append({"relative_path": rel, "error": str(exc)})
            continue
        result.removed.append(rel)
        result.trash.append({"relative_path": rel, "trash_path": record["trash_path"]})
    if result.removed:
        write_index(lib.settings, ref, lib.catalog)
        record_project_event(
            ref, "media_deleted", {"paths": result.removed, "source": ref.source.name}
        )
    return result


def _newest(lib: Library, ref: ProjectRef, rel: str) -> tuple[dict[str, Any], Path] | None:
    for entry in reversed(read_journal(ref)):
        if entry["relative_path"] == rel:
            path = trashed_file(lib, ref, entry)
            if path is not None:
                return entry, path
    return None


def _restore_one(lib: Library, ref: ProjectRef, entry: dict[str, Any], path: Path) -> str:
    """Put one trashed copy back (suffixed on a clash) and re-catalogue it; the new rel path."""
    rel = PurePosixPath(entry["relative_path"])
    directory = safe_dir(ref.path, rel.parent.parts)
    final = move_no_overwrite(path, directory, rel.name)
    _prune_empty_dirs(ref, path.parent)
    new_rel = final.relative_to(ref.path).as_posix()
    tags = load_tags(json.dumps(entry.get("tags")))
    uploaded_at = entry.get("uploaded_at") if isinstance(entry.get("uploaded_at"), str) else None
    known = {origin.value for origin in Origin}
    origin = Origin(entry["origin"]) if entry.get("origin") in known else Origin.UPLOAD
    ingest_in_place(
        lib, ref, new_rel, origin=origin, uploaded_at=uploaded_at, tags=tags, update_index=False
    )
    with lib.catalog.write():
        catalog_files.restore_facts(
            lib.catalog, ref.source.name, ref.name, new_rel, dump_tags(tags), uploaded_at
        )
    journal(ref, "restored", path=new_rel, trash_path=entry["trash_path"])
    return new_rel


def restore_media(lib: Library, ref: ProjectRef, rel_paths: list[str]) -> RestoreResult:
    """Bring the newest trashed copy of each path back to its place, catalogued as before."""
    result = RestoreResult()
    for rel in rel_paths:
        found = _newest(lib, ref, rel)
        if found is None:
            result.missing.append(rel)
            continue
        entry, path = found
        try:
            new_rel = _restore_one(lib, ref, entry, path)
        except (OSError, MediaSyncError, FileChangedWhileHashing) as exc:
            result.errors.append({"relative_path": rel, "error": str(exc)})
            continue
        result.restored.append({"relative_path": new_rel, "from": entry["trash_path"]})
    if result.restored:
        _compact(lib, ref, None)
        write_index(lib.settings, ref, lib.catalog)
        paths = [item["relative_path"] for item in result.restored]
        record_project_event(ref, "media_restored", {"paths": paths, "source": ref.source.name})
    return result


def list_trash(lib: Library, ref: ProjectRef) -> list[dict[str, Any]]:
    """What the project's trash holds, newest first, with when each copy will be purged."""
    days = lib.settings.trash_days
    items = []
    for entry in read_journal(ref):
        if trashed_file(lib, ref, entry) is None:
            continue
        trashed_at = _parse_time(entry.get("trashed_at"))
        expires = None
        if days > 0 and trashed_at is not None:
            expires = (trashed_at + timedelta(days=days)).isoformat().replace("+00:00", "Z")
        items.append(
            {
                "relative_path": entry["relative_path"],
                "trash_path": entry["trash_path"],
                "trashed_at": entry.get("trashed_at"),
                "size": entry.get("size"),
                "sha256": entry.get("sha256"),
                "expires_at": expires,
            }
        )
    items.reverse()
    return items


__all__ = [
    "TRASH_DIR",
    "TRASH_JOURNAL",
    "delete_media",
    "list_trash",
    "purge_project",
    "purge_trash",
    "restore_media",
    "trash_file",
]
