"""The catalog on each engine: schema version, refusal of newer schemas (also at start-up),
two writing processes, 64-bit values, long names; sqlite's WAL and busy timeout."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import peewee as pw
import psycopg
import pytest

from daemon.catalog import SCHEMA_VERSION, Catalog, events, files, intake, projects
from daemon.catalog.values import Origin
from daemon.errors import CatalogError
from tests.support.env import env_for, run_cli
from tests.support.postgres import PostgresServer
from tests.support.server import REPO
from tests.support.waiting import wait_until

Locate = Callable[[str], Path | str]


def test_wal_busy_timeout_and_schema_version(tmp_path: Path) -> None:
    """sqlite only by design: WAL and the busy timeout are sqlite's own pragmas."""
    catalog = Catalog.open(tmp_path / "state" / "catalog.sqlite3")
    try:
        assert catalog.db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert catalog.db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert catalog.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert catalog.schema_version() == SCHEMA_VERSION
    finally:
        catalog.close()
    # The WAL mode is persistent in the file, seen by a plain sqlite3 connection too.
    with sqlite3.connect(tmp_path / "state" / "catalog.sqlite3") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_opening_twice_is_idempotent(locate: Locate) -> None:
    Catalog.open(locate("c")).close()
    again = Catalog.open(locate("c"))
    try:
        assert again.schema_version() == SCHEMA_VERSION
        Meta = again.models.Meta
        rows = [r.value for r in Meta.select().where(Meta.key == "schema_version")]
        assert rows == [str(SCHEMA_VERSION)]
        assert len(Meta.get(Meta.key == "catalog_id").value) == 16
    finally:
        again.close()


def _make_newer(location: Path | str) -> None:
    catalog = Catalog.open(location)
    try:
        with catalog.write():
            catalog.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    finally:
        catalog.close()


def test_newer_schema_is_refused(locate: Locate) -> None:
    _make_newer(locate("c"))
    with pytest.raises(CatalogError, match="schema 99 is newer than this media-sync"):
        Catalog.open(locate("c"))


def test_newer_schema_stops_start_up_with_one_line(
    roots: tuple[Path, Path], database_url: str
) -> None:
    root, state = roots
    _make_newer(database_url or state / "catalog.sqlite3")
    done = run_cli(["daemon"], env_for(root, state), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"media-sync: catalog schema 99 is newer than this media-sync ({SCHEMA_VERSION})"
    ]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from daemon.catalog import Catalog, events
    where = sys.argv[1]
    catalog = Catalog.open(where if "://" in where else Path(where))
    for i in range(300):
        with catalog.write():
            events.add(catalog, "test", sys.argv[2], None, str(i), {})
    catalog.close()
    print("done")
    """
)


def test_two_processes_write_at_once(locate: Locate) -> None:
    where = locate("c")
    Catalog.open(where).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(where), name],
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
    catalog = Catalog.open(where)
    try:
        stored = events.after(catalog, 0, 10_000)
        counts = {name: [e.rel_path for e in stored if e.source == name] for name in "ab"}
        assert counts == {name: [str(i) for i in range(300)] for name in "ab"}
        assert [e.id for e in stored] == sorted(e.id for e in stored)
    finally:
        catalog.close()


def test_64_bit_values_and_long_paths_round_trip(locate: Locate) -> None:
    catalog = Catalog.open(locate("c"))
    big = 2**63 - 1
    rel = "ingest/originals/" + "/".join(["a-rather-long-folder-name"] * 20) + "/clip.mov"
    try:
        with catalog.write():
            projects.ensure(catalog, "primary", "P1-A")
            catalog.models.Content.insert(blake3="b" * 64, sha256="s" * 64, size=big).execute()
            catalog.models.File.insert(
                source="primary", project="P1-A", rel_path=rel, size=big, mtime_ns=big,
                inode=big, ctime_ns=big, content="b" * 64, origin=Origin.DROP,
            ).execute()  # fmt: skip
        found = files.find(catalog, "primary", "P1-A", rel)
        assert len(rel) > 255
        assert found is not None
        assert (found.size, found.mtime_ns, found.inode, found.ctime_ns) == (big, big, big, big)
    finally:
        catalog.close()


def test_on_postgresql_a_write_waits_for_the_one_in_progress_and_reads_what_it_wrote(
    postgres_server: PostgresServer,
) -> None:
    """PostgreSQL only by design (sqlite's BEGIN IMMEDIATE is sqlite's own): the advisory write
    lock queues a second writer (another connection, as another process) until the first
    commits, and what it then reads inside its transaction includes the first one's rows."""
    with postgres_server.database() as url:
        first, second = Catalog.open(url), Catalog(url)
        seen: list[int] = []

        def later_writer() -> None:
            try:
                with second.write():
                    seen.append(len(events.after(second, 0)))
                    events.add(second, "test", "second", None, "b", {})
            finally:
                second.release()

        writer = threading.Thread(target=later_writer)
        try:
            with first.write():
                events.add(first, "test", "first", None, "a", {})
                writer.start()
                wait_until(
                    lambda: _advisory_waiters(url) == 1, 10, what="the second writer waiting"
                )
                assert seen == []
            writer.join(30)
            assert not writer.is_alive()
            assert seen == [1]
            assert [e.source for e in events.after(first, 0)] == ["first", "second"]
        finally:
            first.close()
            second.close()


def _advisory_waiters(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()
        return int(row[0]) if row else 0


def test_on_postgresql_a_dropped_connection_is_replaced(postgres_server: PostgresServer) -> None:
    """PostgreSQL only by design (a sqlite file has no server to lose): a connection the server
    ended (a restart, a failover) fails the statement running on it, and the next one runs on
    a new connection."""
    with postgres_server.database() as url:
        catalog = Catalog.open(url)
        try:
            assert catalog.status()["ok"] is True
            with postgres_server.admin() as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [url.rsplit("/", 1)[1]],
                ).fetchall()
            assert ended == [(True,)]
            failed = catalog.status()
            assert failed["ok"] is False and failed["engine"] == "postgresql"
            assert catalog.status()["ok"] is True
            with catalog.write():
                events.add(catalog, "test", "after", None, "x", {})
            assert [e.source for e in events.after(catalog, 0)] == ["after"]
        finally:
            catalog.close()


def test_a_full_disk_is_recognised_from_either_engine() -> None:
    """sqlite's "database or disk is full" and PostgreSQL's disk_full (SQLSTATE 53100), raw or
    as peewee raises it, are the catalog's disk being full (a 507 to an uploader)."""
    raw = psycopg.errors.DiskFull("could not extend file: No space left on device")
    try:
        try:
            raise raw
        except psycopg.Error as exc:
            raise pw.OperationalError(exc) from None
    except pw.OperationalError as wrapped:
        through_peewee = wrapped
    assert intake.is_full(raw) and intake.is_full(through_peewee)
    assert intake.is_full(sqlite3.OperationalError("database or disk is full"))
    assert not intake.is_full(psycopg.errors.LockNotAvailable("lock timeout"))
