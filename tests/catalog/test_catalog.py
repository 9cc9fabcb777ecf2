"""The sqlite catalog: WAL, busy timeout, schema version, refusal of newer schemas, two writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from daemon.catalog import SCHEMA_VERSION, Catalog
from daemon.errors import CatalogError
from tests.support.server import REPO


def test_wal_busy_timeout_and_schema_version(tmp_path: Path) -> None:
    catalog = Catalog.open(tmp_path / "state" / "catalog.sqlite3")
    try:
        assert catalog.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert catalog.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert catalog.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert catalog.schema_version() == SCHEMA_VERSION == 8
    finally:
        catalog.close()
    # The WAL mode is persistent in the file, seen by a plain sqlite3 connection too.
    with sqlite3.connect(tmp_path / "state" / "catalog.sqlite3") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_twice_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog.open(path).close()
    again = Catalog.open(path)
    try:
        assert again.schema_version() == 8
        Meta = again.models.Meta
        assert [r.value for r in Meta.select().where(Meta.key == "schema_version")] == ["8"]
    finally:
        again.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogError, match="99"):
        Catalog.open(path)


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from daemon.catalog import Catalog, events
    catalog = Catalog.open(Path(sys.argv[1]))
    for i in range(300):
        with catalog.write():
            events.add(catalog, "test", sys.argv[2], None, str(i), {})
    catalog.close()
    print("done")
    """
)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    Catalog.open(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
        assert out.strip() == "done"
    with sqlite3.connect(path) as raw:
        counts = dict(raw.execute("SELECT source, COUNT(*) FROM event GROUP BY source").fetchall())
    assert counts == {"a": 300, "b": 300}
