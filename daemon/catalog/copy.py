"""`media-sync catalog copy`: an existing sqlite catalog copied into an empty PostgreSQL one.

Every table the two catalogs share is copied (projects, contents, files with their metadata and
tags, Resolve jobs, the live feed's events, upload batches, and any other table both schemas
have), except the watchers' status (each process publishes its own), the listing change counters and
``meta`` (the target keeps its schema version and its own identity, and counts its own
changes: no listing answer cached from the sqlite catalog is ever taken for one of it). The source is read in one snapshot, in
batches of ``BATCH`` rows; the target is written in one transaction, its row counts checked
against the source's before it commits: a copy that fails leaves the target as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.catalog import engines, files
from daemon.catalog.generations import TABLE as GENERATIONS
from daemon.errors import CatalogError

if TYPE_CHECKING:
    from daemon.catalog import Catalog

BATCH = 5_000
SKIPPED = frozenset({"meta", "service_status", GENERATIONS})
# Parents before children (foreign keys); tables not named here follow in name order.
ORDER = ("project", "content", "file", "job", "event", "upload_batch", "batch_item")
# The rows that make a catalog "not empty" (a target holding any is refused without force).
HOLDING = ("project", "content", "file", "job", "event", "upload_batch")


@dataclass
class CopyReport:
    """How many rows each table received."""

    rows: dict[str, int] = field(default_factory=dict)


def copy_catalog(
    source: Catalog,
    target: Catalog,
    *,
    force: bool = False,
    progress: Callable[[str], None] = print,
) -> CopyReport:
    """Copy ``source`` (sqlite) into ``target`` (PostgreSQL), both open (migrated to this
    code's schema). A target already holding rows is refused unless ``force`` (its rows are
    replaced). Raises CatalogError, the target untouched, on any failure."""
    if target.engine != engines.POSTGRESQL:
        raise CatalogError("catalog copy writes into a PostgreSQL catalog (a postgresql:// URL)")
    tables = _shared_tables(source, target)
    report = CopyReport()
    reader = source.read_connection()
    try:
        with target.write():
            held = _held_rows(target)
            if held and not force:
                raise CatalogError(
                    f"{target.location} already holds a catalog ({held}); copy into an empty "
                    "database, or pass --force to replace its rows"
                )
            if held:  # forced: the target's rows go, and its identity changes
                files.forget_all(target)
                for table in reversed(tables):
                    target.execute(f'DELETE FROM "{table}"')
            for table in tables:
                report.rows[table] = _copy_table(reader, source, target, table, progress)
            engines.reset_sequences(target.db, target.dialect, _with_ids(target, tables))
            _verify(reader, target, report)
    except engines.DRIVER_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CatalogError(f"catalog copy failed, nothing was copied: {first}") from exc
    finally:
        reader.close()
    return report


def _shared_tables(source: Catalog, target: Catalog) -> list[str]:
    shared = (set(source.db.get_tables()) & set(target.db.get_tables())) - SKIPPED
    known = [table for table in ORDER if table in shared]
    return known + sorted(shared - set(known))


def _held_rows(target: Catalog) -> str:
    """What the target already holds ("12 file rows, ..."), "" when empty."""
    present = set(target.db.get_tables())
    counts = [
        (table, int(target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]))
        for table in HOLDING
        if table in present
    ]
    return ", ".join(f"{count} {table} rows" for table, count in counts if count)


def _columns(catalog: Catalog, table: str) -> dict[str, str]:
    return {column.name: column.data_type.lower() for column in catalog.db.get_columns(table)}


def _with_ids(catalog: Catalog, tables: Sequence[str]) -> list[str]:
    """The tables whose ``id`` is a number handed out by a sequence."""
    return [t for t in tables if _columns(catalog, t).get("id") in {"bigint", "integer"}]


def _copy_table(
    reader: engines.ReadConnection,
    source: Catalog,
    target: Catalog,
    table: str,
    progress: Callable[[str], None],
) -> int:
    theirs = _columns(target, table)
    names = [name for name in _columns(source, table) if name in theirs]
    flags = [theirs[name] == "boolean" for name in names]
    quoted = ", ".join(f'"{name}"' for name in names)
    insert = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(names))})'
    total = int(reader.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    done = 0
    for rows in _batches(reader, f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
        target.executemany(insert, [_row(row, flags) for row in rows])
        done += len(rows)
        progress(f"{table}: {done:,} of {total:,} rows")
    if total == 0:
        progress(f"{table}: no rows")
    return done


def _batches(reader: engines.ReadConnection, sql: str) -> Iterator[list[Any]]:
    cursor = reader.stream(sql)
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _row(row: Sequence[Any], flags: Sequence[bool]) -> tuple[Any, ...]:
    """sqlite keeps booleans as 0 and 1; PostgreSQL wants them as booleans."""
    return tuple(
        bool(value) if flag and value is not None else value
        for value, flag in zip(row, flags, strict=True)
    )


def _verify(reader: engines.ReadConnection, target: Catalog, report: CopyReport) -> None:
    for table, copied in report.rows.items():
        theirs = int(reader.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        ours = int(target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
        if not theirs == ours == copied:
            raise CatalogError(
                f"catalog copy failed, nothing was copied: {table} has {theirs} rows in the "
                f"sqlite catalog but {ours} were written"
            )


def open_sqlite_source(path: Path) -> Catalog:
    """The sqlite catalog to copy from (migrated to this code's schema first); a missing file
    is an error, never a new empty catalog."""
    from daemon.catalog import Catalog

    if not path.is_file():
        raise CatalogError(f"no sqlite catalog at {path} to copy")
    return Catalog.open(path)
