"""Adopting what is already on disk: seed-era `index.json` history and unrecorded originals."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.catalog import Project
from daemon.errors import CorruptFile, InvalidInput
from daemon.ingest.pipeline import FileChangedWhileHashing, ingest_in_place
from daemon.library import Library
from daemon.mediatypes import is_media
from daemon.storage.conventions import MANIFEST_DIR, is_ignored_name
from daemon.storage.hashing import Digest
from daemon.storage.indexfile import read_index, write_index
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.tags import normalize_tags

log = logging.getLogger("media_sync.adopt")


@dataclass(frozen=True)
class IndexHint:
    """What a valid index.json says about one file."""

    sha256: str | None
    blake3: str | None
    size: int | None
    mtime_ns: int | None
    uploaded_at: str | None
    tags: tuple[str, ...] = ()


def _hint_tags(raw: object) -> tuple[str, ...]:
    """The manual tags an index.json entry carries; unusable ones count as none."""
    try:
        return tuple(normalize_tags(raw))
    except InvalidInput:
        return ()


@dataclass
class AdoptReport:
    project: str
    indexed: int = 0
    reused_hashes: int = 0
    unchanged: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    index_error: str | None = None


def index_hints(ref: ProjectRef) -> tuple[dict[str, IndexHint], dict[str, Any] | None, str | None]:
    """Per-path hints and the document from index.json; a corrupt one gives an error, not hints."""
    try:
        document = read_index(ref.index_path)
    except CorruptFile as exc:
        return {}, None, exc.detail
    if document is None:
        return {}, None, None
    hints = {}
    for entry in document.get("files", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("relative_path"), str):
            continue
        hints[entry["relative_path"]] = IndexHint(
            entry.get("sha256") if isinstance(entry.get("sha256"), str) else None,
            entry.get("blake3") if isinstance(entry.get("blake3"), str) else None,
            entry.get("size") if isinstance(entry.get("size"), int) else None,
            entry.get("mtime_ns") if isinstance(entry.get("mtime_ns"), int) else None,
            entry.get("uploaded_at") if isinstance(entry.get("uploaded_at"), str) else None,
            _hint_tags(entry.get("tags")),
        )
    return hints, document, None


def adopt_counts(lib: Library, ref: ProjectRef, document: dict[str, Any] | None) -> None:
    """Carry counters, notes and created_at from index.json into a project's new catalog row."""
    counts = (document or {}).get("counts") or {}
    with lib.catalog.write():
        row, created = Project.get_or_create(source=ref.source.name, name=ref.name)
        if not created or document is None:
            return
        for key in ("duplicates_skipped", "removed_missing_records"):
            if isinstance(counts.get(key), int) and counts[key] >= 0:
                setattr(row, key, counts[key])
        if isinstance(document.get("notes"), str):
            row.notes = document["notes"]
        if isinstance(document.get("created_at"), str):
            row.created_at = document["created_at"]
        row.save()


def walk_originals(ref: ProjectRef) -> list[tuple[str, os.stat_result]]:
    """Media files under `ingest/originals/` (recursively), skipping temp/system names."""
    found = []
    stack = [ref.originals]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if is_ignored_name(entry.name) or entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False) and is_media(entry.name):
                rel = Path(entry.path).relative_to(ref.path).as_posix()
                found.append((rel, entry.stat(follow_symlinks=False)))
    return sorted(found)


def adopt_project(lib: Library, ref: ProjectRef) -> AdoptReport:
    """Record every original of a project, reusing index.json hashes when size and mtime match."""
    report = AdoptReport(ref.name)
    ensure_layout(ref)
    hints, document, error = index_hints(ref)
    report.index_error = error
    adopt_counts(lib, ref, document)
    for rel, st in walk_originals(ref):
        hint = hints.get(rel)
        digest = None
        if (
            hint
            and hint.blake3
            and hint.sha256
            and hint.size == st.st_size
            and hint.mtime_ns == st.st_mtime_ns
        ):
            digest = Digest(hint.blake3, hint.sha256, st.st_size)
            report.reused_hashes += 1
        try:
            result = ingest_in_place(
                lib,
                ref,
                rel,
                digest=digest,
                st=st,
                origin="adopted",
                uploaded_at=hint.uploaded_at if hint else None,
                update_index=False,
                tags=list(hint.tags) if hint else None,
            )
        except (OSError, FileChangedWhileHashing) as exc:
            report.errors.append({"path": rel, "error": str(exc)})
            continue
        if result.status == "unchanged":
            report.unchanged += 1
        else:
            report.indexed += 1
    if error is not None:
        log.warning("%s: %s (kept in %s/, rewritten from the files)", ref.name, error, MANIFEST_DIR)
    write_index(lib.settings, ref)  # moves a corrupt index.json aside before rewriting it
    return report
