"""Album sync sessions (upload batches) and their items: the rows, read and written.

Writes take the caller's write transaction (``Catalog.write``); ``finalize`` closes a batch
only while it is open, so two finalizes racing close it once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daemon.catalog.models import utcnow

if TYPE_CHECKING:
    from daemon.catalog import Catalog

STATUSES = ("stored", "duplicate", "skipped", "error")


@dataclass(frozen=True)
class BatchRecord:
    """One batch as stored."""

    id: str
    source: str
    project: str
    album: str
    device: str
    note: str
    created_at: str
    finalized_at: str | None
    counts: dict[str, int] | None


@dataclass(frozen=True)
class ItemRecord:
    """One file of a batch: what it became."""

    filename: str
    status: str  # stored | duplicate | skipped | error
    rel_path: str | None = None
    sha256: str | None = None
    size: int | None = None
    error: str | None = None
    at: str | None = None


def create(
    catalog: Catalog, batch_id: str, source: str, project: str, album: str, device: str, note: str
) -> BatchRecord:
    """Make a batch (the caller holds the write transaction)."""
    now = utcnow()
    catalog.models.UploadBatch.insert(
        id=batch_id,
        source=source,
        project=project,
        album=album,
        device=device,
        note=note,
        created_at=now,
    ).execute()
    return BatchRecord(batch_id, source, project, album, device, note, now, None, None)


def get(catalog: Catalog, batch_id: str) -> BatchRecord | None:
    """The batch with this id, or None."""
    Batch = catalog.models.UploadBatch
    row = (
        Batch.select(
            Batch.id,
            Batch.source,
            Batch.project,
            Batch.album,
            Batch.device,
            Batch.note,
            Batch.created_at,
            Batch.finalized_at,
            Batch.counts,
        )
        .where(Batch.id == batch_id)
        .tuples()
        .first()
    )
    if row is None:
        return None
    batch, source, project, album, device, note, created_at, finalized_at, counts = row
    return BatchRecord(
        batch,
        source,
        project,
        album,
        device,
        note,
        created_at,
        finalized_at,
        json.loads(counts) if counts else None,
    )


def add_items(catalog: Catalog, batch_id: str, items: Sequence[ItemRecord]) -> int:
    """Record files of an open batch (one statement; the caller holds the write transaction);
    how many were recorded: none once the batch is finalized."""
    Batch = catalog.models.UploadBatch
    is_open = (
        Batch.select(Batch.id).where((Batch.id == batch_id) & Batch.finalized_at.is_null()).exists()
    )
    if not items or not is_open:
        return 0
    table = catalog.models.BatchItem._meta.table_name
    now = utcnow()
    catalog.executemany(
        f'INSERT INTO "{table}" (batch_id, filename, status, rel_path, sha256, size, error, at) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (batch_id, i.filename, i.status, i.rel_path, i.sha256, i.size, i.error, now)
            for i in items
        ],
    )
    return len(items)


def items(catalog: Catalog, batch_id: str) -> list[ItemRecord]:
    """The batch's files in the order they were recorded."""
    Item = catalog.models.BatchItem
    rows = (
        Item.select(
            Item.filename, Item.status, Item.rel_path, Item.sha256, Item.size, Item.error, Item.at
        )
        .where(Item.batch == batch_id)
        .order_by(Item.id)
        .tuples()
    )
    return [ItemRecord(*row) for row in rows]


def finalize(catalog: Catalog, batch_id: str, counts: dict[str, Any]) -> str | None:
    """Close an open batch with its counts (the caller holds the write transaction): when it
    was closed, or None when it was not open."""
    Batch = catalog.models.UploadBatch
    now = utcnow()
    changed = (
        Batch.update(finalized_at=now, counts=json.dumps(counts, separators=(",", ":")))
        .where((Batch.id == batch_id) & Batch.finalized_at.is_null())
        .execute()
    )
    return now if changed else None
