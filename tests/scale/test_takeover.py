"""One watcher per root across real `serve` processes, on both engines (sqlite: two processes
on one host and one state dir, a flock; PostgreSQL: state dirs of their own, an advisory
lock): one holds the root and /health on both says which; kill -9 it and the other takes
the root over and catalogues a drop made after the kill."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.files import write
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ENV = {
    "MEDIA_SYNC_WATCH": "polling",
    "MEDIA_SYNC_POLL_INTERVAL_SECONDS": "0.2",
    "MEDIA_SYNC_WATCH_TAKEOVER_SECONDS": "0.5",
}


def _name(server: LiveServer) -> str:
    return f"{socket.gethostname()}:{server.process.pid}"


def _holders(server: LiveServer) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        body = http.get("/health").json()
    primary = next(s for s in body["sources"] if s["name"] == "primary")
    holders: list[dict[str, Any]] = body["watch_holders"]
    assert [h["process"] for h in holders] == [primary["watch"]["holder"]] * len(holders)
    return holders


def _held_by(server: LiveServer, holder: LiveServer) -> bool:
    holders = _holders(server)
    return [(h["source"], h["process"]) for h in holders] == [("primary", _name(holder))]


def _catalogued(server: LiveServer, project: str) -> list[str]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.get(f"/api/projects/{project}")
    if response.status_code != 200:
        return []
    return sorted(f["relative_path"] for f in response.json()["files"])


def test_killing_the_holder_moves_the_watch_to_the_other(
    roots: tuple[Path, Path], engine: str
) -> None:
    root, state = roots
    own_state = state.parent / "state-b" if engine == "postgresql" else state
    servers = [start_server(root, state, env=ENV)]
    try:
        servers.append(start_server(root, own_state, env=ENV))
        holder = wait_until(
            lambda: next((s for s in servers if _held_by(servers[0], s)), None),
            30,
            what="one of the two holding the root",
            detail=lambda: [s.log() for s in servers],
        )
        other = servers[1] if holder is servers[0] else servers[0]
        assert _held_by(other, holder)  # /health on each replica says the same
        assert "watching primary (this process holds it)" not in other.log()
        write(root / "P1-Before" / "ingest" / "originals" / "a.mov", b"before the kill")
        wait_until(lambda: _catalogued(other, "P1-Before") == ["ingest/originals/a.mov"], 30)

        holder.process.kill()  # kill -9: no goodbye, its lock goes with its process
        holder.process.wait(10)
        write(root / "P2-After" / "ingest" / "originals" / "b.mov", b"after the kill")
        wait_until(lambda: _held_by(other, other), 30, what="the other taking the root over",
                   detail=other.log)  # fmt: skip
        wait_until(
            lambda: _catalogued(other, "P2-After") == ["ingest/originals/b.mov"],
            30,
            what="the drop after the kill catalogued",
            detail=other.log,
        )
        assert "watching primary (this process holds it)" in other.log()
    finally:
        for server in servers:
            server.stop()
