"""The catalog's sqlite file read from outside, as another process sees it: read-only SQL."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any


def query(state: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over ``<state>/catalog.sqlite3``, opened read-only; none while the file
    or its tables do not exist yet (a daemon still starting)."""
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
