"""Querying a project's indexed media for the explorer: filter, sort, keyset pages or every row."""

from __future__ import annotations

import base64
import collections
import functools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import peewee as pw

from daemon.catalog.engines import DRIVER_ERRORS, ReadConnection
from daemon.errors import InvalidInput
from daemon.mediatypes import MEDIA_TYPES
from daemon.tags import derived_tags, normalize_tags

if TYPE_CHECKING:
    from daemon.catalog import Catalog
    from daemon.catalog.models import Models

SORTS = {"captured", "name", "uploaded", "size"}
KINDS = {"video", "image", "audio"}
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
BATCH = 2000
_MAX_INT = 2**63 - 1
T = TypeVar("T")


def _columns(m: Models) -> tuple[Any, ...]:
    """The columns every listing reads, in this order (the row tuples below follow it)."""
    return (
        m.File.id,
        m.File.rel_path,
        m.File.size,
        m.File.uploaded_at,
        m.File.tags,
        m.File.mtime_ns,
        m.Content.sha256,
        m.Content.blake3,
        m.Content.kind,
        m.Content.width,
        m.Content.height,
        m.Content.duration,
        m.Content.video_codec,
        m.Content.frame_rate,
        m.Content.audio_codec,
        m.Content.rotation,
        m.Content.captured_at,
        m.Content.captured_from,
        m.Content.meta_status,
        m.Content.meta_error,
        m.File.duplicate_of,
    )


@dataclass(frozen=True)
class MediaQuery:
    """What the explorer asks for; ``paged`` is False when neither limit, cursor nor offset
    was given (the original's listing: every item)."""

    kind: str | None = None
    q: str | None = None
    sort: str = "captured"
    order: str = "desc"
    limit: int | None = None
    cursor: str | None = None
    offset: int | None = None
    tag: str | None = None

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.cursor is not None or self.offset is not None

    @property
    def cacheable(self) -> bool:
        """The whole unfiltered listing (one answer per project, sort and generation)."""
        return not self.paged and not (self.kind or self.q or self.tag)

    @property
    def page_size(self) -> int:
        return DEFAULT_LIMIT if self.limit is None else self.limit

    def validate(self) -> MediaQuery:
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(sorted(KINDS))}")
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(sorted(SORTS))}")
        if self.order not in {"asc", "desc"}:
            raise InvalidInput("order must be asc or desc")
        if self.limit is not None and not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if self.offset is not None and not 0 <= self.offset <= _MAX_INT:
            raise InvalidInput("offset must be between 0 and 2^63-1")
        if self.tag is not None and not normalize_tags([self.tag], "tag"):
            raise InvalidInput("tag must not be empty")
        return self


def _sort_key(m: Models, sort: str) -> Any:
    if sort == "name":
        return m.File.rel_path
    if sort == "uploaded":
        return m.File.uploaded_at
    if sort == "size":
        return m.File.size
    return m.File.sort_captured  # COALESCE(content's captured_at, uploaded_at): migration 10


def _encode(value: Any, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode()


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(value, str | int | float) or not 0 <= int(row_id) <= _MAX_INT:
            raise ValueError("bad cursor values")
        return value, int(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not valid; pass back next_cursor as given") from exc


def _contains(m: Models, text: Any, part: str) -> Any:
    """``part`` occurs in ``text`` (case as given; sqlite's instr, PostgreSQL's strpos)."""
    find = "strpos" if isinstance(m.File._meta.database, pw.PostgresqlDatabase) else "instr"
    return getattr(pw.fn, find)(text, part) > 0


def _check_cursor_value(sort: str, value: Any) -> None:
    """A cursor's sort value has the sort's type (a size is a 64-bit whole number, the other
    sorts text): PostgreSQL will not compare a column with a value of another type."""
    if sort == "size":
        fits = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_INT
    else:
        fits = isinstance(value, str)
    if not fits:
        raise InvalidInput("cursor is not valid; pass back next_cursor as given")


def _tag_filter(m: Models, tag: str) -> Any:
    """A manual tag (inside the JSON list), or a derived one: the kind or the file type."""
    wanted = normalize_tags([tag], "tag")[0]
    manual = _contains(m, m.File.tags, json.dumps(wanted))
    by_type = pw.fn.lower(m.File.rel_path).endswith("." + wanted)
    return manual | (m.Content.kind == wanted) | by_type


def _filtered(m: Models, source: str, project: str, query: MediaQuery, *columns: Any) -> Any:
    base = (
        m.File.select(*columns)
        .join(m.Content)
        .where((m.File.source == source) & (m.File.project == project))
    )
    if query.kind:
        base = base.where(m.Content.kind == query.kind)
    if query.q:
        base = base.where(_contains(m, pw.fn.lower(m.File.rel_path), query.q.lower()))
    if query.tag:
        base = base.where(_tag_filter(m, query.tag))
    return base


def _ordered(m: Models, source: str, project: str, query: MediaQuery) -> Any:
    key = _sort_key(m, query.sort)
    page = _filtered(m, source, project, query, *_columns(m), key.alias("sort_value"))
    descending = query.order == "desc"
    row_id = m.File.id
    if query.cursor:
        value, after = _decode(query.cursor)
        _check_cursor_value(query.sort, value)
        after_cursor = pw.Tuple(value, after)  # a row value: a range of the sort's index
        if descending:
            page = page.where(pw.Tuple(key, row_id) < after_cursor)
        else:
            page = page.where(pw.Tuple(key, row_id) > after_cursor)
    order = (key.desc(), row_id.desc()) if descending else (key.asc(), row_id.asc())
    return page.order_by(*order)


def count_media(catalog: Catalog, source: str, project: str, query: MediaQuery) -> int:
    query.validate()
    m = catalog.models
    if query.kind or query.tag:
        return int(_filtered(m, source, project, query, m.File.id).count())
    files = m.File.select(m.File.id).where((m.File.source == source) & (m.File.project == project))
    if query.q:  # the name filter needs no content row: count file rows alone (an index range)
        files = files.where(_contains(m, pw.fn.lower(m.File.rel_path), query.q.lower()))
    return int(files.count())


def generation_now(catalog: Catalog, source: str, project: str) -> str | None:
    """``listing_generation`` as the catalog stands now (one statement; None if uncounted)."""
    try:
        row = catalog.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'catalog_id'), (SELECT generation "
            "FROM listing_generation WHERE source = ? AND project = ?)",
            (source, project),
        ).fetchone()
    except DRIVER_ERRORS:  # a catalog too old to count changes
        return None
    if row is None or row[0] is None:
        return None
    return f"{row[0]}.{int(row[1]) if row[1] is not None else 0}"


class PerGeneration:
    """Values computed from a project's rows (counts, an index of names), kept in memory while
    the project's generation stays the same; the least recently used past ``capacity`` are
    dropped. A value is kept only when the generation did not move while it was computed, so a
    kept value is the one the catalog held at that generation."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._kept: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        self._lock = threading.Lock()

    def kept(self, generation: str, source: str, project: str, what: tuple[Any, ...]) -> Any:
        """The value kept for this generation, or None."""
        key = (generation, source, project, *what)
        with self._lock:
            if key not in self._kept:
                return None
            self._kept.move_to_end(key)
            return self._kept[key]

    def get(
        self,
        catalog: Catalog,
        source: str,
        project: str,
        what: tuple[Any, ...],
        compute: Callable[[], T],
    ) -> T:
        """The value kept for the project's current generation, else ``compute()``."""
        before = generation_now(catalog, source, project)
        if before is None:
            return compute()
        found = self.kept(before, source, project, what)
        if found is not None:
            return cast(T, found)
        value = compute()
        if generation_now(catalog, source, project) == before:
            with self._lock:
                self._kept[(before, source, project, *what)] = value
                while len(self._kept) > self.capacity:
                    self._kept.popitem(last=False)
        return value


_COUNTS = PerGeneration(4096)


def counted(
    catalog: Catalog, source: str, project: str, what: tuple[Any, ...], compute: Callable[[], T]
) -> T:
    """``compute()``, a count over the project's rows, kept per generation (``PerGeneration``)."""
    return _COUNTS.get(catalog, source, project, what, compute)


def list_media(catalog: Catalog, source: str, project: str, query: MediaQuery) -> dict[str, Any]:
    """One page of media items plus the total and the next cursor."""
    query.validate()
    size = query.page_size
    page = _ordered(catalog.models, source, project, query).limit(size + 1)
    if query.offset and not query.cursor:
        page = page.offset(query.offset)
    rows = list(page.tuples())
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = _encode(rows[-1][-1], rows[-1][0]) if more and rows else None
    return {
        "media": [media_item(row) for row in rows],
        "total": counted(
            catalog,
            source,
            project,
            ("total", query.kind, query.q, query.tag),
            lambda: count_media(catalog, source, project, query),
        ),
        "next_cursor": next_cursor,
    }


def iter_rows(
    catalog: Catalog, connection: ReadConnection, source: str, project: str, query: MediaQuery
) -> Iterator[list[tuple[Any, ...]]]:
    """Every matching row (see ``media_item``) in batches, read through ``connection`` (a
    catalog read connection of its own: one consistent snapshot, memory bounded by a batch)."""
    sql, params = _ordered(catalog.models, source, project, query.validate()).sql()
    cursor = connection.stream(sql, params)
    while True:
        rows = cursor.fetchmany(BATCH)
        if not rows:
            return
        yield rows


def listing_generation(connection: ReadConnection, source: str, project: str) -> str | None:
    """The version of the project's listing: this catalog's id and how many times the
    project's rows have changed, read in ``connection``'s snapshot; None when the catalog does
    not count changes."""
    mark = connection.param
    try:
        catalog = connection.execute("SELECT value FROM meta WHERE key = 'catalog_id'").fetchone()
        row = connection.execute(
            f"SELECT generation FROM listing_generation WHERE source = {mark} AND project = {mark}",
            (source, project),
        ).fetchone()
    except DRIVER_ERRORS:  # a catalog too old to count changes
        return None
    if catalog is None:
        return None
    return f"{catalog[0]}.{int(row[0]) if row else 0}"


@functools.lru_cache(maxsize=1024)
def _type_facts(kind: str | None, ext: str) -> tuple[str | None, str, tuple[str, ...]]:
    """(kind, mime, derived tags) for a catalogued kind and a file extension (few distinct)."""
    known = MEDIA_TYPES.get(ext)
    kind = kind or (known.kind if known else None)
    mime = known.mime if known else "application/octet-stream"
    return kind, mime, tuple(derived_tags(kind, "x" + ext))


def media_item(row: tuple[Any, ...]) -> dict[str, Any]:
    """A listing item from a row of ``_columns``: the index entry's fields, then the rest
    (this runs once per item of a 100,000-item listing: no per-item lookups beyond a cache)."""
    rel_path = row[1]
    name = rel_path.rpartition("/")[2]
    dot = name.rfind(".")
    kind, mime, derived = _type_facts(row[8], name[dot:].lower() if dot > 0 else "")
    tags = row[4]
    return {
        "relative_path": rel_path,
        "sha256": row[6],
        "blake3": row[7],
        "size": row[2],
        "uploaded_at": row[3],
        "mtime_ns": row[5],
        "tags": json.loads(tags) if tags and tags != "[]" else [],
        "derived_tags": list(derived),
        "name": name,
        "kind": kind,
        "mime": mime,
        "width": row[9],
        "height": row[10],
        "duration": row[11],
        "video_codec": row[12],
        "frame_rate": row[13],
        "audio_codec": row[14],
        "rotation": row[15],
        "captured_at": row[16],
        "captured_from": row[17],
        "meta_status": row[18],
        "meta_error": f"{name}: {row[19]}" if row[19] else None,  # stored naming no file
        "duplicate_of": row[20],
    }
