"""The pre-check's candidates on both engines: the files of an item's name and size (or of its
size, for an item carrying a time), the same whether read by size or from the index of names
a project checked twice at one generation keeps, and never stale after its rows change."""

from __future__ import annotations

from daemon.catalog import Catalog, precheck, projects
from daemon.catalog.values import Origin

PLACES = ("ingest/originals/a.mov", "ingest/originals/2024/a.mov", "b.mov", "ingest/c.mov")


def _add(catalog: Catalog, index: int, rel_path: str, size: int, project: str = "P1-A") -> int:
    key = f"{index:064x}"
    m = catalog.models
    m.Content.insert(blake3=key, sha256=key, size=size, kind="video").execute()
    return int(
        m.File.insert(
            source="primary", project=project, rel_path=rel_path, size=size, mtime_ns=index,
            inode=index, content=key, origin=Origin.DROP,
        ).execute()
    )  # fmt: skip


def test_candidates_by_name_and_size_or_by_time(catalog: Catalog) -> None:
    with catalog.write():
        projects.ensure(catalog, "primary", "P1-A")
        projects.ensure(catalog, "primary", "P2-B")
        ids = [_add(catalog, i, rel, 100) for i, rel in enumerate(PLACES)]
        _add(catalog, 8, "ingest/originals/a.mov", 100, project="P2-B")  # another project
        _add(catalog, 9, "ingest/originals/d.mov", 200)

    def ask() -> tuple[list[int], list[int], list[int]]:
        return (
            precheck.candidates(catalog, "primary", "P1-A", [("a.mov", 100)], []),
            precheck.candidates(catalog, "primary", "P1-A", [("a.mov", 200), ("b.mov", 7)], []),
            precheck.candidates(catalog, "primary", "P1-A", [("z.mov", 100)], [100]),
        )

    expected = ([ids[0], ids[1]], [], ids)
    assert ask() == expected  # read by size (the first check at this generation)
    assert ask() == expected  # the second builds the index of names
    assert ask() == expected  # from the index
    with catalog.write():
        added = _add(catalog, 10, "elsewhere/a.mov", 100)
    assert ask() == ([ids[0], ids[1], added], [], [*ids, added])  # the change is seen at once
    assert ask() == ([ids[0], ids[1], added], [], [*ids, added])
    with catalog.write():
        catalog.models.File.delete().where(catalog.models.File.id == ids[1]).execute()
    after = ([ids[0], added], [], [ids[0], ids[2], ids[3], added])
    assert ask() == after
    assert ask() == after
