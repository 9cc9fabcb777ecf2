"""Project rows (notes, counters) and the per-project reads index.json and the counts need."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import peewee as pw

if TYPE_CHECKING:
    from daemon.catalog import Catalog

NO_FACTS: dict[str, Any] = {
    "notes": "",
    "created_at": None,
    "duplicates_skipped": 0,
    "removed_missing_records": 0,
}


def _where(catalog: Catalog, source: str, name: str) -> Any:
    Project = catalog.models.Project
    return (Project.source == source) & (Project.name == name)


def ensure(catalog: Catalog, source: str, name: str) -> bool:
    """Make the project's row unless it exists (the caller holds the write transaction);
    True when it was made."""
    Project = catalog.models.Project
    if Project.select(Project.id).where(_where(catalog, source, name)).exists():
        return False
    Project.insert(source=source, name=name).on_conflict_ignore().execute()
    return True


def set_notes(catalog: Catalog, source: str, name: str, notes: str) -> None:
    """The project's notes (the caller holds the write transaction)."""
    Project = catalog.models.Project
    Project.update(notes=notes).where(_where(catalog, source, name)).execute()


def count_duplicates(catalog: Catalog, source: str, name: str, count: int = 1) -> None:
    """Count uploads skipped as duplicates (the caller holds the write transaction)."""
    Project = catalog.models.Project
    bumped = Project.duplicates_skipped + count
    Project.update(duplicates_skipped=bumped).where(_where(catalog, source, name)).execute()


def count_removed(catalog: Catalog, source: str, name: str, count: int) -> None:
    """Count records dropped for files gone from disk (the caller holds the write transaction)."""
    Project = catalog.models.Project
    bumped = Project.removed_missing_records + count
    Project.update(removed_missing_records=bumped).where(_where(catalog, source, name)).execute()


def facts(catalog: Catalog, source: str, name: str) -> dict[str, Any]:
    """Notes, created_at and the counters of the project's row (defaults when it has none)."""
    Project = catalog.models.Project
    row = (
        Project.select(
            Project.notes,
            Project.created_at,
            Project.duplicates_skipped,
            Project.removed_missing_records,
        )
        .where(_where(catalog, source, name))
        .dicts()
        .first()
    )
    return dict(row) if row is not None else dict(NO_FACTS)


def kinds(catalog: Catalog, source: str, name: str) -> dict[str | None, int]:
    """How many files of each kind the project holds (one aggregate query)."""
    m = catalog.models
    query = (
        m.File.select(m.Content.kind, pw.fn.COUNT(m.File.id))
        .join(m.Content)
        .where((m.File.source == source) & (m.File.project == name))
        .group_by(m.Content.kind)
        .tuples()
    )
    return {kind: int(count) for kind, count in query}


def index_rows(catalog: Catalog, source: str, name: str) -> list[dict[str, Any]]:
    """Every file of the project by path, with what index.json records of it (tags as the
    stored JSON text) and its kind."""
    m = catalog.models
    query = (
        m.File.select(
            m.File.rel_path,
            m.File.size,
            m.File.mtime_ns,
            m.File.uploaded_at,
            m.File.tags,
            m.Content.sha256,
            m.Content.blake3,
            m.Content.kind,
        )
        .join(m.Content)
        .where((m.File.source == source) & (m.File.project == name))
        .order_by(m.File.rel_path)
        .dicts()
    )
    return list(query)


def last_upload(catalog: Catalog, source: str, name: str) -> str | None:
    """When a file last arrived in the project (upload or drop), or None if it has none."""
    File = catalog.models.File
    where = (File.source == source) & (File.project == name)
    value = File.select(pw.fn.MAX(File.uploaded_at)).where(where).scalar()
    return str(value) if value else None
