"""One schema on both engines: a fresh sqlite catalog and a fresh PostgreSQL one have the same
tables, columns, nullability, indexes and triggers' effect, and 64-bit values are BIGINT on
PostgreSQL (sqlite's integers are 64-bit anyway)."""

from __future__ import annotations

from pathlib import Path

from daemon.catalog import Catalog
from tests.support.postgres import PostgresServer

BIG = {
    ("file", "size"), ("file", "inode"), ("file", "mtime_ns"), ("file", "ctime_ns"),
    ("content", "size"), ("batch_item", "size"), ("file", "id"), ("event", "id"),
    ("job", "id"), ("project", "id"), ("listing_generation", "generation"),
}  # fmt: skip


def _shape(catalog: Catalog) -> dict[str, dict[str, bool]]:
    """Each table's columns and whether they take NULL."""
    return {
        table: {c.name: c.null for c in catalog.db.get_columns(table)}
        for table in catalog.db.get_tables()
    }


def _indexes(catalog: Catalog) -> dict[str, set[tuple[tuple[str, ...], bool]]]:
    """Each table's indexes (columns, unique) beside its primary key's (which PostgreSQL lists
    as an index and sqlite does not)."""
    return {
        table: {
            (tuple(i.columns), bool(i.unique))
            for i in catalog.db.get_indexes(table)
            if not i.name.endswith("_pkey") and not i.name.startswith("sqlite_autoindex")
        }
        for table in catalog.db.get_tables()
    }


def test_both_engines_make_the_same_schema(tmp_path: Path, postgres_server: PostgresServer) -> None:
    lite = Catalog.open(tmp_path / "catalog.sqlite3")
    try:
        with postgres_server.database() as url:
            pg = Catalog.open(url)
            try:
                assert _shape(pg) == _shape(lite)
                assert _indexes(pg) == _indexes(lite)
                types = {
                    (table, c.name): c.data_type
                    for table in pg.db.get_tables()
                    for c in pg.db.get_columns(table)
                }
                assert {key for key, kind in types.items() if kind == "bigint"} >= BIG
                assert "real" not in types.values()  # floats are double precision
                assert pg.schema_version() == lite.schema_version()
            finally:
                pg.close()
    finally:
        lite.close()


def test_an_old_sqlite_catalog_migrates_to_the_same_schema(tmp_path: Path) -> None:
    """sqlite only by design (PostgreSQL catalogs are all made by this code): a catalog as
    schema 2 left it (no ctime, duplicates, thumbnail failures, counters, watcher status,
    batches, claims) is brought to today's schema, its rows kept and counted."""
    fresh = Catalog.open(tmp_path / "fresh.sqlite3")
    old_path = tmp_path / "old.sqlite3"
    old = Catalog.open(old_path)
    try:
        with old.write():
            old.execute("INSERT INTO project (source, name, notes, created_at, "
                        "duplicates_skipped, removed_missing_records) "
                        "VALUES ('primary', 'P1-A', '', 'x', 0, 0)")  # fmt: skip
            old.execute("INSERT INTO content (blake3, sha256, size, first_seen_at, meta_status) "
                        "VALUES ('b', 's', 5, 'x', 'ok')")  # fmt: skip
            old.execute("INSERT INTO file (source, project, rel_path, size, mtime_ns, inode, "
                        "blake3, uploaded_at, origin, tags) "
                        "VALUES ('primary', 'P1-A', 'a.mov', 5, 1, 2, 'b', 'x', 'drop', '[]')")  # fmt: skip
            for trigger in ("file_generation_insert", "file_generation_delete",
                            "file_generation_update", "content_generation_update"):  # fmt: skip
                old.execute(f"DROP TRIGGER {trigger}")
            for table in ("listing_generation", "service_status", "batch_item", "upload_batch"):
                old.execute(f'DROP TABLE "{table}"')
            later = {c.name for c in old.db.get_columns("content")} - _SCHEMA_2_CONTENT
            for table, columns in (("content", later), ("file", {"ctime_ns", "duplicate_of"})):
                for index in old.db.get_indexes(table):
                    if set(index.columns) & columns:
                        old.execute(f'DROP INDEX "{index.name}"')
                for column in sorted(columns):
                    old.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
            old.execute("DELETE FROM meta WHERE key = 'catalog_id'")
            old.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    finally:
        old.close()
    again = Catalog.open(old_path)
    try:
        assert again.schema_version() == fresh.schema_version()
        assert _shape(again) == _shape(fresh)
        assert _indexes(again) == _indexes(fresh)
        rows = again.execute("SELECT rel_path, ctime_ns FROM file").fetchall()
        assert rows == [("a.mov", None)]  # kept, unproven (no ctime yet)
        counted = again.execute("SELECT generation FROM listing_generation").fetchall()
        assert counted == [(1,)]
        with again.write():
            again.execute("UPDATE file SET size = 6 WHERE rel_path = 'a.mov'")
        counted = again.execute("SELECT generation FROM listing_generation").fetchall()
        assert counted == [(3,)]  # an update bumps the project's old and new place
    finally:
        again.close()
        fresh.close()


_SCHEMA_2_CONTENT = {
    "blake3", "sha256", "size", "first_seen_at", "kind", "width", "height", "duration",
    "video_codec", "frame_rate", "audio_codec", "rotation", "captured_at", "captured_from",
    "meta_status", "meta_error",
}  # fmt: skip
