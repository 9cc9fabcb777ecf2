"""The test's catalog from outside, on either engine, as another process sees it: a connection
of its own to read or change rows, to hold the write lock, or to lose the whole catalog."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from daemon.catalog import Catalog
from daemon.settings import Settings


def location(settings: Settings) -> Path | str:
    """Where the settings' catalog is (the sqlite file or the PostgreSQL URL)."""
    return settings.database_url or settings.catalog_path


@contextlib.contextmanager
def other_process(settings: Settings) -> Iterator[Catalog]:
    """The catalog opened afresh, with connections of its own (nothing migrated or cached):
    what another process would see and do."""
    catalog = Catalog(location(settings))
    try:
        yield catalog
    finally:
        catalog.close()


def query(settings: Settings, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders on both engines), read by another connection."""
    with other_process(settings) as catalog:
        return [tuple(row) for row in catalog.execute(sql, params).fetchall()]


def change(settings: Settings, sql: str, *params: object) -> None:
    """Run ``sql`` (``?`` placeholders) in a write transaction of another connection."""
    with other_process(settings) as catalog, catalog.write():
        catalog.execute(sql, params)


@contextlib.contextmanager
def write_lock_held(settings: Settings) -> Iterator[None]:
    """Another connection holds the catalog's write lock (sqlite: BEGIN IMMEDIATE; PostgreSQL:
    the advisory write lock) until the block ends: writers elsewhere wait."""
    with other_process(settings) as catalog, catalog.write():
        yield


def lose_catalog(settings: Settings) -> None:
    """Make the catalog gone: the sqlite file (and its WAL) deleted, or every table of the
    PostgreSQL database dropped. The next open makes an empty catalog."""
    if not settings.database_url:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.catalog_path}{suffix}").unlink(missing_ok=True)
        return
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
