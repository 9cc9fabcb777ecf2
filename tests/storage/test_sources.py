"""Sources live under MEDIA_SYNC_SOURCE_PARENTS, registering moves nothing, and a source can be
removed (files kept, catalog rows dropped), on a live server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from daemon.storage.conventions import ORIGINALS
from tests.factories import make_jpeg
from tests.support.catalogfile import query
from tests.support.files import tree
from tests.support.server import LiveServer, serving


def registry(server: LiveServer) -> list[dict[str, Any]]:
    path = server.root / "_sources" / "sources.json"
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = json.loads(path.read_text())["sources"]
    return entries


def catalog_rows(server: LiveServer, source: str) -> tuple[int, int]:
    """(files, projects) the catalog holds for ``source``."""
    ((files,),) = query(server.state, 'SELECT COUNT(*) FROM "file" WHERE source = ?', source)
    ((projects,),) = query(server.state, 'SELECT COUNT(*) FROM "project" WHERE source = ?', source)
    return int(files), int(projects)


def home_like(tmp_path: Path) -> Path:
    """A folder shaped like a home directory, outside the primary root's parent."""
    home = tmp_path.parent / f"{tmp_path.name}-home" / "alice"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    make_jpeg(home / "Pictures" / "me.jpg")
    return home


@pytest.mark.parametrize("where", ["/etc", "/usr", "HOME", "HOME_LIKE", "LINK_OUT"])
def test_roots_outside_the_allowed_parents_are_400(
    quiet_server: LiveServer, tmp_path: Path, where: str
) -> None:
    link = tmp_path / "innocent-looking"  # inside the allowed parent, but resolves to /etc
    os.symlink("/etc", link)
    places = {
        "HOME": str(Path.home()),
        "HOME_LIKE": str(home_like(tmp_path)),
        "LINK_OUT": str(link),
    }
    root = places.get(where, where)
    before = tree(quiet_server.root)
    with quiet_server.client() as http:
        response = http.post("/api/sources", json={"name": "bad", "root": root})
        listed = http.get("/api/sources").json()
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "MEDIA_SYNC_SOURCE_PARENTS" in detail and str(tmp_path) in detail, detail
    assert [s["name"] for s in listed] == ["primary"]
    assert tree(quiet_server.root) == before


def test_configured_parents_replace_the_default(roots: tuple[Path, Path], tmp_path: Path) -> None:
    nas = tmp_path / "nas"
    (nas / "archive").mkdir(parents=True)
    beside = tmp_path / "beside"
    beside.mkdir()
    env = {"MEDIA_SYNC_SOURCE_PARENTS": str(nas)}
    with serving(*roots, args=["--no-watch"], env=env) as live, live.client() as http:
        refused = http.post("/api/sources", json={"name": "beside", "root": str(beside)})
        added = http.post("/api/sources", json={"name": "archive", "root": str(nas / "archive")})
    assert refused.status_code == 400, refused.text
    assert f"MEDIA_SYNC_SOURCE_PARENTS ({nas})" in refused.json()["detail"]
    assert added.status_code == 201, added.text


def test_registering_moves_nothing_stores_relocate_off_and_shows_a_dry_run(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    loose = make_jpeg(nas / "loose.jpg", variant=1)
    stray = make_jpeg(nas / "P1-Shoot" / "card" / "stray.jpg", variant=2)
    before = tree(nas)
    with quiet_server.client() as http:
        added = http.post("/api/sources", json={"name": "nas", "root": str(nas)})
        listed = {s["name"]: s for s in http.get("/api/sources").json()}
        preview = http.get("/api/sources/nas/relocation")
    assert added.status_code == 201, added.text
    item = added.json()
    assert {"name", "root", "type", "enabled", "accessible", "instructions"} <= set(item)
    assert item["relocate"] is False and listed["nas"]["relocate"] is False
    assert listed["primary"]["relocate"] is True
    assert registry(quiet_server)[0]["relocate"] is False
    moves = {m["from"]: m["to"] for m in item["dry_run"]["moves"]}
    assert moves == {
        "loose.jpg": f"Unsorted-Loose/{ORIGINALS}/loose.jpg",
        "P1-Shoot/card/stray.jpg": f"P1-Shoot/{ORIGINALS}/card/stray.jpg",
    }
    assert item["dry_run"]["would_move"] == 2
    assert (
        preview.status_code == 200
        and preview.json()["dry_run"]["moves"] == item["dry_run"]["moves"]
    )
    assert tree(nas) == before and loose.is_file() and stray.is_file()


def test_the_relocation_switch_is_stored(quiet_server: LiveServer, tmp_path: Path) -> None:
    nas = tmp_path / "nas"
    make_jpeg(nas / "loose.jpg")
    before = tree(nas)
    with quiet_server.client() as http:
        assert http.post("/api/sources", json={"name": "nas", "root": str(nas)}).status_code == 201
        on = http.post("/api/sources/nas/relocate", params={"enabled": "true"})
        stored_on = registry(quiet_server)[0]["relocate"]
        off = http.post("/api/sources/nas/relocate", params={"enabled": "false"})
        missing = http.post("/api/sources/nas/relocate")
        unknown = http.post("/api/sources/nope/relocate", params={"enabled": "true"})
    assert on.status_code == 200 and on.json()["relocate"] is True, on.text
    assert on.json()["dry_run"]["would_move"] == 1
    assert stored_on is True
    assert off.status_code == 200 and off.json()["relocate"] is False
    assert registry(quiet_server)[0]["relocate"] is False
    assert missing.status_code == 400 and unknown.status_code == 404
    assert tree(nas) == before  # switching (and its dry run) moves nothing by itself


def test_an_old_entry_without_the_switch_does_not_relocate(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    make_jpeg(old / "loose.jpg")
    (quiet_server.root / "_sources").mkdir()
    entry = {"name": "old", "root": str(old), "enabled": True}
    (quiet_server.root / "_sources" / "sources.json").write_text(json.dumps({"sources": [entry]}))
    with quiet_server.client() as http:
        listed = {s["name"]: s for s in http.get("/api/sources").json()}
    assert listed["old"]["relocate"] is False and listed["old"]["accessible"] is True


def test_an_entry_outside_the_parents_is_listed_but_neither_served_nor_watched(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    home = home_like(tmp_path)
    (quiet_server.root / "_sources").mkdir()
    entry = {"name": "home", "root": str(home), "enabled": True, "relocate": True}
    (quiet_server.root / "_sources" / "sources.json").write_text(json.dumps({"sources": [entry]}))
    before = tree(home)
    with quiet_server.client() as http:
        listed = {s["name"]: s for s in http.get("/api/sources").json()}
        projects = http.get("/api/projects", params={"source": "home"})
        reindex = http.post("/reindex")
        organize = http.post("/api/projects/auto-organize")
        health = http.get("/health").json()
    item = listed["home"]
    assert item["accessible"] is False and "MEDIA_SYNC_SOURCE_PARENTS" in item["error"]
    assert "DELETE /api/sources/home" in item["instructions"]
    assert projects.status_code == 400 and "is not served" in projects.json()["detail"]
    assert reindex.status_code == 200 and organize.status_code == 200
    assert "home" not in {s["source"] for s in reindex.json()["sources"]}
    assert "home" not in {s["name"] for s in health["sources"]}
    assert tree(home) == before  # never moved from


def test_removing_a_source_keeps_its_files_and_drops_its_catalog_rows(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    make_jpeg(nas / "P1-Shoot" / ORIGINALS / "a.jpg", variant=5)
    with quiet_server.client() as http:
        assert http.post("/api/sources", json={"name": "nas", "root": str(nas)}).status_code == 201
        assert (
            http.post("/api/projects/P1-Shoot/reindex", params={"source": "nas"}).status_code == 200
        )
        assert catalog_rows(quiet_server, "nas") == (1, 1)
        before = tree(nas / "P1-Shoot" / ORIGINALS)
        removed = http.delete("/api/sources/nas")
        listed = [s["name"] for s in http.get("/api/sources").json()]
        gone = http.get("/api/projects", params={"source": "nas"})
        again = http.delete("/api/sources/nas")
        primary = http.delete("/api/sources/primary")
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert body["name"] == "nas" and body["catalog_files_removed"] == 1
    assert body["catalog_projects_removed"] == 1
    assert listed == ["primary"] and registry(quiet_server) == []
    assert gone.status_code == 404 and again.status_code == 404
    assert primary.status_code == 400 and "primary" in primary.json()["detail"]
    assert catalog_rows(quiet_server, "nas") == (0, 0)
    assert tree(nas / "P1-Shoot" / ORIGINALS) == before
    assert (nas / "P1-Shoot" / "index.json").is_file()
