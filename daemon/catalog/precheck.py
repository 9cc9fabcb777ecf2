"""The pre-upload check's reads: a project's files holding some contents, or of some sizes.

Each is one statement for a whole list (up to MAX_KEYS values bound in one ``IN``; sqlite
and PostgreSQL take that many), never one query per item: the contents through their sha256
index, the sizes through the project's own rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def sized(catalog: Catalog, source: str, project: str, sizes: Collection[int]) -> list[Held]:
    """The project's files of one of these sizes (oldest first)."""
    files, contents = _tables(catalog)
    found: list[Held] = []
    for part in _parts(sizes):
        marks = ",".join("?" * len(part))
        cursor = catalog.execute(
            f'SELECT {_COLUMNS} FROM "{files}" AS f JOIN "{contents}" AS c '
            f"ON c.blake3 = f.blake3 WHERE f.source = ? AND f.project = ? "
            f"AND f.size IN ({marks}) ORDER BY f.id",
            [source, project, *part],
        )
        found.extend(Held(*record) for record in cursor.fetchall())
    return found
