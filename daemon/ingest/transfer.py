"""Moving catalogued media to another project (or source) without ever losing the only copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from daemon.catalog.files import FileRecord
from daemon.errors import InvalidInput, MediaSyncError
from daemon.ingest.batch import FileChangedWhileHashing, commit_items, prove
from daemon.ingest.commit import Item
from daemon.ingest.decide import Decision, Kind, Place, Transfer
from daemon.ingest.facts import StampAt
from daemon.ingest.journal import record_project_event
from daemon.ingest.liveness import Stamp, current_stamp
from daemon.ingest.pipeline import ingest_in_place, record_moved
from daemon.ingest.selection import catalogued_file, safe_dir, safe_file
from daemon.ingest.trash import trash_file
from daemon.library import Library
from daemon.settings import Settings
from daemon.storage.conventions import ORIGINALS
from daemon.storage.indexfile import write_index
from daemon.storage.placement import move_no_overwrite
from daemon.storage.projects import ProjectRef, disk_relative
from daemon.tags import load_tags


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


def _safe_stamps(settings: Settings, roots: dict[str, Path]) -> StampAt:
    """Current stamps, where a copy reached through a symlink (or the catalog's own folder)
    counts as no copy at all."""

    def stamp_at(place: Place) -> Stamp | None:
        source, project, rel = place
        base = roots[source] / project
        path = safe_file(settings, base, rel)
        return current_stamp(path) if path is not None else None

    return stamp_at


def _decide(lib: Library, src: ProjectRef, dst: ProjectRef, row: FileRecord) -> Decision:
    """Is a copy of the file proven present in ``dst`` (``daemon.ingest.liveness``)? Rows of
    ``dst`` holding its bytes whose file is gone are dropped on the way (``decision.forget``)."""
    arrival = Transfer(
        dst.source.name, dst.name, src.source.name, src.name, row.rel_path, row.blake3
    )
    item = Item(dst, arrival, src=src)
    roots = {src.source.name: src.source.root, dst.source.name: dst.source.root}
    stamp_at = _safe_stamps(lib.settings, roots)
    proofs = prove(lib, [item], stamp_at)
    commit = commit_items(
        lib,
        [item],
        proofs,
        what=f"{row.rel_path!r} was not moved",
        forget_reason="missing on disk at move",
        stamp_at=stamp_at,
    )  # a transfer decided MOVED is carried once its file moved (``record_moved``)
    commit.finish()
    return commit.applied[0].decision


def _place(
    lib: Library, src: ProjectRef, dst: ProjectRef, rel: str, row: FileRecord, path: Path
) -> str:
    """Really move one file into ``dst``'s originals and carry its catalog row along (a stale
    row at the free name gives way to it)."""
    sub = target_subpath(rel)
    directory = safe_dir(dst.path, (*ORIGINALS.split("/"), *sub.parent.parts))
    final = move_no_overwrite(path, directory, sub.name)
    new_rel = final.relative_to(dst.path).as_posix()
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
    rel = disk_relative(src.path, rel)  # an NFC path finds a Mac's NFD file
    found = catalogued_file(lib.settings, src, rel, lib.catalog)
    if found is None:
        return False
    row, path = found
    decision = _decide(lib, src, dst, row)
    result.pruned.extend(gone.rel_path for gone in decision.forget)
    if decision.kind is Kind.DUPLICATE:
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
        write_index(lib.settings, src, lib.catalog)
        write_index(lib.settings, dst, lib.catalog)
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
