"""`media-sync rebuild` in a subprocess: seed-era adoption, catalog re-creation, corrupt index.json."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from ingress.app import create_app
from tests.support.catalogs import lose_catalog, query
from tests.support.env import env_for, run_cli, settings_for

CLIP = os.urandom(20_000)


def seed_project(root: Path, name: str, files: dict[str, bytes], counts: dict[str, int]) -> Path:
    """A seed-era project: originals plus an index.json holding only sha256 entries."""
    folder = root / name
    entries = []
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        entries.append(
            {
                "relative_path": rel,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "uploaded_at": "2023-01-02T03:04:05Z",
            }
        )
    (folder / "index.json").write_text(json.dumps({"files": entries, "counts": counts}))
    return folder


def rebuild(root: Path, state: Path) -> str:
    done = run_cli(["rebuild"], env_for(root, state), timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def fetch(root: Path, state: Path, project: str) -> dict[str, Any]:
    with TestClient(create_app(settings_for(root, state))) as client:
        response = client.get(f"/api/projects/{project}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def test_seed_era_folder_is_adopted_with_history(roots: tuple[Path, Path]) -> None:
    root, state = roots
    seed_project(
        root,
        "P3-Old",
        {"ingest/originals/a.mov": CLIP},
        {"videos": 1, "duplicates_skipped": 4, "removed_missing_records": 2},
    )
    rebuild(root, state)
    body = fetch(root, state, "P3-Old")
    files = body["files"]
    assert [f["relative_path"] for f in files] == ["ingest/originals/a.mov"]
    assert files[0]["sha256"] == hashlib.sha256(CLIP).hexdigest()
    assert files[0]["uploaded_at"] == "2023-01-02T03:04:05Z"
    counts = body["counts"]
    assert (counts["videos"], counts["duplicates_skipped"], counts["removed_missing_records"]) == (
        1,
        4,
        2,
    )
    index = json.loads((root / "P3-Old/index.json").read_text())
    assert index["counts"]["duplicates_skipped"] == 4
    assert index["files"][0]["uploaded_at"] == "2023-01-02T03:04:05Z"


def test_deleting_the_catalog_and_rebuilding_gives_the_same_files(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    with TestClient(create_app(settings_for(root, state))) as client:
        project = client.post("/api/projects", json={"name": "Live"}).json()["name"]
        for name, data in (("a.mov", CLIP), ("b.jpg", b"\xff\xd8" + os.urandom(900))):
            response = client.post(
                f"/api/projects/{project}/upload", files={"file": (name, data, "video/mp4")}
            )
            assert response.json()["status"] == "stored"
        client.post(f"/api/projects/{project}/upload", files={"file": ("c.mov", CLIP, "v/q")})
        before = client.get(f"/api/projects/{project}").json()
    lose_catalog(settings_for(root, state))
    rebuild(root, state)
    after = fetch(root, state, project)

    def essentials(body: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (f["relative_path"], f["sha256"], f["blake3"], f["size"], f["uploaded_at"])
            for f in body["files"]
        ]

    assert essentials(after) == essentials(before)
    assert after["counts"] == before["counts"]
    assert after["counts"]["duplicates_skipped"] == 1


def test_corrupt_index_is_preserved_and_reported(roots: tuple[Path, Path]) -> None:
    root, state = roots
    good = seed_project(
        root,
        "P1-Good",
        {"ingest/originals/g.mov": CLIP},
        {"videos": 1, "duplicates_skipped": 3, "removed_missing_records": 0},
    )
    bad = root / "P2-Bad"
    (bad / "ingest/originals").mkdir(parents=True)
    (bad / "ingest/originals/b.mov").write_bytes(b"bad project clip")
    corrupt = b'{"files": [ {"relative_path": '
    (bad / "index.json").write_bytes(corrupt)
    output = rebuild(root, state)
    assert "P2-Bad" in output and "index.json" in output
    kept = list((bad / "_manifest").glob("index.corrupt-*.json"))
    assert [p.read_bytes() for p in kept] == [corrupt]
    rewritten = json.loads((bad / "index.json").read_text())
    assert [f["relative_path"] for f in rewritten["files"]] == ["ingest/originals/b.mov"]
    good_body = fetch(root, state, "P1-Good")
    assert [f["relative_path"] for f in good_body["files"]] == ["ingest/originals/g.mov"]
    assert good_body["counts"]["duplicates_skipped"] == 3
    assert json.loads((good / "index.json").read_text())["counts"]["duplicates_skipped"] == 3
    bad_body = fetch(root, state, "P2-Bad")
    assert [f["relative_path"] for f in bad_body["files"]] == ["ingest/originals/b.mov"]


def test_a_rebuild_keeps_the_jobs_and_makes_a_catalog_of_a_new_identity(
    roots: tuple[Path, Path],
) -> None:
    """On sqlite the jobs are carried into the new file; on PostgreSQL the rebuild runs in the
    live tables and leaves them. Either way the catalog's identity changes (no cached listing
    is taken for the new one), stale rows go, and the next job gets a new id."""
    root, state = roots
    settings = settings_for(root, state)
    with TestClient(create_app(settings)) as client:
        project = client.post("/api/projects", json={"name": "Kept"}).json()["name"]
        stored = client.post(f"/api/projects/{project}/upload", files={"file": ("a.mov", CLIP)})
        rel = stored.json()["path"]
        body = {"project": project, "media_rel_paths": [rel], "mode": "import"}
        job = client.post("/api/resolve/open", json=body).json()["job"]
        before = query(settings, "SELECT value FROM meta WHERE key = 'catalog_id'")
    (root / project / rel).unlink()  # gone from disk: the rebuilt catalog does not list it
    (root / project / "ingest/originals/b.mov").write_bytes(b"dropped while stopped")
    output = rebuild(root, state)
    assert "1 Resolve jobs kept" in output
    assert query(settings, "SELECT value FROM meta WHERE key = 'catalog_id'") != before
    with TestClient(create_app(settings)) as client:
        jobs = client.get("/api/resolve/jobs").json()["jobs"]
        assert [(j["id"], j["status"]) for j in jobs] == [(job["id"], "pending")]
        files = client.get(f"/api/projects/{project}").json()["files"]
        assert [f["relative_path"] for f in files] == ["ingest/originals/b.mov"]
        body = {"project": project, "media_rel_paths": ["ingest/originals/b.mov"], "mode": "import"}
        again = client.post("/api/resolve/open", json=body).json()["job"]
        assert again["id"] == job["id"] + 1
