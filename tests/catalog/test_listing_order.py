"""The capture-time order kept in the file rows (schema 10) on both engines: each file's sort
value is COALESCE(its content's captured_at, its uploaded_at) after every kind of write, the
listing pages by it through the index, a schema 9 catalog is filled in when it migrates, and
the total kept per generation follows every change."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.catalog import Catalog, listing, projects
from daemon.catalog.listing import MediaQuery
from daemon.catalog.values import Origin

ORIG = "ingest/originals"
# (name, captured_at of its content, uploaded_at): ties on the time are broken by id
CLIPS = (
    ("a.mov", "2024-05-01T10:00:00Z", "2025-01-01T00:00:00Z"),
    ("b.mov", None, "2024-06-01T00:00:00Z"),
    ("c.mov", "2024-05-01T10:00:00Z", "2025-01-02T00:00:00Z"),
    ("d.mov", None, "2024-01-01T00:00:00Z"),
    ("e.mov", "2023-12-31T23:59:59Z", "2025-01-03T00:00:00Z"),
)


def _add(catalog: Catalog, index: int, name: str, captured: str | None, uploaded: str) -> None:
    key = f"{index:064x}"
    m = catalog.models
    m.Content.insert(blake3=key, sha256=key, size=index, kind="video", captured_at=captured).on_conflict_ignore().execute()  # fmt: skip
    m.File.insert(
        source="primary", project="P1-A", rel_path=f"{ORIG}/{name}", size=index,
        mtime_ns=index, inode=index, content=key, origin=Origin.DROP, uploaded_at=uploaded,
    ).execute()  # fmt: skip


@pytest.fixture
def catalog(catalog: Catalog) -> Catalog:
    """The empty catalog of conftest, seeded for this module."""
    with catalog.write():
        projects.ensure(catalog, "primary", "P1-A")
        for index, (name, captured, uploaded) in enumerate(CLIPS):
            _add(catalog, index, name, captured, uploaded)
    return catalog


def _expected(catalog: Catalog, descending: bool = True) -> list[str]:
    """The order by COALESCE(captured_at, uploaded_at), then id, computed here from the rows."""
    rows = catalog.execute(
        'SELECT f.id, f.rel_path, c.captured_at, f.uploaded_at FROM "file" AS f '
        "JOIN content AS c ON c.blake3 = f.blake3 WHERE f.project = 'P1-A'"
    ).fetchall()
    keyed = sorted(((cap or up, i, rel.rsplit("/", 1)[-1]) for i, rel, cap, up in rows))
    names = [name for _, _, name in keyed]
    return names[::-1] if descending else names


def _stale(catalog: Catalog) -> list[tuple[str, str | None]]:
    """Files whose kept sort value is not what their rows say."""
    rows = catalog.execute(
        'SELECT f.rel_path, f.sort_captured, c.captured_at, f.uploaded_at FROM "file" AS f '
        "JOIN content AS c ON c.blake3 = f.blake3"
    ).fetchall()
    return [(rel, kept) for rel, kept, cap, up in rows if kept != (cap or up)]


def _walk(catalog: Catalog, order: str, limit: int) -> list[str]:
    names: list[str] = []
    cursor: str | None = None
    for _ in range(len(CLIPS) + 2):
        query = MediaQuery(sort="captured", order=order, limit=limit, cursor=cursor)
        page = listing.list_media(catalog, "primary", "P1-A", query)
        names += [item["name"] for item in page["media"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return names
    raise AssertionError("the pages did not end")


def test_pages_by_capture_time_follow_every_write(catalog: Catalog) -> None:
    assert _stale(catalog) == []
    assert _walk(catalog, "desc", 2) == _expected(catalog) == ["b.mov", "c.mov", "a.mov", "d.mov", "e.mov"]  # fmt: skip
    assert _walk(catalog, "asc", 3) == _expected(catalog, descending=False)
    m = catalog.models
    with catalog.write():  # the metadata reader finds a capture time; another is corrected
        m.Content.update(captured_at="2026-01-01T00:00:00Z").where(m.Content.size == 3).execute()
        m.Content.update(captured_at=None).where(m.Content.size == 0).execute()
    assert _stale(catalog) == []
    assert _walk(catalog, "desc", 2) == _expected(catalog) == ["d.mov", "a.mov", "b.mov", "c.mov", "e.mov"]  # fmt: skip
    with catalog.write():  # a file re-hashed to other bytes, another re-uploaded
        m.File.update(content=f"{4:064x}").where(m.File.rel_path == f"{ORIG}/b.mov").execute()
        m.File.update(uploaded_at="2020-01-01T00:00:00Z").where(
            m.File.rel_path == f"{ORIG}/a.mov"
        ).execute()
    assert _stale(catalog) == []
    assert _walk(catalog, "desc", 4) == _expected(catalog)
    assert _walk(catalog, "asc", 1) == _expected(catalog, descending=False)


def test_the_total_follows_every_change(catalog: Catalog) -> None:
    query = MediaQuery(limit=2)
    assert listing.list_media(catalog, "primary", "P1-A", query)["total"] == len(CLIPS)
    assert listing.list_media(catalog, "primary", "P1-A", query)["total"] == len(CLIPS)
    with catalog.write():
        _add(catalog, 9, "new.mov", None, "2025-02-01T00:00:00Z")
    assert listing.list_media(catalog, "primary", "P1-A", query)["total"] == len(CLIPS) + 1
    with catalog.write():
        catalog.models.File.delete().where(catalog.models.File.size < 2).execute()
    assert listing.list_media(catalog, "primary", "P1-A", query)["total"] == len(CLIPS) - 1


def test_a_schema_9_catalog_fills_in_the_capture_order(tmp_path: Path) -> None:
    """sqlite (PostgreSQL catalogs of schema 9 take the same step): the column, its triggers
    and the indexes are added, and every file's value filled in from its rows."""
    path = tmp_path / "catalog.sqlite3"
    old = Catalog.open(path)
    try:
        with old.write():
            projects.ensure(old, "primary", "P1-A")
            for index, (name, captured, uploaded) in enumerate(CLIPS):
                _add(old, index, name, captured, uploaded)
            for trigger in ("file_sort_captured_insert", "file_sort_captured_update",
                            "content_sort_captured"):  # fmt: skip
                old.execute(f"DROP TRIGGER {trigger}")
            for column in ("sort_captured", "uploaded_at", "size"):
                old.execute(f'DROP INDEX "file_source_project_{column}_id"')
            old.execute('ALTER TABLE "file" DROP COLUMN sort_captured')
            old.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    finally:
        old.close()
    again = Catalog.open(path)
    try:
        assert _stale(again) == []
        indexes = {i.name for i in again.db.get_indexes("file")}
        assert {f"file_source_project_{c}_id" for c in ("sort_captured", "uploaded_at", "size")} <= indexes  # fmt: skip
        assert _walk(again, "desc", 2) == _expected(again)
        with again.write():
            _add(again, 9, "new.mov", "2030-01-01T00:00:00Z", "2025-02-01T00:00:00Z")
        assert _stale(again) == []
        assert _walk(again, "desc", 2)[0] == "new.mov"
    finally:
        again.close()
