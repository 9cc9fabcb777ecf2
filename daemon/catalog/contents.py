"""Content rows: the bytes' identity and what their metadata says (read once per content)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daemon.catalog.models import utcnow
from daemon.catalog.values import MetaStatus

if TYPE_CHECKING:
    from daemon.catalog import Catalog


def meta_status(catalog: Catalog, blake3: str) -> MetaStatus | None:
    """Whether the content's metadata was read; None when no such content is catalogued."""
    Content = catalog.models.Content
    row = Content.select(Content.meta_status).where(Content.blake3 == blake3).tuples().first()
    return MetaStatus(row[0]) if row is not None else None


def record_metadata(catalog: Catalog, blake3: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Store metadata read from the file (keys the table has; the rest is ignored) and mark it
    read; the stored fields come back. The caller holds the write transaction."""
    Content = catalog.models.Content
    fields = {k: v for k, v in facts.items() if k in Content._meta.fields}
    fields.update(meta_status=MetaStatus.OK, meta_error=None)
    Content.update(**fields).where(Content.blake3 == blake3).execute()
    return fields


def record_error(
    catalog: Catalog, error: str, *, blake3: str | None = None, sha256: str | None = None
) -> dict[str, Any]:
    """Mark the content (by blake3, else by sha256) as unreadable, with the reason; the
    stored fields come back. The caller holds the write transaction."""
    Content = catalog.models.Content
    fields: dict[str, Any] = {"meta_status": MetaStatus.ERROR, "meta_error": error}
    where = Content.blake3 == blake3 if blake3 is not None else Content.sha256 == sha256
    Content.update(**fields).where(where).execute()
    return fields


@dataclass(frozen=True)
class ThumbnailFailure:
    """Why the content's thumbnail could not be made (the reason names no file), the stamp
    (size:inode:mtime_ns:ctime_ns) of the copy that failed, and when."""

    reason: str
    stamp: str | None
    failed_at: str


@dataclass(frozen=True)
class Copy:
    """A project's file holding the content, with the stamp it was hashed at (None: unproven)."""

    rel_path: str
    stamp: str | None


def thumbnail_failure(catalog: Catalog, sha256: str) -> ThumbnailFailure | None:
    """The content's remembered thumbnail failure, or None."""
    Content = catalog.models.Content
    row = (
        Content.select(Content.thumb_error, Content.thumb_stamp, Content.thumb_failed_at)
        .where((Content.sha256 == sha256) & Content.thumb_error.is_null(False))
        .tuples()
        .first()
    )
    return ThumbnailFailure(*row) if row is not None else None


def copies(catalog: Catalog, source: str, project: str, sha256: str) -> list[Copy]:
    """The project's files holding the bytes with this sha256, oldest first."""
    m = catalog.models
    rows = (
        m.File.select(m.File.rel_path, m.File.size, m.File.inode, m.File.mtime_ns, m.File.ctime_ns)
        .join(m.Content)
        .where(
            (m.File.source == source) & (m.File.project == project) & (m.Content.sha256 == sha256)
        )
        .order_by(m.File.id)
        .tuples()
    )
    return [
        Copy(rel, stamp_text(size, inode, mtime, ctime)) for rel, size, inode, mtime, ctime in rows
    ]


def stamp_text(size: int, inode: int, mtime_ns: int, ctime_ns: int | None) -> str | None:
    """A file stamp as stored; None without a ctime (such a stamp proves nothing)."""
    return None if ctime_ns is None else f"{size}:{inode}:{mtime_ns}:{ctime_ns}"


def record_thumbnail_failure(catalog: Catalog, sha256: str, reason: str, stamp: str | None) -> str:
    """Remember that the thumbnail failed, why, and for which stamp of the copy decoded; when
    comes back. The caller holds the write transaction."""
    Content = catalog.models.Content
    when = utcnow()
    fields = {"thumb_error": reason, "thumb_stamp": stamp, "thumb_failed_at": when}
    Content.update(**fields).where(Content.sha256 == sha256).execute()
    return when


def clear_thumbnail_failure(catalog: Catalog, sha256: str) -> None:
    """Forget a thumbnail failure (one was made after all; the caller holds the write)."""
    Content = catalog.models.Content
    where = (Content.sha256 == sha256) & Content.thumb_error.is_null(False)
    Content.update(thumb_error=None, thumb_stamp=None, thumb_failed_at=None).where(where).execute()
