"""The catalog (peewee) on sqlite or PostgreSQL: opening it safely for several processes, its
models and migrations.

One catalog serves every source: by default the sqlite file in MEDIA_SYNC_STATE_DIR (WAL lets
the ingress and the daemon read while one of them writes), or the PostgreSQL database
MEDIA_SYNC_DATABASE_URL names (several replicas and hosts). Both have one schema and one set of
migrations; writes are short transactions that hold the catalog's one write lock
(``engines.write_lock``); upserts are keyed so that a race between processes ends in the same
rows. The engine-specific parts live in ``engines``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee as pw

from daemon.catalog import engines, migrations
from daemon.catalog.engines import DRIVER_ERRORS, POSTGRESQL, SQLITE, Dialect, ReadConnection
from daemon.catalog.models import Models, define, utcnow
from daemon.errors import CatalogError

if TYPE_CHECKING:
    from daemon.settings import Settings

log = logging.getLogger("media_sync.catalog")
SCHEMA_VERSION = migrations.SCHEMA_VERSION
_OPEN_ERRORS: tuple[type[Exception], ...] = (*DRIVER_ERRORS, OSError)


class Catalog:
    """An open catalog database, shared by a process's threads (each thread has a connection
    of its own). Each Catalog has its own model classes (``models``) bound to its own
    database: two catalogs in one process never mix. Queries live beside it in this package
    (``files``, ``projects``, ``contents``, ``jobs``, ``events``, ``status``, ``listing``,
    ``intake``) and take the Catalog first.

    ``location`` is a sqlite file (a Path) or a ``postgresql://`` URL (a str)."""

    def __init__(self, location: Path | str) -> None:
        self.url = location if isinstance(location, str) and engines.is_url(location) else ""
        self.path: Path | None = None if self.url else Path(location)
        self.location = engines.location_text(location)  # safe to show (no password)
        self._writer = threading.RLock()
        if self.url:
            self.engine, self.dialect = POSTGRESQL, engines.POSTGRESQL_DIALECT
            self.db: pw.Database = engines.postgresql_database(self.url)
        else:
            assert self.path is not None
            self.engine, self.dialect = SQLITE, engines.SQLITE_DIALECT
            self.db = engines.sqlite_database(self.path)
        self.models: Models = define(self.db)
        self.events_added = 0  # by this process (daemon.catalog.events prunes every so many)

    @classmethod
    def open(cls, location: Path | str) -> Catalog:
        """Open (creating and migrating as needed) the catalog at ``location``: a sqlite file
        or a PostgreSQL URL. A catalog that cannot be opened, or whose schema is newer than
        this code, raises CatalogError (one line, no password)."""
        catalog: Catalog | None = None
        try:
            if isinstance(location, Path):
                location.parent.mkdir(parents=True, exist_ok=True)
            catalog = cls(location)
            catalog.db.connect(reuse_if_open=True)
            catalog.migrate()
            log.debug("catalog %s open (%s)", catalog.location, catalog.engine)
        except CatalogError:
            if catalog is not None:
                catalog.close()
            raise
        except _OPEN_ERRORS as exc:
            if catalog is not None:
                catalog.close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            where = engines.location_text(location)
            raise CatalogError(f"cannot open catalog {where}: {reason}") from exc
        return catalog

    @classmethod
    def from_settings(cls, settings: Settings) -> Catalog:
        """Open the catalog the settings name (MEDIA_SYNC_DATABASE_URL, else the sqlite file
        in the state directory)."""
        return cls.open(settings.database_url or settings.catalog_path)

    def read_connection(self) -> ReadConnection:
        """A connection of its own for one long read (a streamed listing), usable from any
        thread; its reads see one snapshot until it is closed (sqlite: a WAL read transaction;
        PostgreSQL: a REPEATABLE READ, READ ONLY transaction)."""
        if self.url:
            return engines.postgresql_reader(self.url)
        assert self.path is not None
        return engines.sqlite_reader(self.path)

    def close(self) -> None:
        """Close the catalog: on PostgreSQL every thread's connection (no thread may use it
        any more), on sqlite the calling thread's (the others' go with their threads)."""
        if isinstance(self.db, engines.PostgresqlDatabase):
            self.db.close_all()
        elif not self.db.is_closed():
            self.db.close()

    def release(self) -> None:
        """Close the calling thread's own connection (each thread opens one): a thread that
        used the catalog does this as it ends."""
        if not self.db.is_closed():
            self.db.close()

    def schema_version(self) -> int:
        row = self.models.Meta.get_or_none(self.models.Meta.key == "schema_version")
        return int(row.value) if row else 0

    def migrate(self) -> None:
        """Apply pending migrations in one write transaction (safe if two processes race)."""
        with self.write():
            migrations.migrate(self.db, self.models, self.dialect)

    @contextmanager
    def write(self) -> Iterator[None]:
        """A short write transaction holding the catalog's one write lock from its start
        (sqlite: ``BEGIN IMMEDIATE``; PostgreSQL: ``engines.write_lock``). Nested, it is a
        savepoint of the outer one.

        Threads of this process queue on a lock of their own first: sqlite's busy handler
        sleeps in growing steps (up to 100 ms), which made many small writes (a multipart
        request's parts beside the metadata worker) wait far longer than the writes took.
        """
        with self._writer:
            if self.db.in_transaction():
                with self.db.atomic():
                    yield
                return
            with self.db.atomic("IMMEDIATE") if self.engine == SQLITE else self.db.atomic():
                engines.write_lock(self.db, self.dialect)
                yield

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run hand-written SQL (``?`` placeholders, whatever the engine) on the calling
        thread's connection; the driver's cursor comes back."""
        return self.db.execute_sql(self.dialect.sql(sql), list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run hand-written SQL (``?`` placeholders) once per row; rows changed."""
        return engines.executemany(self.db, self.dialect.sql(sql), rows)

    def status(self) -> dict[str, Any]:
        """Health facts about the catalog (its location never shows a password)."""
        try:
            return {
                "path": self.location,
                "engine": self.engine,
                "ok": True,
                "schema_version": self.schema_version(),
                "files": self.models.File.select().count(),
                "contents": self.models.Content.select().count(),
            }
        except DRIVER_ERRORS as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return {"path": self.location, "engine": self.engine, "ok": False, "error": first}


__all__ = [
    "POSTGRESQL",
    "SCHEMA_VERSION",
    "SQLITE",
    "Catalog",
    "Dialect",
    "Models",
    "ReadConnection",
    "utcnow",
]
