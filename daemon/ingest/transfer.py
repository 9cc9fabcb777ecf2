"""Moving catalogued media to another project (or source) without ever losing the only copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from daemon.catalog import File
from daemon.errors import InvalidInput, MediaSyncError
from daemon.ingest.liveness import live_in_transaction, verify_copies
from daemon.ingest.pipeline import (
    FileChangedWhileHashing,
    ingest_in_place,
    record_moved,
    record_project_event,
    record_removed,
)
from daemon.ingest.selection import catalogued_file, safe_dir, safe_file
from daemon.ingest.trash import trash_file
from daemon.library import Library
from daemon.storage.conventions import ORIGINALS
from daemon.storage.indexfile import write_index
from daemon.storage.projects import ProjectRef
from daemon.tags import load_tags
from daemon.watch.relocate import move_no_overwrite


@dataclass
class MoveResult:
    moved: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    trash: list[dict[str, str]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)


def target_subpath(rel: str) -> PurePosixPath:
    """Where below the target's `ingest/originals/` a file goes: its own sub-path there."""
    prefix = ORIGINALS + "/"
    return PurePosixPath(rel[len(prefix) :] if rel.startswith(prefix) else rel)


def live_duplicate(lib: Library, dst: ProjectRef, blake3: str) -> tuple[str | None, list[str]]:
    """A copy of this content proven present in ``dst`` (``daemon.ingest.liveness``: its stamp unchanged
    since it was hashed, else re-hashed; confirmed again inside a write transaction), plus the
    stale rows whose file is gone (which are no duplicates)."""

    def rows() -> list[File]:
        return list(
            File.select(
                File.id, File.rel_path, File.size, File.inode, File.mtime_ns, File.ctime_ns
            ).where(
                (File.source == dst.source.name)
                & (File.project == dst.name)
                & (File.content == blake3)
            )
        )

    unsafe = [r.rel_path for r in rows() if safe_file(lib.settings, dst.path, r.rel_path) is None]
    candidates = [r for r in rows() if r.rel_path not in unsafe]
    verified = verify_copies(dst.path, candidates, blake3)
    with lib.catalog.write():
        duplicate, gone = live_in_transaction(
            dst.path, [r for r in rows() if r.rel_path not in unsafe], verified
        )
    return duplicate, sorted(set(unsafe) | set(gone))


def _place(lib: Library, src: ProjectRef, dst: ProjectRef, rel: str, row: File, path: Path) -> str:
    """Really move one file into ``dst``'s originals and carry its catalog row along."""
    sub = target_subpath(rel)
    directory = safe_dir(dst.path, (*ORIGINALS.split("/"), *sub.parent.parts))
    final = move_no_overwrite(path, directory, sub.name)
    new_rel = final.relative_to(dst.path).as_posix()
    with lib.catalog.write():  # a stale row at the free name must not swallow the moved one
        File.delete().where(
            (File.source == dst.source.name)
            & (File.project == dst.name)
            & (File.rel_path == new_rel)
        ).execute()
    if not record_moved(lib, src, rel, dst, new_rel, reason="moved by request", update_index=False):
        ingest_in_place(
            lib,
            dst,
            new_rel,
            origin=row.origin,
            uploaded_at=row.uploaded_at,
            tags=load_tags(row.tags),
            update_index=False,
        )
    return new_rel


def _move_one(lib: Library, src: ProjectRef, dst: ProjectRef, rel: str, result: MoveResult) -> bool:
    """Move (or, onto a live duplicate, trash) one file; False when it is not there to move."""
    found = catalogued_file(lib.settings, src, rel)
    if found is None:
        return False
    row, path = found
    duplicate, stale = live_duplicate(lib, dst, row.blake3)
    if stale:
        record_removed(lib, dst, stale, reason="missing on disk at move", update_index=False)
        result.pruned.extend(stale)
    if duplicate is not None:
        record = trash_file(lib, src, rel, path, row)
        result.duplicates.append(rel)
        result.trash.append({"relative_path": rel, "trash_path": record["trash_path"]})
        return True
    new_rel = _place(lib, src, dst, rel, row, path)
    result.moved.append({"from": rel, "to": new_rel})
    return True


def _record_events(src: ProjectRef, dst: ProjectRef, result: MoveResult) -> None:
    target = {"target_project": dst.name, "target_source": dst.source.name}
    record_project_event(
        src,
        "media_moved_out",
        {
            "paths": [m["from"] for m in result.moved] + result.duplicates,
            "moved": result.moved,
            "duplicates": result.duplicates,
            "source": src.source.name,
            **target,
        },
    )
    if result.moved:
        record_project_event(
            dst,
            "media_moved_in",
            {
                "paths": [m["to"] for m in result.moved],
                "moved": result.moved,
                "from_project": src.name,
                "from_source": src.source.name,
                "source": dst.source.name,
            },
        )


def move_media(lib: Library, src: ProjectRef, dst: ProjectRef, rel_paths: list[str]) -> MoveResult:
    """Move catalogued media from ``src`` into ``dst``'s `ingest/originals/`, de-duplicated
    against copies that really exist there; a duplicate source file goes to ``src``'s trash."""
    if (src.source.name, src.name) == (dst.source.name, dst.name):
        raise InvalidInput(f"cannot move media of {src.name!r} onto the same project")
    result = MoveResult()
    for rel in rel_paths:
        try:
            if not _move_one(lib, src, dst, rel, result):
                result.missing.append(rel)
        except (OSError, MediaSyncError, FileChangedWhileHashing) as exc:
            result.errors.append({"relative_path": rel, "error": str(exc)})
    if result.moved or result.duplicates or result.pruned:
        write_index(lib.settings, src)
        write_index(lib.settings, dst)
    if result.moved or result.duplicates:
        _record_events(src, dst, result)
    return result


def describe(result: MoveResult) -> dict[str, Any]:
    """The result as plain values."""
    return {
        "moved": result.moved,
        "duplicates": result.duplicates,
        "missing": result.missing,
        "trash": result.trash,
        "pruned": result.pruned,
        "errors": result.errors,
    }
