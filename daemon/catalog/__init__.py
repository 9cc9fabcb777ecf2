"""The sqlite catalog (peewee): opening it safely for two processes, its models and migrations.

One catalog in MEDIA_SYNC_STATE_DIR serves every source. WAL lets the ingress and the daemon
read while one of them writes; writes are short ``BEGIN IMMEDIATE`` transactions; upserts are
keyed so that a race between processes ends in the same rows.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee as pw

from daemon.catalog import migrations
from daemon.catalog.models import Models, define, utcnow
from daemon.errors import CatalogError

SCHEMA_VERSION = migrations.SCHEMA_VERSION


class Catalog:
    """An open catalog database, shared by a process's threads. Each Catalog has its own model
    classes (``models``) bound to its own database: two catalogs in one process never mix.
    Queries live beside it in this package (``files``, ``projects``, ``contents``, ``jobs``,
    ``events``, ``status``, ``listing``, ``intake``) and take the Catalog first."""

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
        self.models: Models = define(self.db)
        self.events_added = 0  # by this process (daemon.catalog.events prunes every so many)

    @classmethod
    def open(cls, path: Path) -> Catalog:
        """Open (creating and migrating as needed) the catalog at ``path``."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = cls(path)
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

    def release(self) -> None:
        """Close the calling thread's own connection (each thread opens one): a thread that
        used the catalog does this as it ends."""
        self.close()

    def schema_version(self) -> int:
        row = self.models.Meta.get_or_none(self.models.Meta.key == "schema_version")
        return int(row.value) if row else 0

    def migrate(self) -> None:
        """Apply pending migrations in one immediate transaction (safe if two processes race)."""
        with self.write():
            migrations.migrate(self.db, self.models)

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
                "files": self.models.File.select().count(),
                "contents": self.models.Content.select().count(),
            }
        except pw.DatabaseError as exc:
            return {"path": str(self.path), "ok": False, "error": str(exc)}


__all__ = ["SCHEMA_VERSION", "Catalog", "Models", "utcnow"]
