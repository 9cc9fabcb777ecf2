"""Real processes: `media-sync daemon` beside `serve --no-watch` (and a second daemon)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from tests.support.catalogfile import query
from tests.support.files import write
from tests.support.server import LiveServer, start_server
from tests.support.waiting import wait_until

ORIG = "ingest/originals"
FAST = {"MEDIA_SYNC_POLL_INTERVAL_SECONDS": "0.2", "MEDIA_SYNC_SETTLE_SECONDS": "0.3"}


def _catalog_rows(state: Path) -> list[tuple[str, str]]:
    """(project, path) of every catalogued file, read as a third process would."""
    return query(state, "SELECT project, rel_path FROM file ORDER BY project, rel_path")


def _watching(daemon: LiveServer) -> bool:
    return "media-sync daemon watching" in daemon.log()


@pytest.mark.e2e
def test_two_processes_ingesting_the_same_files_leave_one_entry_each(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    (root / "P1-Race").mkdir()
    server = start_server(root, state, args=["--no-watch"], env=FAST)
    daemons = [start_server(root, state, command="daemon", env=FAST) for _ in range(2)]
    try:
        for daemon in daemons:  # both really race (and handle SIGTERM) before the files land
            wait_until(partial(_watching, daemon), 30, detail=daemon.log)
        names = [f"clip{i:02d}.mov" for i in range(20)]
        for name in names:
            write(root / "P1-Race" / ORIG / name, name.encode() * 5000)
        with server.client() as http:
            for _ in range(3):  # the ingress reindexes while both daemons ingest
                response = http.post("/api/projects/P1-Race/reindex")
                assert response.status_code == 200, response.text
                assert response.json()["status"] == "ok", response.text
        expected = [("P1-Race", f"{ORIG}/{n}") for n in names]
        wait_until(
            lambda: _catalog_rows(state) == expected, 30, detail=lambda: _catalog_rows(state)
        )
        with server.client() as http:
            files = http.get("/api/projects/P1-Race").json()["files"]
        assert sorted(f["relative_path"] for f in files) == [p for _, p in expected]
    finally:
        codes = [d.stop() for d in daemons]
        server.stop()
    assert codes == [0, 0], daemons[0].log()


@pytest.mark.e2e
def test_daemon_indexes_a_drop_and_stops_on_sigterm(roots: tuple[Path, Path]) -> None:
    root, state = roots
    daemon = start_server(root, state, command="daemon", env=FAST)
    try:
        write(root / "P3-Drop" / ORIG / "a.mov", b"dropped")
        write(root / "loose.mp4", b"loose")
        wait_until(
            lambda: (
                _catalog_rows(state)
                == [("P3-Drop", f"{ORIG}/a.mov"), ("Unsorted-Loose", f"{ORIG}/loose.mp4")]
            ),
            20,
            detail=lambda: daemon.log(),
        )
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    assert "media-sync daemon stopped" in daemon.log()
