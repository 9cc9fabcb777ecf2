"""Album sync sessions (the original's upload batches): start one, record what each of its files
became (stored, duplicate, skipped by the pre-check, error), finalize it with the counts.

Any upload path records into a session by its id (multipart, PUT, the digest short-cut,
resumable uploads); ``check_open`` refuses an unknown, foreign or finalized id before any byte
is read. Finalizing writes one ``sync-album`` event (the project's `_manifest/events.jsonl`,
as the original's audit route writes it, and the live feed's catalog events) with the counts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from daemon.catalog import batches as rows
from daemon.catalog import events
from daemon.catalog.batches import STATUSES, BatchRecord, ItemRecord
from daemon.errors import BatchFinalized, BatchNotFound, MediaSyncError
from daemon.ingest.journal import project_event
from daemon.ingest.pipeline import IngestResult
from daemon.library import Library
from daemon.storage.projects import ProjectRef

EVENT = "sync-album"
MAX_ID = 64


def _describe(record: BatchRecord) -> dict[str, Any]:
    return {
        "batch_id": record.id,
        "project": record.project,
        "source": record.source,
        "album_name": record.album,
        "device": record.device,
        "note": record.note,
        "created_at": record.created_at,
        "finalized_at": record.finalized_at,
    }


def start(lib: Library, ref: ProjectRef, *, album: str, device: str, note: str) -> dict[str, Any]:
    """A new open session of the project: its id and what it was started with."""
    batch_id = uuid.uuid4().hex
    with lib.catalog.write():
        record = rows.create(lib.catalog, batch_id, ref.source.name, ref.name, album, device, note)
    return _describe(record)


def _open(lib: Library, ref: ProjectRef, batch_id: str) -> BatchRecord:
    record = rows.get(lib.catalog, batch_id) if len(batch_id) <= MAX_ID else None
    if record is None or (record.source, record.project) != (ref.source.name, ref.name):
        raise BatchNotFound(
            f"project {ref.name} has no sync session {batch_id!r}; start one with "
            "POST .../upload?op=start"
        )
    if record.finalized_at is not None:
        raise BatchFinalized(
            f"sync session {batch_id!r} was finalized at {record.finalized_at}; it takes no "
            "more files: start a new one with POST .../upload?op=start"
        )
    return record


def check_open(lib: Library, ref: ProjectRef, batch_id: str | None) -> None:
    """Nothing for None; BatchNotFound for an unknown id or another project's, BatchFinalized
    for a finalized one."""
    if batch_id is not None:
        _open(lib, ref, batch_id)


def _add(lib: Library, batch_id: str, items: Sequence[ItemRecord]) -> None:
    """Record items; a session finalized meanwhile takes none (the files stay stored)."""
    if items:
        with lib.catalog.write():
            rows.add_items(lib.catalog, batch_id, items)


def record_upload(
    lib: Library,
    ref: ProjectRef,
    batch_id: str | None,
    filename: str,
    *,
    result: IngestResult | None = None,
    error: MediaSyncError | None = None,
) -> None:
    """What an upload of the session became (nothing when ``batch_id`` is None): stored or
    duplicate from ``result``, else an error with ``error``'s detail."""
    if batch_id is None:
        return
    if result is not None:
        digest = result.digest
        status = "duplicate" if result.status == "duplicate" else "stored"
        item = ItemRecord(filename, status, result.rel_path, digest.sha256, digest.size)
    elif error is not None:
        item = ItemRecord(filename, "error", error=error.detail)
    else:
        raise ValueError("record_upload needs a result or an error")
    del ref  # the id names the session; the caller checked it is this project's
    _add(lib, batch_id, [item])


def record_skipped(
    lib: Library, ref: ProjectRef, batch_id: str | None, items: list[tuple[str, int | None]]
) -> None:
    """Files of the session the pre-check told the client not to send, by (name, size)."""
    if batch_id is None:
        return
    del ref
    _add(lib, batch_id, [ItemRecord(name, "skipped", size=size) for name, size in items])


def settle(items: Iterable[ItemRecord]) -> list[ItemRecord]:
    """Each file's outcome: a skip or an error is replaced by a later outcome of the same
    filename (a retried upload counts once); every stored or duplicate file stays."""
    kept: list[ItemRecord | None] = []
    pending: dict[str, int] = {}  # filename -> index of its skip or error in ``kept``
    for item in items:
        earlier = pending.pop(item.filename, None)
        if earlier is not None:
            kept[earlier] = None
        if item.status in ("skipped", "error"):
            pending[item.filename] = len(kept)
        kept.append(item)
    return [item for item in kept if item is not None]


def counts_of(items: Sequence[ItemRecord]) -> dict[str, int]:
    """{total, stored, duplicate, skipped, error} of settled items."""
    counts = {"total": len(items)}
    counts.update({status: sum(i.status == status for i in items) for status in STATUSES})
    return counts


def _item(item: ItemRecord) -> dict[str, Any]:
    return {
        "filename": item.filename,
        "status": item.status,
        "path": item.rel_path,
        "sha256": item.sha256,
        "size": item.size,
        "error": item.error,
        "at": item.at,
    }


def finalize(lib: Library, ref: ProjectRef, batch_id: str) -> dict[str, Any]:
    """Close the session: its counts and items (each with the path to serve it from), and one
    ``sync-album`` event with the counts in the catalog's feed and `_manifest/events.jsonl`."""
    with lib.catalog.write():
        record = _open(lib, ref, batch_id)
        settled = settle(rows.items(lib.catalog, batch_id))
        counts = counts_of(settled)
        when = rows.finalize(lib.catalog, batch_id, counts)
        if when is None:  # another finalize won the race (the write lock makes this rare)
            raise BatchFinalized(f"sync session {batch_id!r} was finalized already")
        payload: dict[str, Any] = {
            "album_name": record.album,
            "device": record.device,
            "note": record.note,
            "batch_id": batch_id,
            "counts": counts,
            "project": ref.name,
            "source": ref.source.name,
        }
        events.add(lib.catalog, EVENT, ref.source.name, ref.name, None, payload)
    line, warning = project_event(ref, EVENT, payload)
    body = _describe(record)
    body.update(finalized_at=when, counts=counts, items=[_item(i) for i in settled], event=line)
    if warning:
        body["warnings"] = [warning]
    return body
