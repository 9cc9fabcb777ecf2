"""Re-hashing catalogued files against the catalog's sha256: bit rot and silent changes.

``plan`` names the projects to check and the files the catalog holds for each; ``check``
reads every one (never writing, moving or deleting media) and reports the files whose bytes
changed, the ones missing, the unreadable ones, and the media files on disk the catalog does
not know (those are only reported: a drop the watcher has not taken in yet looks the same).
A finding is checked against the catalog once more before it is reported, so a file that was
moved, trashed or replaced through media-sync while the check ran is not called missing.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from daemon.catalog import files
from daemon.catalog.files import FileRecord
from daemon.catalog.health import catalogued_projects
from daemon.errors import ProjectNotFound
from daemon.ingest.mhl import MHL_DIR
from daemon.library import Library
from daemon.mediatypes import is_media
from daemon.storage.conventions import MANIFEST_DIR, is_ignored_name
from daemon.storage.projects import list_project_names
from daemon.storage.sources import Source

CHANGED, MISSING, UNREADABLE, UNKNOWN = "changed", "missing", "unreadable", "not catalogued"
FAILING = frozenset({CHANGED, MISSING, UNREADABLE})
CHUNK = 1 << 20


class Progress(Protocol):
    """Told of each file as it is read, and of the bytes read."""

    def file(self, project: str, rel_path: str, size: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass(frozen=True)
class Finding:
    rel_path: str
    problem: str  # changed | missing | unreadable | not catalogued
    detail: str


@dataclass(frozen=True)
class Target:
    """A project to verify and the files the catalog holds for it."""

    source: Source
    project: str
    records: tuple[FileRecord, ...]

    @property
    def path(self) -> Path:
        return self.source.root / self.project

    @property
    def total_bytes(self) -> int:
        return sum(record.size for record in self.records)


@dataclass
class Outcome:
    """What re-hashing one project found."""

    source: str
    project: str
    path: Path
    checked: int = 0
    matched: int = 0
    bytes_read: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.problem in FAILING for f in self.findings)

    def count(self, problem: str) -> int:
        return sum(f.problem == problem for f in self.findings)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def plan(lib: Library, source: str | None = None, project: str | None = None) -> list[Target]:
    """The projects to verify: every enabled source's (or the named source's) projects, on
    disk or in the catalog, or only ``project``. An unknown project is ProjectNotFound."""
    registry = lib.registry()
    sources = [registry.get(source)] if source else list(registry.enabled)
    targets = []
    for src in sources:
        names = set(catalogued_projects(lib.catalog, src.name))
        if src.root.is_dir():
            names.update(list_project_names(src))
        for name in sorted(names):
            if project is None or _nfc(name) == _nfc(project):
                records = files.in_project(lib.catalog, src.name, name).values()
                ordered = tuple(sorted(records, key=lambda r: r.rel_path))
                targets.append(Target(src, name, ordered))
    if project is not None and not targets:
        where = f"source {source!r}" if source else "any enabled source"
        raise ProjectNotFound(f"project {project!r} is not in {where}")
    return targets


def sha256_of(path: Path, progress: Progress | None) -> str:
    """The file's sha256, read in 1 MiB chunks (symlinks are not followed)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb", buffering=0, closefd=True) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
            if progress is not None:
                progress.advance(count)
    return digest.hexdigest()


def _still_catalogued(lib: Library, target: Target, record: FileRecord, found: str | None) -> bool:
    """True when the catalog still holds ``record`` as it was (and not the bytes ``found``)."""
    now = files.find(lib.catalog, target.source.name, target.project, record.rel_path)
    return now is not None and now.sha256 == record.sha256 and now.sha256 != found


def _check_file(
    lib: Library, target: Target, record: FileRecord, progress: Progress | None
) -> tuple[Finding | None, int]:
    """The finding for one catalogued file (None when its bytes match) and the bytes read."""
    path = target.path / record.rel_path
    if progress is not None:
        progress.file(target.project, record.rel_path, record.size)
    try:
        size = path.lstat().st_size
        found = sha256_of(path, progress)
    except FileNotFoundError:
        if not _still_catalogued(lib, target, record, None):
            return None, 0
        return Finding(record.rel_path, MISSING, "catalogued but not on disk"), 0
    except OSError as exc:
        return Finding(record.rel_path, UNREADABLE, exc.strerror or str(exc)), 0
    if found == record.sha256 or not _still_catalogued(lib, target, record, found):
        return None, size
    detail = f"sha256 {found[:16]}... on disk, {record.sha256[:16]}... in the catalog"
    if size != record.size:
        detail += f"; {size:,} bytes, catalogued as {record.size:,}"
    return Finding(record.rel_path, CHANGED, detail), size


def unknown_media(root: Path, known: Collection[str], exclude: Collection[str]) -> list[str]:
    """Media files in the project folder the catalog does not list (relative paths, sorted);
    hidden, temp and system names and the folders in ``exclude`` are left out."""
    skipped = {MANIFEST_DIR, MHL_DIR, *exclude}
    found = []
    for top, dirs, names in os.walk(root):
        rel_top = os.path.relpath(top, root)
        prefix = "" if rel_top == "." else rel_top.replace(os.sep, "/") + "/"
        dirs[:] = [
            d
            for d in dirs
            if (prefix + d) not in skipped and not d.startswith(".") and not is_ignored_name(d)
        ]
        for name in names:
            rel = prefix + name
            hidden = name.startswith(".") or is_ignored_name(name)
            if not hidden and is_media(name) and rel not in known:
                found.append(rel)
    return sorted(found)


def check(
    lib: Library, target: Target, exclude: Collection[str] = (), progress: Progress | None = None
) -> Outcome:
    """Re-hash every catalogued file of ``target`` and list the uncatalogued media on disk."""
    outcome = Outcome(target.source.name, target.project, target.path)
    for record in target.records:
        finding, read = _check_file(lib, target, record, progress)
        outcome.checked += 1
        outcome.bytes_read += read
        if finding is None:
            outcome.matched += 1
        else:
            outcome.findings.append(finding)
    if target.path.is_dir():
        known = {record.rel_path for record in target.records}
        for rel in unknown_media(target.path, known, exclude):
            if files.find(lib.catalog, target.source.name, target.project, rel) is None:
                outcome.findings.append(Finding(rel, UNKNOWN, "on disk, not in the catalog"))
    return outcome
