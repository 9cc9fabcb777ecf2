"""The catalog read from outside, as another process sees it: read-only SQL (``?`` placeholders)
on the test's engine: its PostgreSQL database when the ``database_url`` fixture put one in the
environment, else the sqlite file in the state dir (opened read-only)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

import psycopg


def query(state: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the test's catalog (``<state>/catalog.sqlite3`` or the test's
    PostgreSQL database); none while the catalog or its tables do not exist yet (a daemon
    still starting)."""
    url = os.environ.get("MEDIA_SYNC_DATABASE_URL", "")
    if url:
        return _postgresql(url, sql, params)
    path = state / "catalog.sqlite3"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
        try:
            return list(db.execute(sql, params))
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def _postgresql(url: str, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        try:
            return list(connection.execute(sql.replace("?", "%s"), params).fetchall())
        except psycopg.errors.UndefinedTable:
            return []
