"""The catalog's health as `media-sync doctor` sees it, read without changing anything, and the
plain queries `media-sync verify` reads the catalog with.

``inspect`` opens the catalog read-only (never creating, migrating or locking it): sqlite's
``PRAGMA quick_check`` reads every page; on PostgreSQL the server keeps its own pages whole and
a simple read of the schema version shows that the database answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.catalog import engines
from daemon.catalog.engines import DRIVER_ERRORS, ReadConnection
from daemon.catalog.migrations import SCHEMA_VERSION

if TYPE_CHECKING:
    from daemon.catalog import Catalog

_ERRORS: tuple[type[Exception], ...] = (*DRIVER_ERRORS, OSError, ValueError)
QUICK_CHECK_LINES = 5  # problems quoted from sqlite's quick_check (it can list thousands)


@dataclass(frozen=True)
class CatalogHealth:
    """What a read-only look at the catalog found."""

    location: str  # safe to show (no password)
    engine: str
    exists: bool
    schema_version: int | None = None
    current_version: int = SCHEMA_VERSION
    files: int | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read(reader: ReadConnection, sqlite: bool) -> tuple[int | None, int, list[str]]:
    """(schema version, file rows, integrity problems) through one read-only connection."""
    problems: list[str] = []
    if sqlite:
        rows = reader.execute("PRAGMA quick_check").fetchall()
        lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
        found = [line for line in lines if line and line != "ok" and not line.startswith("***")]
        problems.extend(found[:QUICK_CHECK_LINES])
        if len(found) > QUICK_CHECK_LINES:
            problems.append(f"... and {len(found) - QUICK_CHECK_LINES} more")
    key = "?" if sqlite else "%s"
    row = reader.execute(
        f"SELECT value FROM meta WHERE key = {key}", ("schema_version",)
    ).fetchone()
    version = int(row[0]) if row else None
    count = reader.execute("SELECT COUNT(*) FROM file").fetchone()
    return version, int(count[0]), problems


def inspect(location: Path | str) -> CatalogHealth:
    """Open the catalog at ``location`` read-only and check it; a sqlite file that does not
    exist yet is reported with ``exists=False`` (start-up makes it)."""
    where = engines.location_text(location)
    sqlite = not engines.is_url(location)
    engine = engines.SQLITE if sqlite else engines.POSTGRESQL
    if sqlite and not Path(location).exists():
        return CatalogHealth(where, engine, exists=False)
    try:
        reader = (
            engines.sqlite_reader(Path(location))
            if sqlite
            else engines.postgresql_reader(str(location))
        )
    except _ERRORS as exc:
        return CatalogHealth(where, engine, True, problems=(f"cannot open: {_first_line(exc)}",))
    try:
        version, files, problems = _read(reader, sqlite)
    except _ERRORS as exc:
        return CatalogHealth(where, engine, True, problems=(f"cannot read: {_first_line(exc)}",))
    finally:
        reader.close()
    return CatalogHealth(where, engine, True, version, SCHEMA_VERSION, files, tuple(problems))


def catalogued_projects(catalog: Catalog, source: str) -> list[str]:
    """Names of the source's projects the catalog holds files of, sorted."""
    File = catalog.models.File
    rows = File.select(File.project).where(File.source == source).distinct().tuples()
    return sorted(project for (project,) in rows)
