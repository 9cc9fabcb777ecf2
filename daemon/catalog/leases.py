"""Who holds a source root's watcher: PostgreSQL advisory locks on connections of their own,
and the holders as the processes publish them (so `/health` on any replica names them).

On PostgreSQL a root is held with ``pg_try_advisory_lock(<key of the root>)`` on a dedicated
connection (psycopg 3, autocommit, TCP keep-alives) that stays open while the process
watches: the lock goes when that connection does (the process exits or is killed, its host
or network dies), and another process's next try takes it. With sqlite the lock is a ``flock``
in the state dir (``daemon.storage.locks``), which excludes processes on one host only, the
only ones that can share a sqlite catalog anyway.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

from daemon.catalog.engines import POSTGRESQL
from daemon.catalog.status import STALE_BEATS

if TYPE_CHECKING:
    from daemon.catalog import Catalog

KEY_PREFIX = "media-sync:watch:"
CONNECT_TIMEOUT = 10
# The server's side of the same: a holder whose host died loses its lock within ~30 s
# (PostgreSQL's own default waits for the OS, often two hours). Ignored on a unix socket.
SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 30000",
)
CHECK_TIMEOUT_MS = 5000


def on_postgresql(catalog: Catalog) -> bool:
    """Whether the catalog lives in PostgreSQL (else it is the sqlite file)."""
    return catalog.engine == POSTGRESQL


def lock_key(root_id: str) -> int:
    """The advisory lock key of a root: a signed 64-bit number from its identity."""
    digest = hashlib.blake2b((KEY_PREFIX + root_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLease:
    """A session-level advisory lock held on a connection of its own."""

    def __init__(self, connection: psycopg.Connection[Any], key: int) -> None:
        self._connection: psycopg.Connection[Any] | None = connection
        self.key = key

    @property
    def held(self) -> bool:
        return self._connection is not None

    def alive(self) -> bool:
        """Whether the lock is still ours: its connection still answers."""
        connection = self._connection
        if connection is None:
            return False
        try:  # a session lock lasts as long as its session: an answer proves it
            connection.execute("SELECT 1").fetchone()
        except psycopg.Error:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Let the lock go and close its connection."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:  # unlocked before the answer (a closed session's locks go a moment later)
            connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error:
            pass
        finally:
            connection.close()


def try_advisory(catalog: Catalog, root_id: str) -> AdvisoryLease | None:
    """The root's advisory lock on a new connection, or None when another session holds it
    (or the database cannot be reached right now: the next try may do better)."""
    key = lock_key(root_id)
    try:
        connection = psycopg.connect(
            str(catalog.url),
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            # a silent peer (its host or the network gone) is noticed within half a minute
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    except psycopg.Error:
        return None
    try:
        connection.execute(f"SET statement_timeout = {CHECK_TIMEOUT_MS}")
        connection.execute("SET application_name = 'media-sync watch lease'")
        for setting in SERVER_KEEPALIVES:  # the server drops a dead holder's lock as soon
            connection.execute(setting)
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    except psycopg.Error:
        connection.close()
        return None
    if not (row and row[0]):
        connection.close()
        return None
    return AdvisoryLease(connection, key)


@dataclass(frozen=True)
class Holder:
    """The process watching a root (``hostname:pid``) and since when it holds it."""

    process: str
    hostname: str
    pid: int
    since: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "hostname": self.hostname,
            "pid": self.pid,
            "since": self.since,
        }


def holders(catalog: Catalog, now: float | None = None) -> dict[str, Holder]:
    """Each held root's holder, as the live processes publish it in their heartbeat
    (``holds``: root name -> since); the latest taker wins while a dead holder's row ages."""
    Row = catalog.models.ServiceStatus
    moment = time.time() if now is None else now
    found: dict[str, Holder] = {}
    query = Row.select(Row.key, Row.hostname, Row.pid, Row.body).where(
        Row.running & (Row.heartbeat_unix >= moment - STALE_BEATS * Row.heartbeat_seconds)
    )
    for key, hostname, pid, body in query.tuples():
        holds = json.loads(body or "{}").get("holds") or {}
        for name, since in holds.items():
            known = found.get(name)
            if known is None or str(since) > known.since:
                found[name] = Holder(key, hostname, int(pid), str(since))
    return found
