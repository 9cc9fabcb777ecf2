"""The two catalog engines, sqlite and PostgreSQL: opening each, its write lock, its long reads,
and the few SQL words that differ (everything else in the package is written once for both).

sqlite: one file in the state directory, WAL, ``BEGIN IMMEDIATE`` writes (one writer at a time
across processes). PostgreSQL (psycopg 3, through peewee's ``Psycopg3Database``): every write
transaction first takes ``pg_advisory_xact_lock(WRITE_LOCK)``, so writes queue exactly as they
do on sqlite (see ``write_lock``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import peewee as pw
import psycopg
from playhouse.postgres_ext import Psycopg3Database
from psycopg import IsolationLevel

from daemon.settings.database import database_name, redact

SQLITE = "sqlite"
POSTGRESQL = "postgresql"

# The one advisory lock every catalog write takes on PostgreSQL ("media-sync" in ASCII, as a
# 64-bit key); other advisory locks (a watcher per root) use keys of their own.
WRITE_LOCK = 0x6D656469612D73

# Errors a database driver raises (peewee wraps most, not all: a raw cursor's are the driver's).
DRIVER_ERRORS: tuple[type[Exception], ...] = (pw.DatabaseError, sqlite3.Error, psycopg.Error)


@dataclass(frozen=True)
class Dialect:
    """The SQL words that differ between the engines, for the package's hand-written SQL
    (written with ``?`` placeholders: ``sql`` turns them into the engine's own)."""

    name: str
    param: str  # the driver's placeholder
    skip_index: str  # a column prefix telling the planner not to use its index (sqlite: "+")
    no_index: str  # after a table name: scan it (sqlite: " NOT INDEXED")

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in the engine's own style (the text has no other
        ``?`` nor ``%``)."""
        return text if self.param == "?" else text.replace("?", self.param)


SQLITE_DIALECT = Dialect(SQLITE, "?", "+", " NOT INDEXED")
POSTGRESQL_DIALECT = Dialect(POSTGRESQL, "%s", "", "")


def is_url(location: Path | str) -> bool:
    """Does ``location`` name a PostgreSQL database (else: a sqlite file)?"""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def sqlite_database(path: Path) -> pw.SqliteDatabase:
    """The sqlite catalog file, opened for several threads and processes (WAL)."""
    return pw.SqliteDatabase(
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


class PostgresqlDatabase(Psycopg3Database):
    """peewee's psycopg 3 database, one connection per thread (as with sqlite), that also
    keeps track of them: the connections of threads that ended are closed as new ones open
    (a server's worker threads come and go; the server's connection slots must not leak), all
    of them by ``close_all``, and a thread's connection the server dropped (a restart, a
    failover) is replaced by a new one at its next statement outside a transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opened: list[tuple[threading.Thread, Any]] = []
        self._opened_lock = threading.Lock()

    def _connect(self) -> Any:
        connection = super()._connect()
        with self._opened_lock:
            ended = [(t, c) for t, c in self._opened if not t.is_alive()]
            self._opened = [(t, c) for t, c in self._opened if t.is_alive()]
            self._opened.append((threading.current_thread(), connection))
        for _, old in ended:
            old.close()
        return connection

    def _close(self, conn: Any) -> None:
        with self._opened_lock:
            self._opened = [(t, c) for t, c in self._opened if c is not conn]
        conn.close()

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        conn = None if self.is_closed() else self._state.conn
        if conn is not None and (conn.closed or conn.broken) and not self.in_transaction():
            self.close()  # reconnects below (peewee's autoconnect)
        return super().cursor(*args, **kwargs)

    def close_all(self) -> None:
        """Close every thread's connection (the catalog is closing: no thread uses it)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for _, connection in opened:
            connection.close()
        self._state.reset()


# A writer waits this long for the write lock (or a row lock) before it fails, as sqlite's
# busy timeout: a holder stuck for longer (a hung NAS inside an ingest) is an error, not a hang.
LOCK_TIMEOUT_MS = 30_000


def postgresql_database(url: str) -> PostgresqlDatabase:
    """A PostgreSQL catalog: autocommit outside the transactions peewee begins."""
    return PostgresqlDatabase(
        database_name(url),
        conninfo=_conninfo(url),
        connect_timeout=10,
        application_name="media-sync",
        options=f"-c lock_timeout={LOCK_TIMEOUT_MS}",
    )


def _conninfo(url: str) -> str:
    """libpq takes both schemes; peewee only recognises ``postgresql://``."""
    return "postgresql://" + url.partition("://")[2]


def write_lock(db: pw.Database, dialect: Dialect) -> None:
    """Take the engine's catalog-wide write lock inside the transaction just begun.

    sqlite's ``BEGIN IMMEDIATE`` already holds it. On PostgreSQL this is a transaction-scoped
    advisory lock on one fixed key, taken before anything is read: every decision an ingest
    makes in the transaction (is this content known? is this place free?) reads the rows the
    previous writer committed (READ COMMITTED takes a snapshot per statement, after the lock),
    and nothing can change them before it commits. It is released by the commit or rollback
    itself, also when the process dies. Why not SERIALIZABLE: a serialisation failure would
    have to be retried, and an ingest that already renamed a file into place cannot simply
    run again; why not row locks: the rows a decision depends on may not exist yet (two
    uploads of the same new bytes). One writer at a time is what sqlite gives too, and every
    write is short; the ids of rows (events) are then handed out in commit order, which the
    live feed's "newer than id n" relies on.
    """
    if dialect.name == POSTGRESQL:
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])


def executemany(db: pw.Database, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """Run one statement for many rows on the calling thread's connection; rows changed."""
    if not rows:
        return 0
    cursor = db.cursor()
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def reset_sequences(db: pw.Database, dialect: Dialect, tables: Sequence[str]) -> None:
    """After rows were inserted with their ids: the next id of each table follows the largest
    (PostgreSQL's sequences do not see explicit ids; sqlite needs nothing)."""
    if dialect.name != POSTGRESQL:
        return
    for table in tables:
        db.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
        )


class ReadConnection:
    """A connection of its own for one long read, usable from any thread: everything read
    through it sees one snapshot of the catalog, taken when it was opened, until ``close``."""

    def __init__(self, connection: Any, param: str, streaming: bool) -> None:
        self._connection = connection
        self.param = param
        self._streaming = streaming
        self._cursors: list[Any] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A cursor over ``sql`` (in the engine's placeholder style, ``param``)."""
        return self._connection.execute(sql, params)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """A cursor whose rows are fetched as they are read (``fetchmany``), not all at once."""
        if not self._streaming:
            return self._connection.execute(sql, params)
        cursor = self._connection.cursor(name=f"media_sync_read_{len(self._cursors) + 1}")
        self._cursors.append(cursor)
        cursor.itersize = 2000
        return cursor.execute(sql, params)

    def close(self) -> None:
        for cursor in self._cursors:
            with contextlib.suppress(*DRIVER_ERRORS):  # the connection may be gone already
                cursor.close()
        self._connection.close()


def sqlite_reader(path: Path) -> ReadConnection:
    connection = sqlite3.connect(
        f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30, check_same_thread=False
    )
    connection.execute("PRAGMA busy_timeout = 30000")
    connection.execute("BEGIN")
    return ReadConnection(connection, "?", streaming=False)


def postgresql_reader(url: str) -> ReadConnection:
    """A REPEATABLE READ, READ ONLY transaction whose snapshot is taken at once."""
    connection = psycopg.connect(
        _conninfo(url), connect_timeout=10, application_name="media-sync-read"
    )
    connection.isolation_level = IsolationLevel.REPEATABLE_READ
    connection.read_only = True
    connection.execute("SELECT 1")  # the snapshot is taken by the first statement
    return ReadConnection(connection, "%s", streaming=True)


def location_text(location: Path | str) -> str:
    """Where a catalog is, safe to log and show (a URL's password hidden)."""
    return redact(location) if isinstance(location, str) else str(location)
