"""What the catalog recorded of one content in one project, for its ingest timeline: the
project's files holding it (with the content's metadata and thumbnail state), its live-feed
events, and the Resolve jobs naming one of its paths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daemon.catalog.events import EventRecord

if TYPE_CHECKING:
    from daemon.catalog import Catalog


@dataclass(frozen=True)
class Holding:
    """A file of the project holding the content, and the content's state."""

    rel_path: str
    uploaded_at: str
    origin: str
    duplicate_of: str | None
    meta_status: str
    meta_error: str | None
    thumb_error: str | None
    thumb_failed_at: str | None


@dataclass(frozen=True)
class JobTouch:
    """A Resolve job that names one of the content's paths in the project."""

    id: int
    status: str
    mode: str
    created_at: str
    finished_at: str | None
    claimed_by: str | None
    error: str | None


def holdings(catalog: Catalog, source: str, project: str, sha256: str) -> list[Holding]:
    """The project's files holding the bytes with this sha256, oldest first."""
    m = catalog.models
    rows = (
        m.File.select(
            m.File.rel_path,
            m.File.uploaded_at,
            m.File.origin,
            m.File.duplicate_of,
            m.Content.meta_status,
            m.Content.meta_error,
            m.Content.thumb_error,
            m.Content.thumb_failed_at,
        )
        .join(m.Content)
        .where(
            (m.File.source == source) & (m.File.project == project) & (m.Content.sha256 == sha256)
        )
        .order_by(m.File.id)
        .tuples()
    )
    return [Holding(*row) for row in rows]


def events_of(catalog: Catalog, source: str, project: str, sha256: str) -> list[EventRecord]:
    """The live-feed events of the project that carry this sha256 (the table keeps a week)."""
    Event = catalog.models.Event
    query = (
        Event.select(
            Event.id, Event.type, Event.at, Event.source, Event.project, Event.rel_path, Event.data
        )
        .where((Event.source == source) & (Event.project == project) & Event.data.contains(sha256))
        .order_by(Event.id)
        .tuples()
    )
    found = []
    for row_id, kind, at, src, proj, rel, data in query:
        values: dict[str, Any] = json.loads(data or "{}")
        if values.get("sha256") == sha256:
            found.append(EventRecord(row_id, kind, at, src, proj, rel, values))
    return found


def jobs_naming(catalog: Catalog, source: str, project: str, rel_paths: set[str]) -> list[JobTouch]:
    """Resolve jobs of the project whose media list names one of ``rel_paths``, oldest first."""
    Job = catalog.models.Job
    query = (
        Job.select(
            Job.id,
            Job.status,
            Job.mode,
            Job.created_at,
            Job.finished_at,
            Job.claimed_by,
            Job.error,
            Job.media_rel_paths,
        )
        .where((Job.source == source) & (Job.project == project))
        .order_by(Job.id)
        .tuples()
    )
    found = []
    for *values, paths in query:
        if rel_paths & set(json.loads(paths or "[]")):
            found.append(JobTouch(*values))
    return found
