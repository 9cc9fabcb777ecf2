"""Querying a project's indexed media for the explorer: filter, sort and keyset pagination."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import peewee as pw

from daemon.catalog import Content, File
from daemon.errors import InvalidInput
from daemon.mediatypes import media_type
from daemon.projects import ProjectRef

SORTS = {"captured", "name", "uploaded", "size"}
KINDS = {"video", "image", "audio"}
MAX_LIMIT = 1000


@dataclass(frozen=True)
class MediaQuery:
    kind: str | None = None
    q: str | None = None
    sort: str = "captured"
    order: str = "desc"
    limit: int = 100
    cursor: str | None = None
    offset: int | None = None

    def validate(self) -> MediaQuery:
        if self.kind is not None and self.kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(sorted(KINDS))}")
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(sorted(SORTS))}")
        if self.order not in {"asc", "desc"}:
            raise InvalidInput("order must be asc or desc")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        if self.offset is not None and self.offset < 0:
            raise InvalidInput("offset must be >= 0")
        return self


def _sort_key(sort: str) -> Any:
    if sort == "name":
        return File.rel_path
    if sort == "uploaded":
        return File.uploaded_at
    if sort == "size":
        return File.size
    return pw.fn.COALESCE(Content.captured_at, File.uploaded_at)


def _encode(value: Any, row_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode()


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        value, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return value, int(row_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not valid; pass back next_cursor as given") from exc


def list_media(ref: ProjectRef, query: MediaQuery) -> dict[str, Any]:
    """One page of media rows (plain dicts) plus the total and the next cursor."""
    query.validate()
    key = _sort_key(query.sort)
    base = (
        File.select(File, Content, key.alias("sort_value"))
        .join(Content)
        .where((File.source == ref.source.name) & (File.project == ref.name))
    )
    if query.kind:
        base = base.where(Content.kind == query.kind)
    if query.q:
        base = base.where(pw.fn.instr(pw.fn.lower(File.rel_path), query.q.lower()) > 0)
    total = base.count()
    descending = query.order == "desc"
    page = base
    if query.cursor:
        value, row_id = _decode(query.cursor)
        if descending:
            page = page.where((key < value) | ((key == value) & (File.id < row_id)))
        else:
            page = page.where((key > value) | ((key == value) & (File.id > row_id)))
    order = (key.desc(), File.id.desc()) if descending else (key.asc(), File.id.asc())
    page = page.order_by(*order).limit(query.limit + 1)
    if query.offset and not query.cursor:
        page = page.offset(query.offset)
    rows = list(page.objects())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [_item(row) for row in rows]
    next_cursor = _encode(rows[-1].sort_value, rows[-1].id) if more and rows else None
    return {"items": items, "total": total, "next_cursor": next_cursor}


def _item(row: Any) -> dict[str, Any]:
    known = media_type(row.rel_path)
    return {
        "relative_path": row.rel_path,
        "name": row.rel_path.rsplit("/", 1)[-1],
        "sha256": row.sha256,
        "blake3": row.blake3,
        "size": row.size,
        "uploaded_at": row.uploaded_at,
        "kind": row.kind or (known.kind if known else None),
        "mime": known.mime if known else "application/octet-stream",
        "width": row.width,
        "height": row.height,
        "duration": row.duration,
        "video_codec": row.video_codec,
        "frame_rate": row.frame_rate,
        "audio_codec": row.audio_codec,
        "rotation": row.rotation,
        "captured_at": row.captured_at,
        "captured_from": row.captured_from,
        "meta_status": row.meta_status,
        "meta_error": row.meta_error,
    }
