"""The pre-upload check's reads: a project's files holding some contents, or of some sizes.

Each is one statement for a whole list (up to MAX_KEYS values bound in one ``IN``; sqlite
and PostgreSQL take that many), never one query per item: the contents through their sha256
index, the sizes through the project's (source, project, size) index. Files of a size are
first picked by name (``candidates``: from an index of the project's names kept while its rows
do not change, or from its files of those sizes): a pre-check needs the whole row, and the
lstat of its file, only for those whose name (or capture time) can decide an item
(``by_ids``).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.catalog.listing import PerGeneration, generation_now

if TYPE_CHECKING:
    from daemon.catalog import Catalog

Stamp = tuple[int, int, int, int]  # size, inode, mtime_ns, ctime_ns
MAX_KEYS = 10_000  # values bound in one statement (the pre-check's cap on items per call)

_COLUMNS = (
    "f.rel_path, f.size, f.inode, f.mtime_ns, f.ctime_ns, c.blake3, c.sha256, c.captured_at, "
    "c.captured_from"
)


@dataclass(frozen=True)
class Held:
    """A file of the project, with what its content's row says (a plain value)."""

    rel_path: str
    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int | None
    blake3: str
    sha256: str
    captured_at: str | None  # ISO-8601 UTC, as the metadata reader stored it
    captured_from: str | None  # exif | quicktime | ... | mtime (then it is no capture time)

    @property
    def stamp(self) -> Stamp | None:
        """The stamp the bytes were hashed at; None when unproven (no ctime recorded)."""
        if self.ctime_ns is None:
            return None
        return self.size, self.inode, self.mtime_ns, self.ctime_ns


def _tables(catalog: Catalog) -> tuple[str, str]:
    m = catalog.models
    return str(m.File._meta.table_name), str(m.Content._meta.table_name)


def _parts(keys: Collection[object]) -> Iterator[Sequence[object]]:
    ordered = sorted(set(keys))  # type: ignore[type-var]
    for start in range(0, len(ordered), MAX_KEYS):
        yield ordered[start : start + MAX_KEYS]


def holding(catalog: Catalog, source: str, project: str, sha256s: Collection[str]) -> list[Held]:
    """The project's files holding a content with one of these sha256 (oldest first)."""
    files, contents = _tables(catalog)
    found: list[Held] = []
    for part in _parts(sha256s):
        marks = ",".join("?" * len(part))
        skip = catalog.dialect.skip_index  # the contents' sha256 index, then the files' blake3
        cursor = catalog.execute(
            f'SELECT {_COLUMNS} FROM "{contents}" AS c JOIN "{files}" AS f '
            f"ON f.blake3 = c.blake3 WHERE c.sha256 IN ({marks}) AND {skip}f.source = ? "
            f"AND {skip}f.project = ? ORDER BY f.id",
            [*part, source, project],
        )
        found.extend(Held(*record) for record in cursor.fetchall())
    return found


def sized_names(
    catalog: Catalog, source: str, project: str, sizes: Collection[int]
) -> list[tuple[int, str, int]]:
    """(id, rel_path, size) of the project's files of one of these sizes (no content row read:
    the caller picks the few that matter by name, and reads those with ``by_ids``)."""
    files = _tables(catalog)[0]
    found: list[tuple[int, str, int]] = []
    for part in _parts(sizes):
        marks = ",".join("?" * len(part))
        cursor = catalog.execute(
            f'SELECT f.id, f.rel_path, f.size FROM "{files}" AS f '
            f"WHERE f.source = ? AND f.project = ? AND f.size IN ({marks})",
            [source, project, *part],
        )
        found.extend(cursor.fetchall())  # (int, str, int) as both drivers give them
    return found


@dataclass(frozen=True)
class _Names:
    """The ids of a project's files by (name, size) and by size."""

    by_name: dict[tuple[str, int], list[int]]
    by_size: dict[int, list[int]]


_INDEXES = PerGeneration(4)  # of the projects last checked twice at one generation
_last: dict[tuple[str, str], str] = {}  # (source, project): the generation its last check read
_last_lock = threading.Lock()
_LAST = 4096


def _names(catalog: Catalog, source: str, project: str) -> _Names:
    files = _tables(catalog)[0]
    cursor = catalog.execute(
        f'SELECT f.id, f.rel_path, f.size FROM "{files}" AS f WHERE f.source = ? AND f.project = ?',
        [source, project],
    )
    by_name: dict[tuple[str, int], list[int]] = {}
    by_size: dict[int, list[int]] = {}
    for file_id, rel_path, size in cursor.fetchall():
        by_name.setdefault((rel_path.rsplit("/", 1)[-1], size), []).append(file_id)
        by_size.setdefault(size, []).append(file_id)
    return _Names(by_name, by_size)


def candidates(
    catalog: Catalog,
    source: str,
    project: str,
    names: Collection[tuple[str, int]],
    timed: Collection[int],
) -> list[int]:
    """Ids of the project's files of one of these (name, size) pairs (the name is the path's
    last part), or of one of the ``timed`` sizes whatever their name. A project checked again
    at the generation its last check read (its rows unchanged) gets an index of its names kept
    in memory until they change; otherwise only its files of those sizes are read."""
    generation = generation_now(catalog, source, project)
    index: _Names | None = None
    if generation is not None:
        index = _INDEXES.kept(generation, source, project, ())
        with _last_lock:
            again = _last.pop((source, project), None) == generation
            _last[(source, project)] = generation
            while len(_last) > _LAST:
                del _last[next(iter(_last))]
        if index is None and again:
            index = _INDEXES.get(
                catalog, source, project, (), lambda: _names(catalog, source, project)
            )
    found: set[int] = set()
    if index is not None:
        for pair in names:
            found.update(index.by_name.get(pair, ()))
        for size in timed:
            found.update(index.by_size.get(size, ()))
        return sorted(found)
    wanted, timed = set(names), set(timed)
    sizes = {size for _, size in wanted} | timed
    for file_id, rel_path, size in sized_names(catalog, source, project, sizes):
        if size in timed or (rel_path.rsplit("/", 1)[-1], size) in wanted:
            found.add(file_id)
    return sorted(found)


def by_ids(catalog: Catalog, source: str, project: str, ids: Collection[int]) -> list[Held]:
    """The project's files of these ids, with their contents' rows (oldest first). Read by
    primary key alone (the planner, short of statistics, might otherwise walk the project's
    rows to filter them by id); the place is checked here."""
    files, contents = _tables(catalog)
    records: list[tuple[object, ...]] = []
    for part in _parts(ids):
        marks = ",".join("?" * len(part))
        cursor = catalog.execute(
            f'SELECT f.id, f.source, f.project, {_COLUMNS} FROM "{files}" AS f '
            f'JOIN "{contents}" AS c ON c.blake3 = f.blake3 WHERE f.id IN ({marks})',
            part,
        )
        records.extend(r for r in cursor.fetchall() if r[1] == source and r[2] == project)
    records.sort(key=lambda record: int(record[0]))  # type: ignore[call-overload]
    return [Held(*record[3:]) for record in records]  # type: ignore[arg-type]
