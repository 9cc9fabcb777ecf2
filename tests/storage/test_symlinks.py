"""Writes never follow symlinks: planted journal links, symlinked layout folders, on a live server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from daemon.errors import UnsafePath
from daemon.storage.conventions import (
    MANIFEST_DIR,
    ORIGINALS,
    THUMBNAILS,
    SymlinkRefused,
    append_jsonl,
    atomic_write_bytes,
    checked_dir,
    place_no_overwrite,
)
from tests.factories import jpeg_bytes, make_jpeg
from tests.support.api import assert_error, create_project
from tests.support.files import tree
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

RC = b"# a shell rc file\nexport PATH=/usr/bin\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the projects root, with a file a hostile link would like to write to."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "bashrc").write_bytes(RC)
    return folder


def test_planted_journal_links_are_never_written_through(
    quiet_server: LiveServer, outside: Path, tmp_path: Path
) -> None:
    with quiet_server.client() as http:
        project = create_project(http, "Trip")
        manifest = quiet_server.root / project / MANIFEST_DIR
        for journal in ("files.jsonl", "events.jsonl"):
            (manifest / journal).unlink(missing_ok=True)
            os.symlink(outside / "bashrc", manifest / journal)
        album = http.post(f"/api/projects/{project}/sync-album", json={"album_name": "x"})
        upload = http.post(
            f"/api/projects/{project}/upload",
            files={"file": ("a.jpg", jpeg_bytes(variant=1), "image/jpeg")},
        )
    detail = assert_error(album, 400, "SymlinkRefused")["detail"]
    assert f"{project}/_manifest/events.jsonl is a symlink" in detail
    assert "does not write through symlinks" in detail
    # The upload is committed (a refused journal line never turns it into an error) ...
    assert upload.status_code == 200, upload.text
    assert upload.json()["status"] == "stored"
    assert (quiet_server.root / project / ORIGINALS / "a.jpg").is_file()
    # ... and the file the links point to is byte-identical.
    assert (outside / "bashrc").read_bytes() == RC
    assert sorted(p.name for p in outside.iterdir()) == ["bashrc"]
    assert all((manifest / j).is_symlink() for j in ("files.jsonl", "events.jsonl"))


@pytest.mark.parametrize("layout_dir", [ORIGINALS, THUMBNAILS, MANIFEST_DIR, "ingest"])
def test_a_symlinked_layout_folder_refuses_uploads_before_any_byte(
    quiet_server: LiveServer, outside: Path, tmp_path: Path, layout_dir: str
) -> None:
    with quiet_server.client() as http:
        project = create_project(http, "Trip")
        link = quiet_server.root / project / layout_dir
        shutil.rmtree(link)
        os.symlink(outside, link)
        before_root, before_outside = tree(quiet_server.root), tree(outside)
        body = jpeg_bytes(variant=2)
        multipart = http.post(
            f"/api/projects/{project}/upload", files={"file": ("b.jpg", body, "image/jpeg")}
        )
        raw = http.put(f"/api/projects/{project}/files/c.jpg", content=body)
        album = http.post(f"/api/projects/{project}/sync-album", json={"album_name": "x"})
    for response in (multipart, raw, album):
        detail = assert_error(response, 400, "SymlinkRefused")["detail"]
        assert f"{project}/{layout_dir} is a symlink to {outside}" in detail, detail
        assert "replace it with a real folder" in detail
    assert tree(outside) == before_outside
    assert tree(quiet_server.root) == before_root


def test_a_reconcile_keeps_going_past_a_symlinked_project_and_writes_nothing_outside(
    quiet_server: LiveServer, outside: Path
) -> None:
    with quiet_server.client() as http:
        bad, good = create_project(http, "Bad"), create_project(http, "Good")
        thumbs = quiet_server.root / bad / THUMBNAILS
        shutil.rmtree(thumbs)
        os.symlink(outside, thumbs)
        make_jpeg(quiet_server.root / bad / ORIGINALS / "bad.jpg", variant=3)
        make_jpeg(quiet_server.root / good / ORIGINALS / "good.jpg", variant=4)
        response = http.post("/reindex")
        assert response.status_code == 200, response.text
        body = response.json()
        good_media = http.get(f"/api/projects/{good}/media").json()
        wait_until(  # the good project's thumbnail proves previews ran
            lambda: list((quiet_server.root / good / THUMBNAILS).iterdir()), 20, what="previews"
        )
    assert [m["relative_path"] for m in good_media["media"]] == [f"{ORIGINALS}/good.jpg"]
    assert any("is a symlink" in e.get("error", "") for e in body["errors"]), body["errors"]
    assert tree(outside) == {"bashrc": RC}


def test_the_writers_refuse_a_symlinked_folder_inside_the_root(
    tmp_path: Path, outside: Path
) -> None:
    # The root itself may be a link (a mount point, /var on macOS); folders below it may not.
    real_root = tmp_path / "real-root"
    (real_root / "P1-A" / "ingest").mkdir(parents=True)
    root = tmp_path / "root-link"
    os.symlink(real_root, root)
    os.symlink(outside, real_root / "P1-A" / ORIGINALS)
    os.symlink(outside, real_root / "P1-A" / MANIFEST_DIR)
    temp = tmp_path / "temp.bin"
    temp.write_bytes(b"x")
    with pytest.raises(SymlinkRefused, match="P1-A/ingest/originals is a symlink to"):
        place_no_overwrite(temp, root / "P1-A" / ORIGINALS, "x.jpg")
    with pytest.raises(SymlinkRefused, match="P1-A/_manifest is a symlink to"):
        append_jsonl(root / "P1-A" / MANIFEST_DIR / "files.jsonl", {"a": 1})
    with pytest.raises(SymlinkRefused, match="P1-A/ingest/originals is a symlink"):
        atomic_write_bytes(root / "P1-A" / ORIGINALS / "sub" / "x.jpg", b"y")
    os.symlink(outside, real_root / "_sources")
    with pytest.raises(UnsafePath, match="_sources is a symlink"):
        atomic_write_bytes(root / "_sources" / "sources.json", b"{}")
    assert tree(outside) == {"bashrc": RC}
    assert temp.read_bytes() == b"x"
    # A write never brings back a project folder that is gone (renamed, unmounted) ...
    with pytest.raises(FileNotFoundError, match="does not re-create it"):
        atomic_write_bytes(root / "P2-B" / THUMBNAILS / "t.jpg", b"t")
    assert not (real_root / "P2-B").exists()
    # ... and real folders inside a project below a linked root are made one at a time.
    (real_root / "P2-B").mkdir()
    atomic_write_bytes(root / "P2-B" / THUMBNAILS / "t.jpg", b"t")
    assert (real_root / "P2-B" / THUMBNAILS / "t.jpg").read_bytes() == b"t"
    assert checked_dir(root, root / "P2-B" / THUMBNAILS) == root / "P2-B" / THUMBNAILS
    with pytest.raises(SymlinkRefused, match="not inside"):
        checked_dir(root, outside)


def test_registering_through_a_symlinked_sources_folder_is_refused(
    quiet_server: LiveServer, outside: Path, tmp_path: Path
) -> None:
    os.symlink(outside, quiet_server.root / "_sources")
    extra = tmp_path / "extra"
    extra.mkdir()
    with quiet_server.client() as http:
        response = http.post("/api/sources", json={"name": "extra", "root": str(extra)})
    assert "_sources is a symlink to" in assert_error(response, 400, "SymlinkRefused")["detail"]
    assert tree(outside) == {"bashrc": RC}
