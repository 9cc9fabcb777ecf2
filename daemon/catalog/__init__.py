"""The sqlite catalog (peewee): opening it safely for two processes, its models and migrations.

One catalog in MEDIA_SYNC_STATE_DIR serves every source. WAL lets the ingress and the daemon
read while one of them writes; writes are short ``BEGIN IMMEDIATE`` transactions; upserts are
keyed so that a race between processes ends in the same rows.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee as pw

from daemon.catalog import generations
from daemon.errors import CatalogError

SCHEMA_VERSION = 4
database = pw.DatabaseProxy()


def utcnow() -> str:
    """Current time as an ISO-8601 UTC string with seconds precision."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta(BaseModel):
    """Key/value facts about the catalog itself (schema version)."""

    key = pw.CharField(primary_key=True)
    value = pw.TextField()


class Project(BaseModel):
    """A project folder in a source root, with the counters index.json carries."""

    source = pw.CharField()
    name = pw.CharField()
    notes = pw.TextField(default="")
    created_at = pw.CharField(default=utcnow)
    duplicates_skipped = pw.IntegerField(default=0)
    removed_missing_records = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("source", "name"), True),)


class Content(BaseModel):
    """A distinct byte sequence: blake3 is its identity, sha256 kept for compatibility."""

    blake3 = pw.CharField(primary_key=True, max_length=64)
    sha256 = pw.CharField(max_length=64, index=True)
    size = pw.BigIntegerField()
    first_seen_at = pw.CharField(default=utcnow)
    kind = pw.CharField(null=True)
    width = pw.IntegerField(null=True)
    height = pw.IntegerField(null=True)
    duration = pw.FloatField(null=True)
    video_codec = pw.CharField(null=True)
    frame_rate = pw.FloatField(null=True)
    audio_codec = pw.CharField(null=True)
    rotation = pw.IntegerField(null=True)
    captured_at = pw.CharField(null=True)
    captured_from = pw.CharField(null=True)
    meta_status = pw.CharField(default="pending")  # pending | ok | error
    meta_error = pw.TextField(null=True)


class File(BaseModel):
    """One placed file: where a content lives (source, project, path relative to the project)."""

    source = pw.CharField()
    project = pw.CharField()
    rel_path = pw.CharField()
    size = pw.BigIntegerField()
    mtime_ns = pw.BigIntegerField()
    inode = pw.BigIntegerField()
    # With size, inode and mtime_ns: the stamp the content was hashed at (None: unproven).
    ctime_ns = pw.BigIntegerField(null=True)
    content = pw.ForeignKeyField(Content, column_name="blake3", field="blake3", backref="files")
    uploaded_at = pw.CharField(default=utcnow)
    origin = pw.CharField(default="upload")  # upload | drop | adopted
    tags = pw.TextField(default="[]")  # JSON list of manual tags (normalized, sorted)

    class Meta:
        indexes = (
            (("source", "project", "rel_path"), True),
            (("source", "project", "content"), False),
        )


class Job(BaseModel):
    """A Resolve bridge job waiting for, held by, or finished by a resolve-agent."""

    status = pw.CharField(default="pending", index=True)
    project = pw.CharField()
    new_project_name = pw.CharField(null=True)
    resolve_project = pw.CharField()
    mode = pw.CharField()
    source = pw.CharField()
    media_rel_paths = pw.TextField()  # JSON list
    idempotency_key = pw.CharField(null=True, unique=True)
    claimed_by = pw.CharField(null=True)
    claimed_at = pw.CharField(null=True)
    lease_expires_at = pw.CharField(null=True)
    attempts = pw.IntegerField(default=0)
    created_at = pw.CharField(default=utcnow)
    updated_at = pw.CharField(default=utcnow)
    finished_at = pw.CharField(null=True)
    error = pw.TextField(null=True)
    result = pw.TextField(null=True)  # JSON


class Event(BaseModel):
    """An ingest event (stored, indexed, moved, removed, thumbnail...) for the live page feed."""

    at = pw.CharField(default=utcnow)
    type = pw.CharField()
    source = pw.CharField(null=True)
    project = pw.CharField(null=True)
    rel_path = pw.CharField(null=True)
    data = pw.TextField(default="{}")


MODELS: list[type[BaseModel]] = [Meta, Project, Content, File, Job, Event]


def _migrate_1(db: pw.SqliteDatabase) -> None:
    db.create_tables(MODELS)


def _migrate_2(db: pw.SqliteDatabase) -> None:
    """Manual tags on files (a catalog made by version 1 has no such column)."""
    columns = {column.name for column in db.get_columns(File._meta.table_name)}
    if "tags" not in columns:
        db.execute_sql(
            f"ALTER TABLE \"{File._meta.table_name}\" ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'"
        )


def _migrate_3(db: pw.SqliteDatabase) -> None:
    """Per-project change counters kept by triggers (cached listings know when they are stale)."""
    generations.install(db)


def _migrate_4(db: pw.SqliteDatabase) -> None:
    """The ctime a file was hashed at (rows without it are unproven: re-hashed before trusted)."""
    columns = {column.name for column in db.get_columns(File._meta.table_name)}
    if "ctime_ns" not in columns:
        db.execute_sql(f'ALTER TABLE "{File._meta.table_name}" ADD COLUMN ctime_ns INTEGER')


MIGRATIONS: dict[int, Callable[[pw.SqliteDatabase], None]] = {
    1: _migrate_1,
    2: _migrate_2,
    3: _migrate_3,
    4: _migrate_4,
}


class Catalog:
    """An open catalog database; one per process, shared by its threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = threading.RLock()
        self.db = pw.SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "busy_timeout": 30_000,
                "foreign_keys": 1,
                "synchronous": "normal",
                "cache_size": -16_000,
            },
            timeout=30,
            check_same_thread=False,
        )

    @classmethod
    def open(cls, path: Path) -> Catalog:
        """Open (creating and migrating as needed) the catalog at ``path``."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = cls(path)
            database.initialize(catalog.db)
            catalog.db.connect(reuse_if_open=True)
            catalog.migrate()
        except (pw.DatabaseError, sqlite3.DatabaseError, OSError) as exc:
            raise CatalogError(f"cannot open catalog {path}: {exc}") from exc
        return catalog

    def read_connection(self) -> sqlite3.Connection:
        """A connection of its own for one long read (a streamed listing), usable from any
        thread; its reads see one snapshot (WAL) until it is closed."""
        connection = sqlite3.connect(
            f"file:{quote(str(self.path))}?mode=ro", uri=True, timeout=30, check_same_thread=False
        )
        connection.execute("PRAGMA busy_timeout = 30000")
        connection.execute("BEGIN")
        return connection

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def schema_version(self) -> int:
        row = Meta.get_or_none(Meta.key == "schema_version")
        return int(row.value) if row else 0

    def migrate(self) -> None:
        """Apply pending migrations in one immediate transaction (safe if two processes race)."""
        with self.write():
            current = self.schema_version() if self.db.table_exists("meta") else 0
            if current > SCHEMA_VERSION:
                raise CatalogError(
                    f"catalog schema {current} is newer than this media-sync ({SCHEMA_VERSION})"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](self.db)
                Meta.insert(
                    key="schema_version", value=str(version)
                ).on_conflict_replace().execute()

    @contextmanager
    def write(self) -> Iterator[None]:
        """A short ``BEGIN IMMEDIATE`` write transaction (takes the write lock up front).

        Threads of this process queue on a lock of their own first: sqlite's busy handler
        sleeps in growing steps (up to 100 ms), which made many small writes (a multipart
        request's parts beside the metadata worker) wait far longer than the writes took.
        """
        with self._writer, self.db.atomic("IMMEDIATE"):
            yield

    def status(self) -> dict[str, Any]:
        """Health facts about the catalog."""
        try:
            return {
                "path": str(self.path),
                "ok": True,
                "schema_version": self.schema_version(),
                "files": File.select().count(),
                "contents": Content.select().count(),
            }
        except pw.DatabaseError as exc:
            return {"path": str(self.path), "ok": False, "error": str(exc)}
