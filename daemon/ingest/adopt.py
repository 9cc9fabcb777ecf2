"""Adopting what is already on disk: seed-era `index.json` history and unrecorded originals."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.catalog import intake
from daemon.catalog.values import Origin
from daemon.errors import CorruptFile, InvalidInput
from daemon.ingest.batch import DropBatch, FileChangedWhileHashing, read_drop
from daemon.ingest.commit import Commit, Item
from daemon.ingest.decide import Drop, Hint, Kind
from daemon.ingest.liveness import stamp_of
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
    with lib.catalog.write():
        intake.adopt_project(lib.catalog, ref.source.name, ref.name, document)


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


def _digest(hint: IndexHint | None, st: os.stat_result) -> Digest | None:
    """The hashes index.json recorded, when the file still has that size and mtime."""
    if (
        hint
        and hint.blake3
        and hint.sha256
        and (hint.size, hint.mtime_ns)
        == (
            st.st_size,
            st.st_mtime_ns,
        )
    ):
        return Digest(hint.blake3, hint.sha256, st.st_size)
    return None


def _counted(report: AdoptReport) -> Callable[[Commit], None]:
    def count(commit: Commit) -> None:
        for done in commit.applied:
            if done.decision.kind is Kind.UNCHANGED:
                report.unchanged += 1
            else:
                report.indexed += 1

    return count


def adopt_project(lib: Library, ref: ProjectRef) -> AdoptReport:
    """Record every original of a project (a batch at a time), reusing index.json hashes when
    size and mtime match; a file catalogued at the stamp it has is left as it is."""
    report = AdoptReport(ref.name)
    ensure_layout(ref)
    hints, document, error = index_hints(ref)
    report.index_error = error
    adopt_counts(lib, ref, document)
    found = walk_originals(ref)
    places = [(ref.name, rel) for rel, _ in found]
    known = {
        row.rel_path: row.stamp for row in intake.rows_at(lib.catalog, ref.source.name, places)
    }
    batch = DropBatch(lib, _counted(report))
    for rel, st in found:
        if known.get(rel) == stamp_of(st):
            report.unchanged += 1
            continue
        hint = hints.get(rel)
        digest = _digest(hint, st)
        if digest is not None:
            report.reused_hashes += 1
        else:
            try:
                digest, hashed, steady = read_drop(ref.path / rel)
            except OSError as exc:
                report.errors.append({"path": rel, "error": str(exc)})
                continue
            if not steady or (hashed.st_size, hashed.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                report.errors.append({"path": rel, "error": str(FileChangedWhileHashing(rel))})
                continue
            st = hashed
        history = Hint(hint.uploaded_at, hint.tags) if hint else None
        stamp = stamp_of(st)
        arrival = Drop(
            ref.source.name, ref.name, rel, digest.blake3, stamp, Origin.ADOPTED, history
        )
        batch.add(Item(ref, arrival, digest, stamp))
    batch.flush()
    if error is not None:
        log.warning("%s: %s (kept in %s/, rewritten from the files)", ref.name, error, MANIFEST_DIR)
    write_index(lib.settings, ref, lib.catalog)  # a corrupt one is moved aside first
    batch.release()
    return report
