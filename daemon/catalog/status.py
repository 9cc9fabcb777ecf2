"""The watcher's status as each process running it publishes it (start, changes, heartbeat,
stop), so `/health` tells the truth whichever process runs the watcher.

A row per process (``hostname:pid``). A row whose heartbeat is older than STALE_BEATS times
its own interval belongs to a process that died without saying so: it reads as not running,
with ``stale: true``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daemon.catalog.models import utcnow

if TYPE_CHECKING:
    from daemon.catalog import Catalog

STALE_BEATS = 3


@dataclass(frozen=True)
class Publisher:
    """Who publishes: this process, and how often it beats."""

    hostname: str
    pid: int
    started_at: str
    heartbeat_seconds: float

    @property
    def key(self) -> str:
        return f"{self.hostname}:{self.pid}"


@dataclass(frozen=True)
class WatcherView:
    """What the catalog says about the watcher: the ``daemon`` object of /health, each
    source's watch status, and the sources it holds offline (empty unless it is running)."""

    daemon: dict[str, Any]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return bool(self.daemon.get("running"))


def start(catalog: Catalog, publisher: Publisher, body: dict[str, Any]) -> None:
    """Announce a watcher starting, dropping rows of processes that stopped or went stale
    (the caller holds the write transaction)."""
    Row = catalog.models.ServiceStatus
    now = time.time()
    for row in Row.select(Row.key, Row.running, Row.heartbeat_unix, Row.heartbeat_seconds):
        gone = not row.running or now - row.heartbeat_unix > STALE_BEATS * row.heartbeat_seconds
        if gone and row.key != publisher.key:
            Row.delete().where(Row.key == row.key).execute()
    beat(catalog, publisher, body)


def beat(catalog: Catalog, publisher: Publisher, body: dict[str, Any]) -> None:
    """Say the watcher is alive, with its current status (the caller holds the write
    transaction)."""
    Row = catalog.models.ServiceStatus
    values = {
        Row.key: publisher.key,
        Row.hostname: publisher.hostname,
        Row.pid: publisher.pid,
        Row.started_at: publisher.started_at,
        Row.heartbeat_at: utcnow(),
        Row.heartbeat_unix: time.time(),
        Row.heartbeat_seconds: publisher.heartbeat_seconds,
        Row.stopped_at: None,
        Row.running: True,
        Row.body: json.dumps(body, separators=(",", ":"), default=str),
    }
    others = [column for column in values if column is not Row.key]
    Row.insert(values).on_conflict(conflict_target=[Row.key], preserve=others).execute()


def stop(catalog: Catalog, publisher: Publisher) -> None:
    """Mark the watcher stopped (the caller holds the write transaction)."""
    Row = catalog.models.ServiceStatus
    Row.update(running=False, stopped_at=utcnow()).where(Row.key == publisher.key).execute()


def read(catalog: Catalog, now: float | None = None) -> WatcherView:
    """The freshest running watcher's status; else the last one seen, as not running."""
    Row = catalog.models.ServiceStatus
    moment = time.time() if now is None else now
    rows = list(Row.select().order_by(Row.heartbeat_unix.desc()))
    live = [
        r
        for r in rows
        if r.running and moment - r.heartbeat_unix <= STALE_BEATS * r.heartbeat_seconds
    ]
    if not rows:
        return WatcherView({"running": False, "stale": False})
    row = live[0] if live else rows[0]
    body = json.loads(row.body or "{}")
    daemon = {
        **body.get("status", {}),
        "running": bool(live),
        "stale": bool(row.running and not live),
        "pid": row.pid,
        "hostname": row.hostname,
        "started_at": row.started_at,
        "heartbeat_at": row.heartbeat_at,
        "heartbeat_seconds": row.heartbeat_seconds,
        "stopped_at": row.stopped_at,
        "watchers": len(live),
    }
    if not live:
        daemon["offline_sources"] = {}
        return WatcherView(daemon)
    sources: dict[str, dict[str, Any]] = {}
    for other in reversed(live):  # each process publishes the roots it holds; freshest last
        sources.update(json.loads(other.body or "{}").get("sources", {}))
    return WatcherView(daemon, sources)
