"""The reindex, sweep and health endpoints through the in-process Litestar client."""

from __future__ import annotations

import os
from pathlib import Path

from litestar.testing import TestClient

from daemon.runtime.services import default_services
from daemon.settings import Settings
from ingress.app import create_app
from tests.support.files import write
from tests.support.waiting import wait_until

ORIG = "ingest/originals"


def _index_entries(client: TestClient[object], project: str) -> dict[str, dict[str, object]]:
    """The project's index.json entries (top level of `GET /api/projects/{p}`) by path."""
    response = client.get(f"/api/projects/{project}")
    assert response.status_code == 200, response.text
    assert "index" not in response.json()
    return {f["relative_path"]: f for f in response.json()["files"]}


def test_project_reindex_summary(client: TestClient[object], roots: tuple[Path, Path]) -> None:
    root, _ = roots
    project = root / "P1-Shoot"
    write(project / ORIG / "a.mov", b"a")
    write(project / ORIG / "b.mov", b"b")
    write(project / ORIG / "notes.txt", b"n")
    write(project / "stray.mp4", b"s")
    response = client.get("/api/projects/P1-Shoot/reindex")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["project"], body["source"]) == ("P1-Shoot", "primary")
    assert (body["indexed"], body["relocated"], body["skipped_unsupported"]) == (3, 1, 1)
    assert (body["removed"], body["renamed"]) == (0, 0)
    assert body["counts"]["files"] == 3 and body["status"] == "ok" and body["instructions"]
    new_paths = {f"{ORIG}/a.mov", f"{ORIG}/b.mov", f"{ORIG}/stray.mp4"}
    assert {f["relative_path"] for f in body["files"]} == new_paths
    indexed = _index_entries(client, "P1-Shoot")
    for entry in body["files"]:  # each is the new index.json entry, tags and mtime_ns included
        assert entry == indexed[entry["relative_path"]], (entry, indexed[entry["relative_path"]])
    os.unlink(project / ORIG / "a.mov")
    response = client.post("/api/projects/P1-Shoot/reindex")
    assert response.status_code == 200
    body = response.json()
    assert (body["indexed"], body["removed"], body["unchanged"]) == (0, 1, 2)
    assert body["files"] == []  # nothing new
    assert body["counts"]["removed_missing_records"] == 1
    assert set(_index_entries(client, "P1-Shoot")) == {f"{ORIG}/b.mov", f"{ORIG}/stray.mp4"}


PROJECT_KEYS = {"name", "indexed", "removed", "relocated", "skipped_unsupported", "files"}


def test_global_reindex_reports_every_source_and_offline_ones(
    client: TestClient[object], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = roots
    write(root / "P1-A" / ORIG / "a.mov", b"a")
    other = tmp_path / "nas"
    write(other / "P1-Nas" / ORIG / "n.mov", b"n")
    assert client.post("/api/sources", json={"name": "nas", "root": str(other)}).status_code == 201
    response = client.get("/reindex")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["indexed"] == 2 and {s["source"] for s in body["sources"]} == {"primary", "nas"}
    assert (body["indexed_projects"], body["indexed_files"], body["removed_missing"]) == (2, 2, 0)
    assert body["status"] == "ok" and body["instructions"]
    by_source = {s["source"]: s for s in body["sources"]}
    assert by_source["primary"]["root"] == str(root) and by_source["nas"]["root"] == str(other)
    assert by_source["primary"]["accessible"] is True and by_source["nas"]["accessible"] is True
    (nas_project,) = by_source["nas"]["projects"]
    assert set(nas_project) >= PROJECT_KEYS
    assert (nas_project["name"], nas_project["indexed"], nas_project["removed"]) == ("P1-Nas", 1, 0)
    assert [f["relative_path"] for f in nas_project["files"]] == [f"{ORIG}/n.mov"]
    (primary_project,) = by_source["primary"]["projects"]
    assert (primary_project["name"], primary_project["indexed"]) == ("P1-A", 1)
    assert {f["relative_path"] for f in body["files"]} == {f"{ORIG}/a.mov", f"{ORIG}/n.mov"}
    os.rename(other, tmp_path / "nas-unplugged")
    response = client.post("/reindex")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["offline_sources"][0]["source"] == "nas" and body["removed"] == 0
    assert body["removed_missing"] == 0 and body["indexed_files"] == 0 and body["files"] == []
    assert body["status"] == "degraded"
    nas = next(s for s in body["sources"] if s["source"] == "nas")
    assert nas["accessible"] is False and nas["error"] and nas["projects"] == []


def test_auto_organize_dry_run_moves_nothing(
    client: TestClient[object], roots: tuple[Path, Path]
) -> None:
    root, _ = roots
    write(root / "clip.mov", b"c")
    write(root / ".DS_Store", b"x")
    write(root / "todo.txt", b"t")
    response = client.post("/api/projects/auto-organize?dry_run=true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True and body["status"] == "ok" and body["health"] == "ok"
    assert body["moves"] == [
        {"source": "primary", "from": "clip.mov", "to": f"Unsorted-Loose/{ORIG}/clip.mov"}
    ]
    assert body["moved"] == 1  # would move
    (primary,) = body["sources"]
    assert (primary["source"], primary["moved"], primary["files"]) == ("primary", 1, ["clip.mov"])
    assert primary["destination_project"] == "Unsorted-Loose"
    assert (root / "clip.mov").exists() and not (root / "Unsorted-Loose").exists()
    response = client.post("/api/projects/auto-organize")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is False and body["status"] == "ok" and body["health"] == "ok"
    assert body["moved"] == 1 and body["relocated"] == 1 and body["indexed"] == 1
    (primary,) = body["sources"]
    assert (primary["moved"], primary["files"]) == (1, ["clip.mov"])
    assert primary["destination_project"] == "Unsorted-Loose"
    assert (root / "Unsorted-Loose" / ORIG / "clip.mov").exists()
    assert (root / ".DS_Store").exists() and (root / "todo.txt").exists()
    again = client.post("/api/projects/auto-organize").json()
    assert again["status"] == "ok" and again["moved"] == 0
    (primary,) = again["sources"]
    assert (primary["moved"], primary["destination_project"], primary["files"]) == (0, None, [])


def test_auto_organize_answers_ok_and_reports_an_offline_source_as_degraded_health(
    client: TestClient[object], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    root, _ = roots
    other = tmp_path / "nas"
    other.mkdir()
    assert client.post("/api/sources", json={"name": "nas", "root": str(other)}).status_code == 201
    write(root / "loose.mp4", b"l")
    os.rename(other, tmp_path / "nas-unplugged")
    response = client.post("/api/projects/auto-organize")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["health"] == "degraded"  # the original's status
    assert [o["source"] for o in body["offline_sources"]] == ["nas"]
    assert body["moved"] == 1
    by_source = {s["source"]: s for s in body["sources"]}
    assert by_source["primary"]["files"] == ["loose.mp4"] and by_source["primary"]["moved"] == 1
    assert by_source["nas"]["moved"] == 0 and by_source["nas"]["destination_project"] is None
    assert by_source["nas"]["accessible"] is False
    assert (root / "Unsorted-Loose" / ORIG / "loose.mp4").exists()


def test_health_shows_the_watch_mode_when_serving_with_the_watcher(settings: Settings) -> None:
    fast = settings.with_overrides(watch="polling", poll_interval_seconds=0.2)
    with TestClient(create_app(fast, services=default_services(fast))) as client:
        wait_until(lambda: client.get("/health").json()["daemon"].get("passes", 0) >= 1)
        health = client.get("/health").json()
        primary = next(s for s in health["sources"] if s["name"] == "primary")
        assert primary["watch"]["mode"] == "polling"
        assert "MEDIA_SYNC_WATCH=polling" in primary["watch"]["reason"]
        write(settings.projects_root / "P1-Live" / ORIG / "x.mov", b"x")
        wait_until(
            lambda: (
                client.get("/api/projects/P1-Live").status_code == 200
                and client.get("/api/projects/P1-Live").json()["counts"]["files"] == 1
            )
        )
