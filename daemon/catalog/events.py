"""The live feed's event rows: added beside each change, read in id order, kept bounded.

The table holds at most a week of events and at most 50,000 rows. Pruning is cheap and rare:
each catalog prunes after every PRUNE_EVERY events it added (and the watcher at each full
reconcile). The newest row always stays, so ids never restart (a client resuming after its
last id sees nothing twice and misses nothing still kept).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from daemon.catalog.models import utcnow

if TYPE_CHECKING:
    from daemon.catalog import Catalog

KEEP = timedelta(days=7)
MAX_ROWS = 50_000
PRUNE_EVERY = 500


@dataclass(frozen=True)
class EventRecord:
    """One stored event, as the feed sends it."""

    id: int
    type: str
    at: str
    source: str | None
    project: str | None
    rel_path: str | None
    data: dict[str, Any]


def add(
    catalog: Catalog,
    type: str,
    source: str | None,
    project: str | None,
    rel_path: str | None,
    data: dict[str, Any],
) -> None:
    """Store one event (the caller holds the write transaction); every PRUNE_EVERY events
    this catalog added, old ones are pruned in the same transaction."""
    catalog.models.Event.insert(
        type=type,
        source=source,
        project=project,
        rel_path=rel_path,
        data=_json(data),
    ).execute()
    catalog.events_added += 1
    if catalog.events_added % PRUNE_EVERY == 0:
        prune(catalog)


@dataclass(frozen=True)
class EventRow:
    """A change for the live feed, as the ingest pipeline stores a batch of them."""

    type: str
    source: str
    project: str
    rel_path: str
    data: dict[str, Any]


def add_rows(catalog: Catalog, rows: Sequence[EventRow]) -> None:
    """Store a batch's events (one statement; the caller holds the write transaction),
    pruned as ``add`` does."""
    if not rows:
        return
    table = catalog.models.Event._meta.table_name
    now = utcnow()
    catalog.executemany(
        f'INSERT INTO "{table}" (at, type, source, project, rel_path, data) '
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(now, str(r.type), r.source, r.project, r.rel_path, _json(r.data)) for r in rows],
    )
    before = catalog.events_added
    catalog.events_added += len(rows)
    if before // PRUNE_EVERY != catalog.events_added // PRUNE_EVERY:
        prune(catalog)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))


def latest_id(catalog: Catalog) -> int:
    """The newest event's id (0 when there is none)."""
    Event = catalog.models.Event
    row = Event.select(Event.id).order_by(Event.id.desc()).tuples().first()
    return int(row[0]) if row else 0


def after(catalog: Catalog, last_id: int, limit: int = 200) -> list[EventRecord]:
    """Up to ``limit`` events newer than ``last_id``, oldest first."""
    Event = catalog.models.Event
    query = (
        Event.select(
            Event.id, Event.type, Event.at, Event.source, Event.project, Event.rel_path, Event.data
        )
        .where(Event.id > last_id)
        .order_by(Event.id)
        .limit(limit)
        .tuples()
    )
    return [
        EventRecord(row_id, kind, at, source, project, rel, json.loads(data or "{}"))
        for row_id, kind, at, source, project, rel, data in query
    ]


def prune(
    catalog: Catalog,
    keep: timedelta | None = None,
    max_rows: int | None = None,
    now: datetime | None = None,
) -> int:
    """Drop events older than ``keep`` (KEEP) and all but the newest ``max_rows`` (MAX_ROWS),
    never the newest one; how many went. The caller holds the write transaction."""
    Event = catalog.models.Event
    newest = latest_id(catalog)
    if newest == 0:
        return 0
    moment = now or datetime.now(UTC)
    cutoff = _stamp(moment - (KEEP if keep is None else keep))
    removed = Event.delete().where((Event.at < cutoff) & (Event.id < newest)).execute()
    boundary = (
        Event.select(Event.id)
        .order_by(Event.id.desc())
        .offset(max(MAX_ROWS if max_rows is None else max_rows, 1))
        .limit(1)
        .tuples()
        .first()
    )
    if boundary is not None:
        removed += Event.delete().where(Event.id <= boundary[0]).execute()
    return int(removed)


def _stamp(moment: datetime) -> str:
    """``moment`` written the way events stamp ``at`` (``utcnow``'s form: sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
