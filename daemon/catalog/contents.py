"""Content rows: the bytes' identity and what their metadata says (read once per content)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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
