"""The listing's queries give the same answers on both engines: names sorted by their bytes,
keyset pages, the name and tag filters, one snapshot for a streamed read, the change counter,
and a cursor of the wrong type refused (PostgreSQL will not compare text with a number)."""

from __future__ import annotations

import pytest

from daemon.catalog import Catalog, listing, projects
from daemon.catalog.listing import MediaQuery
from daemon.catalog.values import Origin
from daemon.errors import InvalidInput

NAMES = ("b.mov", "B.mov", "_x.jpg", "Ä.mov", "a.mov", "a b.MOV", "z.heic", "Z%.mov")
ORIG = "ingest/originals"


@pytest.fixture
def catalog(catalog: Catalog) -> Catalog:
    """The empty catalog of conftest, seeded for this module."""
    with catalog.write():
        projects.ensure(catalog, "primary", "P1-A")
        for index, name in enumerate(NAMES):
            key = f"{index:064x}"
            catalog.models.Content.insert(
                blake3=key, sha256=key, size=index, kind="video"
            ).execute()
            catalog.models.File.insert(
                source="primary", project="P1-A", rel_path=f"{ORIG}/{name}", size=index,
                mtime_ns=index, inode=index, content=key, origin=Origin.DROP,
                tags='["hero"]' if index % 2 else "[]",
            ).execute()  # fmt: skip
    return catalog


def _names(page: dict[str, object]) -> list[str]:
    return [item["name"] for item in page["media"]]  # type: ignore[attr-defined, index]


def test_names_sort_by_their_bytes_and_page_by_cursor(catalog: Catalog) -> None:
    expected = sorted(NAMES, key=lambda n: n.encode())
    whole = listing.list_media(catalog, "primary", "P1-A", MediaQuery(sort="name", order="asc"))
    assert _names(whole) == expected
    paged: list[str] = []
    cursor: str | None = None
    for _ in range(len(NAMES)):
        query = MediaQuery(sort="name", order="asc", limit=3, cursor=cursor)
        page = listing.list_media(catalog, "primary", "P1-A", query)
        paged += _names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == expected


def test_the_name_and_tag_filters(catalog: Catalog) -> None:
    def names(**what: str) -> list[str]:
        query = MediaQuery(sort="name", order="asc", **what)  # type: ignore[arg-type]
        return _names(listing.list_media(catalog, "primary", "P1-A", query))

    assert names(q="B") == ["B.mov", "a b.MOV", "b.mov"]  # the path, lowered: any case
    assert names(q="%") == ["Z%.mov"]
    assert names(tag="hero") == sorted((NAMES[i] for i in (1, 3, 5, 7)), key=str.encode)
    assert names(tag="heic") == ["z.heic"]
    assert listing.count_media(catalog, "primary", "P1-A", MediaQuery(q="mov")) == 6


@pytest.mark.parametrize(
    ("sort", "value"), [("size", "big"), ("size", 1.5), ("size", 2**64), ("name", 7)]
)
def test_a_cursor_of_the_wrong_type_is_refused(catalog: Catalog, sort: str, value: object) -> None:
    cursor = listing._encode(value, 1)
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        listing.list_media(catalog, "primary", "P1-A", MediaQuery(sort=sort, cursor=cursor))


def test_a_streamed_read_sees_one_snapshot_and_its_generation(catalog: Catalog) -> None:
    query = MediaQuery(sort="size", order="asc")
    before = catalog.read_connection()
    try:
        generation = listing.listing_generation(before, "primary", "P1-A")
        with catalog.write():
            catalog.execute("DELETE FROM file WHERE size = ?", [0])
        rows = [
            row
            for batch in listing.iter_rows(catalog, before, "primary", "P1-A", query)
            for row in batch
        ]
        assert len(rows) == len(NAMES)
        assert listing.listing_generation(before, "primary", "P1-A") == generation
    finally:
        before.close()
    after = catalog.read_connection()
    try:
        later = listing.listing_generation(after, "primary", "P1-A")
        rows = [
            row
            for batch in listing.iter_rows(catalog, after, "primary", "P1-A", query)
            for row in batch
        ]
        assert len(rows) == len(NAMES) - 1
    finally:
        after.close()
    assert generation is not None and later is not None
    catalog_id, counted = generation.split(".")
    assert later == f"{catalog_id}.{int(counted) + 1}"
