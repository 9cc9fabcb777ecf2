"""Names a Mac writes over SMB (NFD) and folders that are not projects, against a real
`media-sync serve`: real folders and media files on disk, real HTTP."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import httpx
import pytest

from tests.factories import make_jpeg, make_video
from tests.support.api import assert_error
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

NFC_PROJECT = "P3-Caf\u00e9"
NFD_PROJECT = "P3-Cafe\u0301"
NFC_FILE = "cr\u00e8me.jpg"
NFD_FILE = "cre\u0300me.jpg"


def _nfd_project(root: Path) -> Path:
    """A project folder and a photo in it, both named in NFD (as a Mac makes them)."""
    assert unicodedata.normalize("NFC", NFD_PROJECT) == NFC_PROJECT != NFD_PROJECT
    folder = root / NFD_PROJECT
    os.mkdir(folder)
    originals = folder / "ingest" / "originals"
    originals.mkdir(parents=True)
    make_jpeg(originals / NFD_FILE)
    return folder


def _top_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("_"))


def test_an_nfd_project_answers_to_its_nfc_name(quiet_server: LiveServer) -> None:
    root = quiet_server.root
    _nfd_project(root)
    with quiet_server.client() as http:
        reindexed = http.post(f"/api/projects/{NFC_PROJECT}/reindex")
        assert reindexed.status_code == 200, reindexed.text
        assert reindexed.json()["indexed"] == 1
        fetched = http.get(f"/api/projects/{NFC_PROJECT}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["name"] == NFD_PROJECT  # the folder's own spelling, untouched
        media = http.get(f"/api/projects/{NFC_PROJECT}/media")
        assert media.status_code == 200, media.text
        paths = [item["relative_path"] for item in media.json()["media"]]
        assert paths == [f"ingest/originals/{NFD_FILE}"]
        on_disk = (root / NFD_PROJECT / "ingest/originals" / NFD_FILE).read_bytes()
        streamed = http.get(f"/media/{NFC_PROJECT}/ingest/originals/{NFC_FILE}")
        assert streamed.status_code == 200, streamed.text
        assert streamed.content == on_disk
        saved = http.get(f"/media/{NFC_PROJECT}/download/ingest/originals/{NFC_FILE}")
        assert saved.status_code == 200, saved.text
        assert saved.content == on_disk
        created = http.post("/api/projects", json={"name": NFC_PROJECT})
        assert created.status_code == 201, created.text
        assert (created.json()["name"], created.json()["created"]) == (NFD_PROJECT, False)
        by_label = http.post("/api/projects", json={"name": "Caf\u00e9"})
        assert (by_label.json()["name"], by_label.json()["created"]) == (NFD_PROJECT, False)
        assert _top_folders(root) == [NFD_PROJECT]  # no second folder
        tagged = http.post(
            f"/api/projects/{NFC_PROJECT}/media/tags",
            json={"relative_paths": [f"ingest/originals/{NFC_FILE}"], "add_tags": ["dessert"]},
        )
        assert tagged.status_code == 200, tagged.text
        assert [i["tags"]["manual"] for i in tagged.json()["updated"]] == [["dessert"]]
        deleted = http.post(
            f"/api/projects/{NFC_PROJECT}/media/delete",
            json={"relative_paths": [f"ingest/originals/{NFC_FILE}"]},
        )
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["removed"] == [f"ingest/originals/{NFD_FILE}"]
        assert not (root / NFD_PROJECT / "ingest/originals" / NFD_FILE).exists()
        assert http.get(f"/api/projects/{NFC_PROJECT}/media").json()["media"] == []


def _foreign(root: Path, name: str) -> Path:
    """A folder that is not a project, with two photos (one nested) and a video."""
    folder = root / name
    make_jpeg(folder / "a.jpg")
    make_jpeg(folder / "DCIM" / "b.jpg", variant=1)
    make_video(folder / "clip.mp4")
    (folder / "notes.txt").write_text("not media")
    return folder


def _unadopted(http: httpx.Client) -> list[dict[str, object]]:
    response = http.get("/api/folders/unadopted")
    assert response.status_code == 200, response.text
    folders: list[dict[str, object]] = response.json()["folders"]
    return folders


def test_unadopted_folders_are_reported_and_adopted(quiet_server: LiveServer) -> None:
    root = quiet_server.root
    _foreign(root, "Wedding 2026")
    for system in ("#recycle", "@eaDir", ".Trash-1000", "$RECYCLE.BIN", "lost+found", "_old"):
        make_jpeg(root / system / "x.jpg")
    with quiet_server.client() as http:
        existing = http.post("/api/projects", json={"name": "Trip"})
        assert existing.json()["name"] == "P1-Trip"
        expected = {
            "source": "primary",
            "folder": "Wedding 2026",
            "media_files": 3,
            "media_files_capped": False,
            "suggested_project": "P2-Wedding-2026",
        }
        assert _unadopted(http) == [expected]
        assert http.get("/health").json()["unadopted_folders"] == [expected]
        assert http.post("/reindex").json()["unadopted_folders"] == [expected]
        before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        dry = http.post(
            "/api/folders/adopt",
            json={"source": "primary", "folder": "Wedding 2026", "dry_run": True},
        )
        assert dry.status_code == 200, dry.text
        assert {k: dry.json()[k] for k in ("folder", "project", "media_files", "dry_run")} == {
            "folder": "Wedding 2026",
            "project": "P2-Wedding-2026",
            "media_files": 3,
            "dry_run": True,
        }
        assert dry.json()["renamed"] is False
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before
        done = http.post(
            "/api/folders/adopt",
            json={"source": "primary", "folder": "Wedding 2026", "dry_run": False},
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert (body["project"], body["renamed"], body["dry_run"]) == (
            "P2-Wedding-2026",
            True,
            False,
        )
        assert not (root / "Wedding 2026").exists()
        project = root / "P2-Wedding-2026"
        assert (project / "_manifest").is_dir() and (project / "index.json").is_file()
        listed = [p["name"] for p in http.get("/api/projects").json()]
        assert listed == ["P1-Trip", "P2-Wedding-2026"]
        media = http.get("/api/projects/P2-Wedding-2026/media").json()["media"]
        assert sorted(item["relative_path"] for item in media) == [
            "ingest/originals/DCIM/b.jpg",
            "ingest/originals/a.jpg",
            "ingest/originals/clip.mp4",
        ]
        assert (project / "notes.txt").is_file()  # not media: left where it was
        assert _unadopted(http) == []
        assert http.get("/health").json()["unadopted_folders"] == []


def test_adopt_refuses_paths_symlinks_projects_and_unknown_folders(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    root = quiet_server.root
    outside = _foreign(tmp_path, "outside")
    os.symlink(outside, root / "Linked")
    _foreign(root, "Real")
    with quiet_server.client() as http:
        assert [f["folder"] for f in _unadopted(http)] == ["Real"]  # the symlink is not listed
        http.post("/api/projects", json={"name": "Done"})
        for folder in ("../outside", "Real/DCIM", "/etc", "..", "Linked", ".Trash-1", "#recycle"):
            answer = http.post("/api/folders/adopt", json={"folder": folder, "dry_run": False})
            assert_error(answer, 400, "UnsafePath")
        missing = http.post("/api/folders/adopt", json={"folder": "Nope", "dry_run": True})
        assert_error(missing, 404, "NotFound")
        project = http.post("/api/folders/adopt", json={"folder": "P1-Done", "dry_run": False})
        assert_error(project, 409, "AlreadyExists")
        bad = http.post("/api/folders/adopt", json={"folder": "Real", "dry_run": "yes"})
        assert_error(bad, 400, "InvalidInput")
        unknown = http.post("/api/folders/adopt", json={"source": "nas2", "folder": "Real"})
        assert_error(unknown, 404, "SourceNotFound")
    assert sorted(p.name for p in outside.iterdir()) == ["DCIM", "a.jpg", "clip.mp4", "notes.txt"]
    assert (root / "Real").is_dir() and (root / "Linked").is_symlink()


def test_adopt_writes_need_the_write_token(roots: tuple[Path, Path]) -> None:
    from tests.support.server import serving

    root, state = roots
    _foreign(root, "Holiday")
    env = {
        "MEDIA_SYNC_API_TOKEN": "write-token-0123456789",
        "MEDIA_SYNC_READ_TOKEN": "read-token-0123456789",
    }
    with serving(root, state, args=["--no-watch"], env=env) as server, server.client() as http:
        body = {"folder": "Holiday", "dry_run": False}
        refused = http.post("/api/folders/adopt", json=body)
        assert refused.status_code == 401, refused.text
        read_only = http.post(
            "/api/folders/adopt",
            json=body,
            headers={"Authorization": "Bearer read-token-0123456789"},
        )
        assert read_only.status_code == 403, read_only.text
        assert (root / "Holiday").is_dir()
        allowed = http.post(
            "/api/folders/adopt",
            json=body,
            headers={"Authorization": "Bearer write-token-0123456789"},
        )
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["project"] == "P1-Holiday"
