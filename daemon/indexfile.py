"""Each project's `index.json` (the spec's schema), derived from the catalog and written atomically."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import peewee as pw

from daemon.catalog import Content, File, Project, utcnow
from daemon.conventions import MANIFEST_DIR, atomic_write_json
from daemon.errors import CorruptFile
from daemon.locks import file_lock
from daemon.projects import ProjectRef
from daemon.settings import Settings
from daemon.tags import load_tags

log = logging.getLogger("media_sync.index")


def project_row(ref: ProjectRef) -> Project:
    """The catalog row for a project, created on first use."""
    row, _ = Project.get_or_create(source=ref.source.name, name=ref.name)
    project: Project = row
    return project


def project_facts(ref: ProjectRef) -> dict[str, Any]:
    """Notes, created_at and the counters a project's catalog row carries (defaults if none)."""
    row = Project.get_or_none((Project.source == ref.source.name) & (Project.name == ref.name))
    if row is None:
        return {
            "notes": "",
            "created_at": None,
            "duplicates_skipped": 0,
            "removed_missing_records": 0,
        }
    return {
        "notes": row.notes,
        "created_at": row.created_at,
        "duplicates_skipped": row.duplicates_skipped,
        "removed_missing_records": row.removed_missing_records,
    }


def kind_counts(kinds: dict[str, int], facts: dict[str, Any]) -> dict[str, int]:
    """The spec's counts from files per kind and the project's counters."""
    return _counts(kinds, facts)


def _counts(kinds: dict[str, int], facts: dict[str, Any]) -> dict[str, int]:
    return {
        "videos": kinds.get("video", 0),
        "images": kinds.get("image", 0),
        "audio": kinds.get("audio", 0),
        "files": sum(kinds.values()),
        "duplicates_skipped": facts["duplicates_skipped"],
        "removed_missing_records": facts["removed_missing_records"],
    }


def project_counts(ref: ProjectRef, facts: dict[str, Any] | None = None) -> dict[str, int]:
    """The spec's counts for a project, by aggregate query (no file list)."""
    query = (
        File.select(Content.kind, pw.fn.COUNT(File.id).alias("n"))
        .join(Content)
        .where((File.source == ref.source.name) & (File.project == ref.name))
        .group_by(Content.kind)
    )
    kinds = {row["kind"]: row["n"] for row in query.dicts()}
    return _counts(kinds, facts if facts is not None else project_facts(ref))


def build_index(ref: ProjectRef) -> dict[str, Any]:
    """The index.json document for a project, from the catalog."""
    project = project_facts(ref)
    query = (
        File.select(
            File.rel_path,
            File.size,
            File.mtime_ns,
            File.uploaded_at,
            File.tags,
            Content.sha256,
            Content.blake3,
            Content.kind,
        )
        .join(Content)
        .where((File.source == ref.source.name) & (File.project == ref.name))
        .order_by(File.rel_path)
    )
    files = []
    kinds: dict[str, int] = {}
    for row in query.dicts():
        files.append(
            {
                "relative_path": row["rel_path"],
                "sha256": row["sha256"],
                "blake3": row["blake3"],
                "size": row["size"],
                "uploaded_at": row["uploaded_at"],
                "mtime_ns": row["mtime_ns"],  # lets a rebuild reuse the hashes safely
                "tags": load_tags(row["tags"]),
            }
        )
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    return {
        "project": ref.name,
        "source": ref.source.name,
        "notes": project["notes"],
        "created_at": project["created_at"],
        "updated_at": utcnow(),
        "files": files,
        "counts": _counts(kinds, project),
    }


# (size, mtime_ns, inode) of each index.json this process wrote last: an index still exactly
# as we left it needs no re-parse for corruption before the next rewrite.
_written: dict[Path, tuple[int, int, int]] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def write_index(settings: Settings, ref: ProjectRef) -> dict[str, Any]:
    """Rewrite index.json from the catalog under the project's lock (atomic replace)."""
    with file_lock(settings.locks_dir, ref.lock_key + "-index"):
        current = _identity(ref.index_path)
        if current is not None and _written.get(ref.index_path) != current:
            preserve_if_corrupt(ref)
        document = build_index(ref)
        atomic_write_json(ref.index_path, document)
        identity = _identity(ref.index_path)
        if identity is not None:
            _written[ref.index_path] = identity
    return document


def preserve_if_corrupt(ref: ProjectRef) -> Path | None:
    """Move an unparseable index.json aside into `_manifest/` (never silently overwrite it)."""
    try:
        read_index(ref.index_path)
    except CorruptFile:
        stamp = utcnow().replace(":", "").replace("-", "")
        target = ref.path / MANIFEST_DIR / f"index.corrupt-{stamp}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(ref.index_path, target)
        log.warning(
            "%s/index.json was corrupt; kept as %s and rewritten from the catalog",
            ref.name,
            target.name,
        )
        return target
    return None


def read_index(path: Path) -> dict[str, Any] | None:
    """Parse an index.json; None when absent, CorruptFile when it cannot be used."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CorruptFile(f"{path} cannot be read: {exc}") from exc
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise CorruptFile(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("files", []), list):
        raise CorruptFile(f"{path} does not hold an object with a 'files' list")
    return document
