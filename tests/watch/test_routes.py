"""The reindex, sweep and health endpoints through the in-process Litestar client."""

from __future__ import annotations

import os
from pathlib import Path

from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from ingress.services import default_services
from tests.watch.helpers import wait_for, write

ORIG = "ingest/originals"


def test_project_reindex_summary(client: TestClient[object], roots: tuple[Path, Path]) -> None:
    root, _ = roots
    project = root / "P1-Shoot"
    write(project / ORIG / "a.mov", b"a")
    write(project / ORIG / "b.mov", b"b")
    write(project / ORIG / "notes.txt", b"n")
    write(project / "stray.mp4", b"s")
    body = client.get("/api/projects/P1-Shoot/reindex").json()
    assert (body["indexed"], body["relocated"], body["skipped_unsupported"]) == (3, 1, 1)
    assert body["counts"]["files"] == 3 and body["status"] == "ok"
    os.unlink(project / ORIG / "a.mov")
    response = client.post("/api/projects/P1-Shoot/reindex")
    assert response.status_code == 200
    body = response.json()
    assert (body["indexed"], body["removed"], body["unchanged"]) == (0, 1, 2)
    assert body["counts"]["removed_missing_records"] == 1
    listed = client.get("/api/projects/P1-Shoot").json()["index"]["files"]
    assert {f["relative_path"] for f in listed} == {f"{ORIG}/b.mov", f"{ORIG}/stray.mp4"}


def test_global_reindex_reports_every_source_and_offline_ones(
    client: TestClient[object], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = roots
    write(root / "P1-A" / ORIG / "a.mov", b"a")
    other = tmp_path / "nas"
    write(other / "P1-Nas" / ORIG / "n.mov", b"n")
    assert client.post("/api/sources", json={"name": "nas", "root": str(other)}).status_code == 201
    body = client.get("/reindex").json()
    assert body["indexed"] == 2 and {s["source"] for s in body["sources"]} == {"primary", "nas"}
    os.rename(other, tmp_path / "nas-unplugged")
    body = client.post("/reindex").json()
    assert body["offline_sources"][0]["source"] == "nas" and body["removed"] == 0
    assert body["status"] == "degraded"


def test_auto_organize_dry_run_moves_nothing(
    client: TestClient[object], roots: tuple[Path, Path]
) -> None:
    root, _ = roots
    write(root / "clip.mov", b"c")
    write(root / ".DS_Store", b"x")
    write(root / "todo.txt", b"t")
    body = client.post("/api/projects/auto-organize?dry_run=true").json()
    assert body["dry_run"] is True
    assert body["moves"] == [
        {"source": "primary", "from": "clip.mov", "to": f"Unsorted-Loose/{ORIG}/clip.mov"}
    ]
    assert (root / "clip.mov").exists() and not (root / "Unsorted-Loose").exists()
    body = client.post("/api/projects/auto-organize").json()
    assert body["relocated"] == 1 and body["indexed"] == 1
    assert (root / "Unsorted-Loose" / ORIG / "clip.mov").exists()
    assert (root / ".DS_Store").exists() and (root / "todo.txt").exists()


def test_health_shows_the_watch_mode_when_serving_with_the_watcher(settings: Settings) -> None:
    fast = settings.with_overrides(watch="polling", poll_interval_seconds=0.2)
    with TestClient(create_app(fast, services=default_services(fast))) as client:
        assert wait_for(lambda: client.get("/health").json()["daemon"].get("passes", 0) >= 1)
        health = client.get("/health").json()
        primary = next(s for s in health["sources"] if s["name"] == "primary")
        assert primary["watch"]["mode"] == "polling"
        assert "MEDIA_SYNC_WATCH=polling" in primary["watch"]["reason"]
        write(settings.projects_root / "P1-Live" / ORIG / "x.mov", b"x")
        assert wait_for(
            lambda: (
                client.get("/api/projects/P1-Live").status_code == 200
                and client.get("/api/projects/P1-Live").json()["counts"]["files"] == 1
            )
        )
