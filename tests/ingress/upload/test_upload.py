"""Uploads over the in-process client: responses, hashes, modes, de-dup, limits, index and journal."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import blake3
import pytest
from litestar.testing import TestClient

from daemon.settings import Settings
from ingress.app import create_app
from tests.support.api import create_project, upload_bytes
from tests.support.env import settings_for
from tests.support.files import events, index_doc, journal, temp_files, tree
from tests.support.server import REPO

Client = TestClient[Any]
CLIP = os.urandom(64 * 1024) + b"clip"


def test_stored_then_duplicate(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    first = upload_bytes(client, project, "clip.mov", CLIP)
    second = upload_bytes(client, project, "again.mov", CLIP)
    for body in (first, second):
        for key in ("status", "path", "sha256", "blake3", "size", "served", "instructions"):
            assert key in body, key
        assert set(body["served"]) >= {"stream_url", "download_url"}
        assert body["sha256"] == hashlib.sha256(CLIP).hexdigest()
        assert body["blake3"] == blake3.blake3(CLIP).hexdigest()
        assert body["size"] == len(CLIP)
        assert body["path"] == "ingest/originals/clip.mov"
    assert (first["status"], second["status"]) == ("stored", "duplicate")
    # the duplicate tells when the copy it matched was stored
    assert first["uploaded_at"] and second["uploaded_at"] == first["uploaded_at"]
    lines = events(settings.projects_root / project)
    assert [line["event"] for line in lines] == ["upload_ingested", "upload_duplicate_skipped"]
    assert all(set(line) == {"timestamp", "event", "payload"} for line in lines)
    assert lines[0]["payload"]["path"] == "ingest/originals/clip.mov"
    originals = settings.projects_root / project / "ingest/originals"
    assert sorted(p.name for p in originals.iterdir()) == ["clip.mov"]
    assert (originals / "clip.mov").read_bytes() == CLIP
    served = client.get(first["served"]["stream_url"])
    assert served.status_code == 200 and served.content == CLIP


def test_stored_mode_default_0644(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    body = upload_bytes(client, project, "clip.mov", CLIP)
    mode = (settings.projects_root / project / body["path"]).stat().st_mode
    assert stat.S_IMODE(mode) == 0o644


def test_file_mode_setting_is_honoured(client_with: Any, roots: tuple[Path, Path]) -> None:
    client = client_with(MEDIA_SYNC_FILE_MODE="0640")
    project = create_project(client, "Shoot")
    body = upload_bytes(client, project, "clip.mov", CLIP)
    assert stat.S_IMODE((roots[0] / project / body["path"]).stat().st_mode) == 0o640


def test_several_files_in_one_request(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    other = os.urandom(1000)
    response = client.post(
        f"/api/projects/{project}/upload",
        files=[
            ("files", ("a.mov", CLIP, "video/quicktime")),
            ("files", ("b.jpg", other, "image/jpeg")),
            ("files", ("c.mov", CLIP, "video/quicktime")),
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [f["status"] for f in body["files"]] == ["stored", "stored", "duplicate"]
    assert (body["stored"], body["duplicates"]) == (2, 1)
    originals = settings.projects_root / project / "ingest/originals"
    assert sorted(p.name for p in originals.iterdir()) == ["a.mov", "b.jpg"]


def test_a_refused_part_is_reported_beside_the_stored_ones(
    client: Client, settings: Settings
) -> None:
    project = create_project(client, "Shoot")
    response = client.post(
        f"/api/projects/{project}/upload",
        files=[
            ("files", ("a.mov", CLIP, "video/quicktime")),
            ("files", ("notes.txt", b"hello", "text/plain")),
            ("files", ("empty.mov", b"", "video/quicktime")),
            ("files", ("b.jpg", b"jpeg-ish", "image/jpeg")),
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(f["status"], f["filename"]) for f in body["files"]] == [
        ("stored", "a.mov"),
        ("refused", "notes.txt"),
        ("refused", "empty.mov"),
        ("stored", "b.jpg"),
    ]
    assert [f.get("status_code") for f in body["files"]] == [None, 415, 400, None]
    assert (body["stored"], body["duplicates"], body["refused"]) == (2, 0, 2)
    originals = settings.projects_root / project / "ingest/originals"
    assert sorted(p.name for p in originals.iterdir()) == ["a.mov", "b.jpg"]
    assert temp_files(settings.projects_root) == []


@pytest.mark.parametrize("method", ["multipart", "put"])
def test_an_empty_file_is_refused_and_never_a_duplicate(
    client: Client, settings: Settings, method: str
) -> None:
    project = create_project(client, "Shoot")
    for name in ("first.mov", "second.mov"):
        if method == "put":
            response = client.put(f"/api/projects/{project}/files/{name}", content=b"")
        else:
            response = client.post(
                f"/api/projects/{project}/upload", files={"file": (name, b"", "video/quicktime")}
            )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "EmptyUpload"
        assert "empty" in response.json()["detail"]
    originals = settings.projects_root / project / "ingest/originals"
    assert list(originals.iterdir()) == []
    assert client.get(f"/api/projects/{project}/media").json()["media"] == []


def test_raw_body_put(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    response = client.put(f"/api/projects/{project}/files/raw%20clip.mp4", content=CLIP)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "stored"
    assert body["sha256"] == hashlib.sha256(CLIP).hexdigest()
    assert (settings.projects_root / project / body["path"]).read_bytes() == CLIP
    again = client.put(f"/api/projects/{project}/files/other.mp4", content=CLIP)
    assert again.json()["status"] == "duplicate"


@pytest.mark.parametrize("name", ["notes.txt", "setup.exe", "noext"])
def test_unsupported_type_is_415(client: Client, settings: Settings, name: str) -> None:
    project = create_project(client, "Shoot")
    before = tree(settings.projects_root)
    response = client.post(
        f"/api/projects/{project}/upload", files={"file": (name, b"x" * 5000, "text/plain")}
    )
    assert response.status_code == 415, response.text
    assert ".mov" in response.json()["detail"] and ".heic" in response.json()["detail"]
    raw = client.put(f"/api/projects/{project}/files/{name}", content=b"x" * 5000)
    assert raw.status_code == 415
    assert tree(settings.projects_root) == before
    assert temp_files(settings.projects_root) == []


def test_too_large_is_413_and_leaves_nothing(client_with: Any, roots: tuple[Path, Path]) -> None:
    client = client_with(MEDIA_SYNC_MAX_UPLOAD_MB="1")
    project = create_project(client, "Shoot")
    before = tree(roots[0])
    big = b"\x00" * (1024 * 1024 + 10)
    response = client.post(
        f"/api/projects/{project}/upload", files={"file": ("big.mov", big, "video/quicktime")}
    )
    assert response.status_code == 413, response.text
    assert "MEDIA_SYNC_MAX_UPLOAD_MB" in response.json()["detail"]
    assert client.put(f"/api/projects/{project}/files/big.mov", content=big).status_code == 413
    assert tree(roots[0]) == before
    assert temp_files(roots[0]) == []
    assert upload_bytes(client, project, "small.mov", CLIP)["status"] == "stored"


def test_dedup_is_per_project(client: Client, settings: Settings) -> None:
    one, two = create_project(client, "One"), create_project(client, "Two")
    first = upload_bytes(client, one, "clip.mov", CLIP)
    second = upload_bytes(client, two, "clip.mov", CLIP)
    assert (first["status"], second["status"]) == ("stored", "stored")
    assert first["also_in"] == []
    assert [p["project"] for p in second["also_in"]] == [one]
    for project in (one, two):
        assert (settings.projects_root / project / "ingest/originals/clip.mov").read_bytes() == CLIP


def test_a_gone_copy_is_stored_again_and_keeps_its_record(
    client: Client, settings: Settings
) -> None:
    """Bytes catalogued in the project whose file is gone (hand-moved or deleted) are no
    duplicate: the upload stores them again and restores the record (uploaded_at)."""
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    first = upload_bytes(client, project, "clip.mov", CLIP)
    (folder / first["path"]).unlink()
    before = client.get(f"/api/projects/{project}").json()["counts"]["removed_missing_records"]
    again = upload_bytes(client, project, "clip.mov", CLIP)
    assert again["status"] == "stored"
    assert again["uploaded_at"] == first["uploaded_at"]
    assert (folder / again["path"]).read_bytes() == CLIP
    after = client.get(f"/api/projects/{project}").json()["counts"]["removed_missing_records"]
    assert after == before == 0
    index = index_doc(folder)
    assert [f["relative_path"] for f in index["files"]] == [again["path"]]
    assert [f["uploaded_at"] for f in index["files"]] == [first["uploaded_at"]]
    assert journal(folder)[-1]["action"] == "restored"


def test_name_clash_gets_suffix(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    other = os.urandom(2000)
    upload_bytes(client, project, "clip.mov", CLIP)
    second = upload_bytes(client, project, "clip.mov", other)
    assert second["status"] == "stored"
    assert second["path"] == "ingest/originals/clip-1.mov"
    originals = settings.projects_root / project / "ingest/originals"
    assert (originals / "clip.mov").read_bytes() == CLIP
    assert (originals / "clip-1.mov").read_bytes() == other


def test_index_and_journal_follow_the_spec(client: Client, settings: Settings) -> None:
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    upload_bytes(client, project, "a.mov", CLIP)
    upload_bytes(client, project, "b.mov", CLIP)
    upload_bytes(client, project, "c.jpg", b"\xff\xd8" + os.urandom(500))
    index = index_doc(folder)
    assert len(index["files"]) == 2
    for entry in index["files"]:
        assert isinstance(entry["relative_path"], str)
        assert len(entry["sha256"]) == 64
        assert isinstance(entry["size"], int)
        assert entry["uploaded_at"].endswith("Z")
    assert index["counts"]["videos"] == 1
    assert index["counts"]["duplicates_skipped"] == 1
    assert index["counts"]["removed_missing_records"] == 0
    actions = [r["action"] for r in journal(folder)]
    assert actions == ["stored", "duplicate", "stored"]


def test_crash_leftover_temps_removed_at_start(roots: tuple[Path, Path]) -> None:
    root, state = roots
    originals = root / "P1-Crash" / "ingest/originals"
    originals.mkdir(parents=True)
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from daemon.storage.conventions import temp_path_for
        path = temp_path_for(Path(sys.argv[1]), "clip.mov")
        path.write_bytes(b"partial")
        print(path)
        """
    )
    made = subprocess.run(
        [sys.executable, "-c", script, str(originals)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    dead = Path(made.stdout.strip())
    assert dead.exists()
    # A live upload holds its temp under flock: it is kept, whoever started first.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from daemon.storage.conventions import open_locked_temp; "
            "path, fd = open_locked_temp(Path(sys.argv[1]), 'clip.mov'); "
            "print(path, flush=True); time.sleep(60)",
            str(originals),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    try:
        alive = Path(holder.stdout.readline().strip())
        with TestClient(create_app(settings_for(root, state))) as client:
            assert client.get("/healthz").status_code == 200
        assert not dead.exists()
        assert alive.exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_crash_leftovers_of_atomic_writes_are_removed_too(roots: tuple[Path, Path]) -> None:
    """index.json, thumbnails and the source registry are written through temp files as well."""
    root, state = roots
    project = root / "P1-Crash"
    places = [
        project,
        project / "ingest/thumbnails",
        root / "_sources",
        project / "ingest/originals",
    ]
    for place in places:
        place.mkdir(parents=True, exist_ok=True)
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from daemon.storage.conventions import temp_path_for
        for place in sys.argv[1:]:
            temp = temp_path_for(Path(place), "index.json")
            temp.write_bytes(b"half a document")
            print(temp)
        """
    )
    made = subprocess.run(
        [sys.executable, "-c", script, *map(str, places)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    leftovers = [Path(line) for line in made.stdout.split()]
    assert len(leftovers) == len(places) and all(p.exists() for p in leftovers)
    keep = project / "notes.txt"
    keep.write_text("not ours")
    with TestClient(create_app(settings_for(root, state))) as client:
        assert client.get("/healthz").status_code == 200
    assert [p for p in leftovers if p.exists()] == []
    assert keep.read_text() == "not ours"
