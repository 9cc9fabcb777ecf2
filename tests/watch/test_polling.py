"""Polling backs off by tree size: each walk is timed, the next waits k times as long, and
/health and /api/sources say so (real trees, a real observer, a real server)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
from watchdog.events import FileSystemEvent, FileSystemEventHandler

from daemon.watch import backends
from daemon.watch.polling import POLL_BACKOFF, PollStats
from tests.support.server import serving
from tests.support.waiting import wait_until

BASE = 0.05  # a configured interval far shorter than a walk of the big tree takes


def _big_tree(root: Path, dirs: int) -> Path:
    """``dirs`` nested folders inside a project's originals (a few hundred per parent)."""
    originals = root / "P1-Archive" / "ingest" / "originals"
    for i in range(dirs):
        (originals / f"day{i // 200:03d}" / f"card{i:05d}").mkdir(parents=True)
    return originals


class _Events(FileSystemEventHandler):
    def __init__(self) -> None:
        self.paths: list[str] = []

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.paths.append(os.fsdecode(event.src_path))


def test_the_interval_grows_with_the_walk_and_events_still_come(tmp_path: Path) -> None:
    originals = _big_tree(tmp_path, 2000)
    stats = PollStats(BASE)
    handler = _Events()
    observer = backends.start_observer("polling", tmp_path, handler, BASE, stats)
    try:
        wait_until(lambda: stats.walks >= 2, 30, detail=lambda: stats)
        assert stats.entries is not None and stats.entries >= 2000
        assert stats.last_scan_seconds is not None
        assert stats.interval == max(BASE, POLL_BACKOFF * stats.last_scan_seconds)
        assert stats.interval > BASE  # backed off: the walk costs more than BASE / k
        assert "backing off" in (stats.backoff_note() or "")
        (originals / "day000" / "card00000" / "clip.mov").write_bytes(b"clip")
        wait_until(lambda: any(p.endswith("clip.mov") for p in handler.paths), 30)
    finally:
        backends.stop_observer(observer)


def test_a_small_tree_keeps_the_configured_interval(tmp_path: Path) -> None:
    (tmp_path / "P1-Small" / "ingest" / "originals").mkdir(parents=True)
    stats = PollStats(1.0)
    observer = backends.start_observer("polling", tmp_path, _Events(), 1.0, stats)
    try:
        wait_until(lambda: stats.walks >= 1, 10)
        assert stats.interval == 1.0 and stats.backoff_note() is None
    finally:
        backends.stop_observer(observer)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/health")
    assert response.status_code == 200, response.text
    primary = next(s for s in response.json()["sources"] if s["name"] == "primary")
    watch: dict[str, Any] = primary["watch"]
    return watch


def _entries(client: httpx.Client) -> int:
    return int(_watch(client).get("entries") or 0)


def test_a_big_polled_tree_backs_off_and_health_says_so(roots: tuple[Path, Path]) -> None:
    root, state = roots
    started = time.monotonic()
    _big_tree(root, 3000)
    assert time.monotonic() - started < 20
    env = {"MEDIA_SYNC_WATCH": "polling", "MEDIA_SYNC_POLL_INTERVAL_SECONDS": str(BASE)}
    with serving(root, state, env=env) as server, server.client() as http:
        wait_until(lambda: _entries(http) >= 3000, 30, detail=lambda: _watch(http))
        watch = _watch(http)
        assert watch["mode"] == "polling" and "backing off" in watch["reason"], watch
        assert watch["interval_seconds"] > BASE
        expected = max(BASE, POLL_BACKOFF * watch["last_scan_seconds"])
        assert abs(watch["interval_seconds"] - expected) < 0.01, watch
        listed = http.get("/api/sources")
        assert listed.status_code == 200
        keys = {"mode", "reason", "interval_seconds", "last_scan_seconds", "entries"}
        assert keys <= set(listed.json()[0]["watch"]), listed.json()[0]["watch"]
        before, clock = _cpu_seconds(server.process.pid), time.monotonic()
        time.sleep(2.0)
        share = (_cpu_seconds(server.process.pid) - before) / (time.monotonic() - clock)
    assert share < 0.25, f"polling used {share:.0%} of a core"
