"""File rows: one placed file each (where a content lives), read as plain records."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daemon.catalog.values import MetaStatus, Origin

if TYPE_CHECKING:
    from daemon.catalog import Catalog


@dataclass(frozen=True)
class FileRecord:
    """A catalogued file with its content's identity (a plain value: no database behind it)."""

    id: int
    source: str
    project: str
    rel_path: str
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int | None
    blake3: str
    sha256: str
    kind: str | None
    uploaded_at: str
    origin: Origin
    tags: str  # JSON list, as stored
    duplicate_of: str | None


def _select(catalog: Catalog) -> Any:
    m = catalog.models
    return m.File.select(
        m.File.id,
        m.File.source,
        m.File.project,
        m.File.rel_path,
        m.File.size,
        m.File.mtime_ns,
        m.File.inode,
        m.File.ctime_ns,
        m.Content.blake3,
        m.Content.sha256,
        m.Content.kind,
        m.File.uploaded_at,
        m.File.origin,
        m.File.tags,
        m.File.duplicate_of,
    ).join(m.Content)


def _record(row: tuple[Any, ...]) -> FileRecord:
    values = list(row)
    values[12] = Origin(values[12])
    return FileRecord(*values)


def _in_project(catalog: Catalog, source: str, project: str) -> Any:
    File = catalog.models.File
    return (File.source == source) & (File.project == project)


def find(catalog: Catalog, source: str, project: str, rel_path: str) -> FileRecord | None:
    """The file at ``rel_path`` in the project, or None."""
    File = catalog.models.File
    where = _in_project(catalog, source, project) & (File.rel_path == rel_path)
    row = _select(catalog).where(where).tuples().first()
    return _record(row) if row is not None else None


def in_project(catalog: Catalog, source: str, project: str) -> dict[str, FileRecord]:
    """Every file of the project by its relative path."""
    rows = _select(catalog).where(_in_project(catalog, source, project)).tuples()
    return {record.rel_path: record for record in map(_record, rows)}


def paths_holding(catalog: Catalog, source: str, project: str, sha256: str) -> list[str]:
    """Relative paths of the project's files holding the bytes with this sha256."""
    m = catalog.models
    rows = (
        m.File.select(m.File.rel_path)
        .join(m.Content)
        .where(_in_project(catalog, source, project) & (m.Content.sha256 == sha256))
        .order_by(m.File.id)
        .tuples()
    )
    return [rel for (rel,) in rows]


def delete(catalog: Catalog, file_id: int) -> int:
    """Drop one file row (the caller holds the write transaction); how many went."""
    File = catalog.models.File
    return int(File.delete().where(File.id == file_id).execute())


def set_tags(catalog: Catalog, file_id: int, tags: str) -> None:
    """Store a file's manual tags (a JSON list; the caller holds the write transaction)."""
    File = catalog.models.File
    File.update(tags=tags).where(File.id == file_id).execute()


def restore_facts(
    catalog: Catalog, source: str, project: str, rel_path: str, tags: str, uploaded_at: str | None
) -> None:
    """Give a re-catalogued file back its tags and, when known, its first upload time."""
    File = catalog.models.File
    values: dict[str, Any] = {"tags": tags}
    if uploaded_at:
        values["uploaded_at"] = uploaded_at
    where = _in_project(catalog, source, project) & (File.rel_path == rel_path)
    File.update(**values).where(where).execute()


def pending_metadata(catalog: Catalog) -> list[tuple[str, str, str, str, str]]:
    """(source, project, rel_path, blake3, sha256) of every file whose metadata is unread."""
    m = catalog.models
    rows = (
        m.File.select(
            m.File.source, m.File.project, m.File.rel_path, m.Content.blake3, m.Content.sha256
        )
        .join(m.Content)
        .where(m.Content.meta_status == MetaStatus.PENDING)
        .tuples()
    )
    return list(rows)


def forget_source(catalog: Catalog, source: str) -> tuple[int, int]:
    """Drop a source's file and project rows (the caller holds the write transaction);
    (files, projects) removed."""
    m = catalog.models
    files = m.File.delete().where(m.File.source == source).execute()
    projects = m.Project.delete().where(m.Project.source == source).execute()
    return int(files), int(projects)


def forget_all(catalog: Catalog) -> None:
    """Drop every file, content and project row and the change counters, and give the catalog
    a new identity (a rebuild in place; the caller holds the write transaction). Jobs, events,
    upload batches and the watcher's status stay: the files on disk do not describe them."""
    from daemon.catalog import generations

    m = catalog.models
    for model in (m.File, m.Content, m.Project):
        model.delete().execute()
    catalog.execute(f"DELETE FROM {generations.TABLE}")
    m.Meta.update(value=secrets.token_hex(8)).where(m.Meta.key == "catalog_id").execute()
