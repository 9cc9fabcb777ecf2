"""Schema migrations: each version's step, applied in order inside one write transaction.

One set for both engines. A PostgreSQL catalog is always made by this code's models (step 1
creates every column the later steps add on an older sqlite file, so those find them there);
the steps' own SQL is written for both.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee as pw

from daemon.catalog import generations
from daemon.catalog.engines import Dialect
from daemon.catalog.models import Models

SCHEMA_VERSION = 10


def _columns(db: pw.Database, table: str) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def _migrate_1(db: pw.Database, models: Models, dialect: Dialect) -> None:
    db.create_tables(models.first)


def _migrate_2(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Manual tags on files (a catalog made by version 1 has no such column)."""
    table = models.File._meta.table_name
    if "tags" not in _columns(db, table):
        db.execute_sql(f"ALTER TABLE \"{table}\" ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")


def _migrate_3(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Per-project change counters kept by triggers (cached listings know when they are stale)."""
    del models
    generations.install(db, dialect.name)


def _migrate_4(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """The ctime a file was hashed at (rows without it are unproven: re-hashed before trusted)."""
    table = models.File._meta.table_name
    if "ctime_ns" not in _columns(db, table):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN ctime_ns BIGINT')


def _migrate_5(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """A drop whose bytes the project already held names that earlier copy (both files stay)."""
    table = models.File._meta.table_name
    if "duplicate_of" not in _columns(db, table):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN duplicate_of VARCHAR(255)')


def _migrate_6(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """The status of each process running the watcher (so /health is right in any process)."""
    db.create_tables([models.ServiceStatus])


def _migrate_7(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Remembered thumbnail failures; metadata errors stored before, which named one copy and
    could quote a server path, are read again (stored now as the reason alone)."""
    table = models.Content._meta.table_name
    present = _columns(db, table)
    for column in ("thumb_error", "thumb_stamp", "thumb_failed_at"):
        if column not in present:
            db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {column} TEXT')
    db.execute_sql(
        f"UPDATE \"{table}\" SET meta_status = 'pending', meta_error = NULL "
        "WHERE meta_status = 'error'"
    )


def _migrate_8(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Album sync sessions (upload batches) and what each of their files became."""
    db.create_tables([models.UploadBatch, models.BatchItem])


def _migrate_9(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Claims on content rows, so two replicas never read the same metadata or make the same
    thumbnail (``daemon.catalog.claims``)."""
    from daemon.catalog import claims

    table = models.Content._meta.table_name
    claims.add_columns(db, table, _columns(db, table))


_SORT_VALUE = (
    "COALESCE((SELECT captured_at FROM content WHERE blake3 = NEW.blake3), NEW.uploaded_at)"
)
_SORT_TRIGGERS = {
    "sqlite": (
        f"""CREATE TRIGGER IF NOT EXISTS file_sort_captured_insert AFTER INSERT ON "file" BEGIN
            UPDATE "file" SET sort_captured = {_SORT_VALUE} WHERE id = NEW.id;
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS file_sort_captured_update
            AFTER UPDATE OF blake3, uploaded_at ON "file" BEGIN
            UPDATE "file" SET sort_captured = {_SORT_VALUE} WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER IF NOT EXISTS content_sort_captured AFTER UPDATE OF captured_at
            ON content WHEN NEW.captured_at IS NOT OLD.captured_at BEGIN
            UPDATE "file" SET sort_captured = COALESCE(NEW.captured_at, uploaded_at)
            WHERE blake3 = NEW.blake3;
        END""",
    ),
    "postgresql": (
        f"""CREATE OR REPLACE FUNCTION file_sort_captured() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN NEW.sort_captured := {_SORT_VALUE}; RETURN NEW; END $$""",
        'DROP TRIGGER IF EXISTS file_sort_captured ON "file"',
        """CREATE TRIGGER file_sort_captured BEFORE INSERT OR UPDATE OF blake3, uploaded_at
            ON "file" FOR EACH ROW EXECUTE FUNCTION file_sort_captured()""",
        """CREATE OR REPLACE FUNCTION content_sort_captured() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN
            UPDATE "file" SET sort_captured = COALESCE(NEW.captured_at, uploaded_at)
            WHERE blake3 = NEW.blake3;
            RETURN NULL;
        END $$""",
        "DROP TRIGGER IF EXISTS content_sort_captured ON content",
        """CREATE TRIGGER content_sort_captured AFTER UPDATE OF captured_at ON content
            FOR EACH ROW WHEN (NEW.captured_at IS DISTINCT FROM OLD.captured_at)
            EXECUTE FUNCTION content_sort_captured()""",
    ),
}


def _migrate_10(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """The listing's orders read from indexes: a file's capture-time sort value kept in its
    row by triggers (``File.sort_captured``), and each sort's (source, project, value, id)
    index; the size index also serves the pre-upload check."""
    table = models.File._meta.table_name
    postgresql = dialect.name == "postgresql"
    if "sort_captured" not in _columns(db, table):
        text = 'VARCHAR COLLATE "C"' if postgresql else "VARCHAR(255)"
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN sort_captured {text}')
    for statement in _SORT_TRIGGERS[dialect.name]:
        db.execute_sql(statement)
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    value = "COALESCE(c.captured_at, f.uploaded_at)"
    if postgresql:  # one bump per project below, not two per row (ADD COLUMN holds the table)
        db.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER file_generation')
    filled = db.execute_sql(  # every file has its content row (a foreign key)
        f'UPDATE "{table}" AS f SET sort_captured = {value} FROM content AS c '
        f"WHERE c.blake3 = f.blake3 AND f.sort_captured {differs} {value}"
    ).rowcount
    if postgresql:
        db.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER file_generation')
        if filled:
            db.execute_sql(f"UPDATE {generations.TABLE} SET generation = generation + 1")
    for column in ("sort_captured", "uploaded_at", "size"):  # named as the model names them
        db.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "{table}_source_project_{column}_id" '
            f'ON "{table}" (source, project, {column}, id)'
        )


MIGRATIONS: dict[int, Callable[[pw.Database, Models, Dialect], None]] = {
    1: _migrate_1,
    2: _migrate_2,
    3: _migrate_3,
    4: _migrate_4,
    5: _migrate_5,
    6: _migrate_6,
    7: _migrate_7,
    8: _migrate_8,
    9: _migrate_9,
    10: _migrate_10,
}


def migrate(db: pw.Database, models: Models, dialect: Dialect) -> None:
    """Bring the schema to SCHEMA_VERSION (the caller holds the write transaction)."""
    from daemon.errors import CatalogError

    current = 0
    if db.table_exists(models.Meta._meta.table_name):
        row = models.Meta.get_or_none(models.Meta.key == "schema_version")
        current = int(row.value) if row else 0
    if current > SCHEMA_VERSION:
        raise CatalogError(
            f"catalog schema {current} is newer than this media-sync ({SCHEMA_VERSION})"
        )
    Meta = models.Meta
    for version in range(current + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](db, models, dialect)
        Meta.insert(key="schema_version", value=str(version)).on_conflict(
            conflict_target=[Meta.key], update={Meta.value: str(version)}
        ).execute()
