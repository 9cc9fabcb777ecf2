"""The ingest pipeline's queries: the rows an arrival is decided on, and its bulk writes.

Reads return plain ``FileFacts``; writes take the caller's write transaction and are keyed on
(source, project, rel_path), so rows made earlier in the same batch need no id. Bulk writes go
through one ``executemany`` each (a batch of drops is a handful of statements, not thousands).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee as pw
import psycopg

from daemon.catalog import events
from daemon.catalog.generations import TABLE as generations_table
from daemon.catalog.models import utcnow
from daemon.catalog.values import MetaStatus, Origin

if TYPE_CHECKING:
    from daemon.catalog import Catalog

EventRow = events.EventRow  # the batch's events are stored with its rows (``add_events``)
add_events = events.add_rows
Stamp = tuple[int, int, int, int]  # size, inode, mtime_ns, ctime_ns
Row = tuple[int, int, int]  # the (size, mtime_ns, inode) a reconcile compares
CHUNK = 400  # bound parameters per IN (...) query, well below sqlite's limit

_FACTS = (
    "source, project, rel_path, size, inode, mtime_ns, ctime_ns, blake3, uploaded_at, tags, origin, "
    "duplicate_of"
)


@dataclass(frozen=True)
class FileFacts:
    """A catalogued file as the pipeline decides on it (a plain value)."""

    source: str
    project: str
    rel_path: str
    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int | None
    blake3: str
    uploaded_at: str
    tags: str  # JSON list, as stored
    origin: str
    duplicate_of: str | None

    @property
    def stamp(self) -> Stamp | None:
        """The stamp the bytes were hashed at; None when unproven (no ctime recorded)."""
        if self.ctime_ns is None:
            return None
        return self.size, self.inode, self.mtime_ns, self.ctime_ns


@dataclass(frozen=True)
class NewFile:
    """A file row to insert."""

    source: str
    project: str
    rel_path: str
    stamp: Stamp
    blake3: str
    origin: str
    uploaded_at: str
    tags: str
    duplicate_of: str | None


def is_full(exc: BaseException) -> bool:
    """Is this the catalog's disk being full: sqlite's "database or disk is full", or
    PostgreSQL's disk_full (SQLSTATE 53100), through peewee or not?"""
    if isinstance(exc, pw.OperationalError | sqlite3.OperationalError) and (
        "full" in str(exc).lower()
    ):
        return True
    return any(  # peewee raises its own error while handling the driver's
        isinstance(error, psycopg.Error) and error.sqlstate == "53100"
        for error in (exc, exc.__cause__, exc.__context__)
    )


def _file(catalog: Catalog) -> str:
    return str(catalog.models.File._meta.table_name)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_holding(catalog: Catalog, source: str, blake3s: Collection[str]) -> list[FileFacts]:
    """Every file of the source holding one of these contents (ordered by id: oldest first)."""
    found: list[FileFacts] = []
    keys = sorted(set(blake3s))
    for part in _chunks(keys):
        marks = ",".join("?" * len(part))
        cursor = catalog.execute(
            f'SELECT {_FACTS} FROM "{_file(catalog)}" WHERE blake3 IN ({marks}) '
            f"AND {catalog.dialect.skip_index}source = ? ORDER BY id",  # the content's index
            [*part, source],
        )
        found.extend(FileFacts(*record) for record in cursor.fetchall())
    return found


def rows_at(catalog: Catalog, source: str, places: Collection[tuple[str, str]]) -> list[FileFacts]:
    """The files of the source at these (project, rel_path) places."""
    by_project: dict[str, list[str]] = {}
    for project, rel in set(places):
        by_project.setdefault(project, []).append(rel)
    found: list[FileFacts] = []
    for project, rels in sorted(by_project.items()):
        for part in _chunks(sorted(rels)):
            marks = ",".join("?" * len(part))
            cursor = catalog.execute(
                f'SELECT {_FACTS} FROM "{_file(catalog)}" '
                f"WHERE source = ? AND project = ? AND rel_path IN ({marks})",
                [source, project, *part],
            )
            found.extend(FileFacts(*record) for record in cursor.fetchall())
    return found


def content_digest(catalog: Catalog, blake3: str) -> tuple[str, int] | None:
    """The (sha256, size) of a catalogued content, or None."""
    table = catalog.models.Content._meta.table_name
    cursor = catalog.execute(f'SELECT sha256, size FROM "{table}" WHERE blake3 = ?', [blake3])
    row = cursor.fetchone()
    return (str(row[0]), int(row[1])) if row else None


def also_in(catalog: Catalog, source: str, project: str, blake3: str) -> list[dict[str, str]]:
    """Where else (other projects, other sources) these bytes are catalogued."""
    cursor = catalog.execute(
        f'SELECT source, project, rel_path FROM "{_file(catalog)}" '
        "WHERE blake3 = ? AND NOT (source = ? AND project = ?) ORDER BY id",
        [blake3, source, project],
    )
    return [{"source": s, "project": p, "path": r} for s, p, r in cursor.fetchall()]


# -- writes (the caller holds the write transaction) -------------------------------------------


def ensure_projects(catalog: Catalog, projects: Iterable[tuple[str, str]]) -> None:
    """Make the rows of these (source, name) projects that do not exist yet."""
    table = catalog.models.Project._meta.table_name
    now = utcnow()
    rows = [(source, name, "", now, 0, 0) for source, name in sorted(set(projects))]
    catalog.executemany(
        f'INSERT INTO "{table}" (source, name, notes, created_at, duplicates_skipped, '
        "removed_missing_records) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        rows,
    )


def add_contents(catalog: Catalog, contents: Iterable[tuple[str, str, int, str | None]]) -> None:
    """(blake3, sha256, size, kind) of contents to know; those already known stay as they are."""
    table = catalog.models.Content._meta.table_name
    now = utcnow()
    catalog.executemany(
        f'INSERT INTO "{table}" (blake3, sha256, size, kind, first_seen_at, meta_status) '
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(*content, now, MetaStatus.PENDING.value) for content in contents],
    )


def add_files(catalog: Catalog, files: Iterable[NewFile]) -> None:
    """Insert file rows (their places are free: the caller dropped any row there first)."""
    catalog.executemany(
        f'INSERT INTO "{_file(catalog)}" (source, project, rel_path, size, inode, mtime_ns, '
        "ctime_ns, blake3, origin, uploaded_at, tags, duplicate_of) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f.source,
                f.project,
                f.rel_path,
                *f.stamp,
                f.blake3,
                Origin(f.origin).value,
                f.uploaded_at,
                f.tags,
                f.duplicate_of,
            )
            for f in files
        ],
    )


def refill(
    catalog: Catalog,
    source: str,
    project: str,
    rel_path: str,
    stamp: Stamp,
    blake3: str,
    duplicate_of: str | None,
) -> None:
    """The file at a place now holds other bytes (hashed at ``stamp``); it keeps its history."""
    catalog.execute(
        f'UPDATE "{_file(catalog)}" SET size = ?, inode = ?, mtime_ns = ?, ctime_ns = ?, '
        "blake3 = ?, duplicate_of = ? WHERE source = ? AND project = ? AND rel_path = ?",
        [*stamp, blake3, duplicate_of, source, project, rel_path],
    )


def restamp(catalog: Catalog, source: str, project: str, rel_path: str, stamp: Stamp) -> None:
    """Record the stamp a file was (re)proven to hold its bytes at."""
    catalog.execute(
        f'UPDATE "{_file(catalog)}" SET size = ?, inode = ?, mtime_ns = ?, ctime_ns = ? '
        "WHERE source = ? AND project = ? AND rel_path = ?",
        [*stamp, source, project, rel_path],
    )


def carry(
    catalog: Catalog,
    old: tuple[str, str, str],
    new: tuple[str, str, str],
    stamp: tuple[int, int, int, int | None],
    duplicate_of: str | None,
) -> None:
    """Move a file's row (its identity: uploaded_at, origin, tags) from one (source, project,
    rel_path) to another, with the stamp found there (ctime None: carried, not re-hashed, so
    unproven)."""
    catalog.execute(
        f'UPDATE "{_file(catalog)}" SET source = ?, project = ?, rel_path = ?, size = ?, '
        "inode = ?, mtime_ns = ?, ctime_ns = ?, duplicate_of = ? "
        "WHERE source = ? AND project = ? AND rel_path = ?",
        [*new, *stamp, duplicate_of, *old],
    )


def delete_files(catalog: Catalog, source: str, project: str, rel_paths: Collection[str]) -> int:
    """Drop the rows at these places of a project; how many went."""
    gone = 0
    for part in _chunks(sorted(set(rel_paths))):
        marks = ",".join("?" * len(part))
        cursor = catalog.execute(
            f'DELETE FROM "{_file(catalog)}" WHERE source = ? AND project = ? '
            f"AND rel_path IN ({marks})",
            [source, project, *part],
        )
        gone += cursor.rowcount
    return gone


def repoint_duplicates(
    catalog: Catalog, source: str, project: str, blake3: str, old: str, new: str | None
) -> None:
    """The copy of ``blake3`` at ``old`` moved to ``new`` in the same project (or left it:
    ``new`` None). Files flagged as its duplicates (they hold its bytes: found through the
    content's index) follow it; left without it, the oldest of them becomes the original and
    the others name that one."""
    table = _file(catalog)
    plus = catalog.dialect.skip_index  # through the content's index
    where = f"blake3 = ? AND {plus}source = ? AND {plus}project = ? AND duplicate_of = ?"
    keys = [blake3, source, project, old]
    if new is not None:
        catalog.execute(f'UPDATE "{table}" SET duplicate_of = ? WHERE {where}', [new, *keys])
        return
    cursor = catalog.execute(
        f'SELECT rel_path FROM "{table}" WHERE {where} ORDER BY id LIMIT 1', keys
    )
    heir = cursor.fetchone()
    if heir is None:
        return
    catalog.execute(
        f'UPDATE "{table}" SET duplicate_of = NULL WHERE source = ? AND project = ? '
        "AND rel_path = ?",
        [source, project, heir[0]],
    )
    catalog.execute(f'UPDATE "{table}" SET duplicate_of = ? WHERE {where}', [heir[0], *keys])


def count_duplicates(catalog: Catalog, source: str, project: str, count: int) -> None:
    """Count uploads skipped because the project already held their bytes."""
    _bump(catalog, source, project, "duplicates_skipped", count)


def count_removed(catalog: Catalog, source: str, project: str, count: int) -> None:
    """Count rows dropped because their file was gone from disk."""
    _bump(catalog, source, project, "removed_missing_records", count)


def _bump(catalog: Catalog, source: str, project: str, column: str, count: int) -> None:
    if count:
        table = catalog.models.Project._meta.table_name
        catalog.execute(
            f'UPDATE "{table}" SET {column} = {column} + ? WHERE source = ? AND name = ?',
            [count, source, project],
        )


def adopt_project(
    catalog: Catalog, source: str, name: str, document: dict[str, Any] | None
) -> None:
    """Make a project's row carrying the counters, notes and created_at of its index.json; a
    project already catalogued keeps its own."""
    Project = catalog.models.Project
    if (
        Project.select(Project.id)
        .where((Project.source == source) & (Project.name == name))
        .exists()
    ):
        return
    values: dict[str, Any] = {"source": source, "name": name}
    if document is not None:
        counts = document.get("counts") or {}
        for key in ("duplicates_skipped", "removed_missing_records"):
            if isinstance(counts.get(key), int) and counts[key] >= 0:
                values[key] = counts[key]
        for key in ("notes", "created_at"):
            if isinstance(document.get(key), str):
                values[key] = document[key]
    Project.insert(**values).on_conflict_ignore().execute()


# -- what a reconcile compares the disk with ---------------------------------------------------


def generations(catalog: Catalog, source: str) -> tuple[str, dict[str, int]]:
    """The catalog's identity and each project's change counter (bumped by triggers on every
    write to its files, whichever process makes it)."""
    meta = catalog.models.Meta._meta.table_name
    cursor = catalog.execute(f"SELECT value FROM \"{meta}\" WHERE key = 'catalog_id'")
    row = cursor.fetchone()
    cursor = catalog.execute(
        f"SELECT project, generation FROM {generations_table} WHERE source = ?", [source]
    )
    return (str(row[0]) if row else ""), {p: int(g) for p, g in cursor.fetchall()}


def project_rows(
    catalog: Catalog, source: str, projects: Collection[str] | None
) -> dict[str, dict[str, Row]]:
    """Each file's (size, mtime_ns, inode) by project and path: one sequential scan for a whole
    source, one indexed query per project otherwise (never a query per file)."""
    columns = f'SELECT project, rel_path, size, mtime_ns, inode FROM "{_file(catalog)}"'
    rows: dict[str, dict[str, Row]] = {}
    if projects is None:
        cursor = catalog.execute(f"{columns}{catalog.dialect.no_index} WHERE source = ?", [source])
        for record in cursor.fetchall():
            bucket = rows.get(record[0])
            if bucket is None:
                bucket = rows[record[0]] = {}
            bucket[record[1]] = record[2:]
        return rows
    for project in projects:
        cursor = catalog.execute(f"{columns} WHERE source = ? AND project = ?", [source, project])
        rows[project] = {record[1]: record[2:] for record in cursor.fetchall()}
    return rows
