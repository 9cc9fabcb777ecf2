"""Real processes: `serve --no-watch` beside a separate `media-sync daemon` on the same state
dir reports the daemon from the catalog: running while it beats, stopped after SIGTERM, and
stale (not running) once a killed daemon misses three beats."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from daemon.watch.watchstate import Tuning
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

BEAT = Tuning().heartbeat  # what `media-sync daemon` beats at
ENV = {"MEDIA_SYNC_WATCH": "polling"}


def _health(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _daemon(http: httpx.Client) -> dict[str, Any]:
    daemon: dict[str, Any] = _health(http)["daemon"]
    return daemon


def _running_as(http: httpx.Client, daemon: LiveServer) -> bool:
    status = _daemon(http)
    return bool(status["running"]) and status["pid"] == daemon.process.pid


@pytest.mark.e2e
def test_health_in_the_ingress_reports_the_separate_daemon(roots: tuple[Path, Path]) -> None:
    root, state = roots
    server = start_server(root, state, args=["--no-watch"], env=ENV)
    try:
        with server.client() as http:
            assert _daemon(http) == {"running": False, "stale": False}
            assert _health(http)["sources"][0]["watch"]["mode"] == "off"
            daemon = start_server(root, state, command="daemon", env=ENV)
            try:
                wait_until(lambda: _running_as(http, daemon), 30, what="daemon running",
                           detail=daemon.log)  # fmt: skip
                status = _daemon(http)
                assert status["stale"] is False and status["watchers"] == 1
                wait_until(lambda: _daemon(http).get("passes", 0) >= 1, 30, what="a pass")
                primary = _health(http)["sources"][0]
                assert primary["watch"]["mode"] == "polling", primary
                assert primary["watch"]["offline"] is False
                listed = http.get("/api/sources").json()[0]
                assert listed["watch"]["mode"] == "polling"
            finally:
                assert daemon.stop() == 0, daemon.log()
            stopped = _daemon(http)  # a clean stop says so at once
            assert (stopped["running"], stopped["stale"]) == (False, False), stopped
            assert stopped["stopped_at"] and stopped["pid"] == daemon.process.pid
            assert "no watcher is running" in _health(http)["sources"][0]["watch"]["reason"]
    finally:
        server.stop()


@pytest.mark.e2e
def test_a_killed_daemon_reads_as_not_running_after_three_missed_beats(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    server = start_server(root, state, args=["--no-watch"], env=ENV)
    daemon = start_server(root, state, command="daemon", env=ENV)
    try:
        with server.client() as http:
            wait_until(lambda: _running_as(http, daemon), 30, what="daemon running",
                       detail=daemon.log)  # fmt: skip
            daemon.process.send_signal(signal.SIGKILL)
            daemon.process.wait(10)
            killed = time.monotonic()
            gone = wait_until(
                lambda: (status := _daemon(http))["stale"] and status, 4 * BEAT + 5, what="stale"
            )
            seconds = time.monotonic() - killed
            assert gone["running"] is False and gone["stopped_at"] is None
            assert gone["pid"] == daemon.process.pid
            # between two beats and three: the last beat came at most one beat before the kill
            assert 2 * BEAT - 0.1 <= seconds <= 3 * BEAT + 2.0, seconds
            watch = _health(http)["sources"][0]["watch"]
            assert watch["mode"] == "off" and "stopped unseen" in watch["reason"]
    finally:
        daemon.stop()
        server.stop()
