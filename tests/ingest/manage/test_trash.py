"""Delete into the trash, restore, retention: only catalogued media, never through a symlink."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog import utcnow
from daemon.errors import SettingsError
from daemon.ingest.pipeline import ingest_in_place
from daemon.ingest.trash import TRASH_JOURNAL, purge_project, purge_trash
from daemon.library import Library
from daemon.settings import Settings
from tests.ingest.manage.helpers import jpeg, rows
from tests.support.api import create_project as new_project
from tests.support.api import upload
from tests.support.files import events, index_entries, jsonl


def delete(client: TestClient[Any], project: str, paths: object) -> Any:
    return client.post(f"/api/projects/{project}/media/delete", json={"relative_paths": paths})


def test_delete_trashes_and_restore_brings_back_uploaded_at_and_tags(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Trip")
    folder = roots[0] / project
    source_file = jpeg(tmp_path, "a.jpg")
    rel = upload(client, project, source_file)["path"]
    tagged = client.post(
        f"/api/projects/{project}/media/tags", json={"relative_paths": [rel], "add_tags": ["Sea"]}
    )
    assert tagged.status_code == 200, tagged.text
    uploaded_at = index_entries(folder)[rel]["uploaded_at"]

    response = delete(client, project, [rel, "ingest/originals/never.jpg"])
    assert response.status_code == 200, response.text
    body = response.json()
    today = utcnow()[:10]
    trash_path = f"_manifest/trash/{today}/{rel}"
    assert body["status"] == "ok"
    assert body["removed"] == [rel]
    assert body["missing"] == ["ingest/originals/never.jpg"]
    assert body["trash"] == [{"relative_path": rel, "trash_path": trash_path}]
    assert not (folder / rel).exists()
    assert (folder / trash_path).read_bytes() == source_file.read_bytes()
    assert rel not in index_entries(folder)
    assert rows(client, "primary", project) == {}
    listing = client.get(f"/api/projects/{project}/media").json()
    assert [item["relative_path"] for item in listing["media"]] == []
    assert events(folder)[-1]["event"] == "media_deleted"
    assert events(folder)[-1]["payload"] == {"paths": [rel], "source": "primary"}
    assert jsonl(folder / "_manifest/files.jsonl")[-1]["action"] == "trashed"

    items = client.get(f"/api/projects/{project}/trash").json()
    assert items["retention_days"] == 30
    assert [(i["relative_path"], i["trash_path"]) for i in items["items"]] == [(rel, trash_path)]
    assert items["items"][0]["expires_at"] > items["items"][0]["trashed_at"]

    restored = client.post(f"/api/projects/{project}/media/restore", json={"relative_paths": [rel]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["restored"] == [{"relative_path": rel, "from": trash_path}]
    assert restored.json()["missing"] == []
    assert (folder / rel).read_bytes() == source_file.read_bytes()
    entry = index_entries(folder)[rel]
    assert (entry["uploaded_at"], entry["tags"]) == (uploaded_at, ["sea"])
    assert client.get(f"/api/projects/{project}/trash").json()["items"] == []
    assert events(folder)[-1]["event"] == "media_restored"
    assert events(folder)[-1]["payload"] == {"paths": [rel], "source": "primary"}


def test_restore_never_overwrites_a_file_now_at_the_same_place(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Clash")
    folder = roots[0] / project
    rel = upload(client, project, jpeg(tmp_path, "a.jpg", variant=1))["path"]
    assert delete(client, project, [rel]).status_code == 200
    newer = upload(client, project, jpeg(tmp_path, "a.jpg", variant=2))
    assert newer["path"] == rel
    body = client.post(
        f"/api/projects/{project}/media/restore", json={"relative_paths": [rel]}
    ).json()
    assert body["restored"][0]["relative_path"] == "ingest/originals/a-1.jpg"
    assert (folder / rel).read_bytes() == (tmp_path / "src/2/a.jpg").read_bytes()
    assert (folder / "ingest/originals/a-1.jpg").read_bytes() == (
        tmp_path / "src/1/a.jpg"
    ).read_bytes()
    assert set(index_entries(folder)) == {rel, "ingest/originals/a-1.jpg"}


def test_delete_never_goes_through_a_symlink(
    client: TestClient[Any], lib: Library, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Links")
    ref = lib.project(None, project)
    outside = tmp_path / "outside"
    # A catalogued file replaced by a symlink to a file outside the project.
    rel_file = upload(client, project, jpeg(tmp_path, "a.jpg", variant=1))["path"]
    target_file = jpeg(outside, "secret.jpg", variant=3)
    os.unlink(ref.path / rel_file)
    os.symlink(target_file, ref.path / rel_file)
    # A catalogued file whose folder was replaced by a symlink to a folder outside.
    jpeg(tmp_path, "b.jpg", variant=4).rename(ref.originals / "b.jpg")
    (ref.originals / "sub").mkdir()
    (ref.originals / "b.jpg").rename(ref.originals / "sub/b.jpg")
    ingest_in_place(lib, ref, "ingest/originals/sub/b.jpg")
    (ref.originals / "sub").rename(outside / "dir")
    os.symlink(outside / "dir", ref.originals / "sub")
    before = {p: p.read_bytes() for p in (target_file, outside / "dir/b.jpg")}

    response = delete(client, project, [rel_file, "ingest/originals/sub/b.jpg"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["removed"] == [] and body["trash"] == []
    assert body["missing"] == [rel_file, "ingest/originals/sub/b.jpg"]
    assert {p: p.read_bytes() for p in before} == before
    assert (ref.path / rel_file).is_symlink()
    assert client.get(f"/api/projects/{project}/trash").json()["items"] == []


@pytest.mark.parametrize(
    "rel", ["index.json", "_manifest/files.jsonl", "ingest/thumbnails/ab/abc.jpg"]
)
def test_media_syncs_own_files_are_refused_with_400(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path, rel: str
) -> None:
    project = new_project(client, "Own")
    folder = roots[0] / project
    upload(client, project, jpeg(tmp_path, "a.jpg"))
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    if not (folder / rel).exists():
        (folder / rel).write_bytes(b"thumb")
    before = (folder / rel).read_bytes()
    response = delete(client, project, ["ingest/originals/a.jpg", rel])
    assert response.status_code == 400
    assert "media-sync's own file" in response.json()["detail"]
    assert (folder / rel).read_bytes() == before
    assert (folder / "ingest/originals/a.jpg").exists()  # the whole request was refused


@pytest.mark.parametrize(
    ("paths", "words"),
    [
        ("ingest/originals/a.jpg", "must be a list"),
        ([], "at least one"),
        ([3], "must be a string"),
        (["/etc/passwd"], "must be relative"),
        (["ingest/../../x.jpg"], "'..'"),
        (["ingest/originals/a\x01.jpg"], "control character"),
        (["a.jpg"] * 2 + [f"{i}.jpg" for i in range(5000)], "at most 5000"),
    ],
)
def test_bad_paths_are_400_with_a_clear_detail(
    client: TestClient[Any], paths: object, words: str
) -> None:
    project = new_project(client, "Bad")
    for action in ("delete", "restore", "move", "tags"):
        body = {"relative_paths": paths, "target_project": "P9-X", "add_tags": ["x"]}
        response = client.post(f"/api/projects/{project}/media/{action}", json=body)
        assert response.status_code == 400, (action, response.text)
        assert words in response.json()["detail"]


def test_unknown_project_is_404(client: TestClient[Any]) -> None:
    response = delete(client, "P77-Nothing", ["ingest/originals/a.jpg"])
    assert response.status_code == 404
    assert client.get("/api/projects/P77-Nothing/trash").status_code == 404


def age_trash(folder: Path, rel: str, days: int) -> None:
    """Make the trash journal say ``rel`` was deleted ``days`` ago."""
    journal = folder / TRASH_JOURNAL
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    for entry in entries:
        if entry["relative_path"] == rel:
            stamp = datetime.now(UTC) - timedelta(days=days)
            entry["trashed_at"] = stamp.isoformat(timespec="seconds").replace("+00:00", "Z")
    journal.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_trash_older_than_the_retention_is_purged_younger_is_kept(
    client: TestClient[Any], lib: Library, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Old")
    folder = roots[0] / project
    old = upload(client, project, jpeg(tmp_path, "old.jpg", variant=1))["path"]
    young = upload(client, project, jpeg(tmp_path, "young.jpg", variant=2))["path"]
    trash = delete(client, project, [old, young]).json()["trash"]
    age_trash(folder, old, 31)
    age_trash(folder, young, 29)
    keep_forever = Library(lib.settings.with_overrides(trash_days=0), lib.catalog)
    assert purge_project(keep_forever, lib.project(None, project)) == 0
    assert purge_trash(lib) == 1
    assert not (folder / trash[0]["trash_path"]).exists()
    assert (folder / trash[1]["trash_path"]).exists()
    items = client.get(f"/api/projects/{project}/trash").json()["items"]
    assert [i["relative_path"] for i in items] == [young]
    restored = client.post(
        f"/api/projects/{project}/media/restore", json={"relative_paths": [old, young]}
    ).json()
    assert restored["missing"] == [old]
    assert [r["relative_path"] for r in restored["restored"]] == [young]


def test_every_delete_purges_expired_trash_of_its_project(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Purge")
    folder = roots[0] / project
    old = upload(client, project, jpeg(tmp_path, "old.jpg", variant=1))["path"]
    other = upload(client, project, jpeg(tmp_path, "other.jpg", variant=2))["path"]
    trash_path = delete(client, project, [old]).json()["trash"][0]["trash_path"]
    age_trash(folder, old, 45)
    assert delete(client, project, [other]).status_code == 200
    assert not (folder / trash_path).exists()
    items = client.get(f"/api/projects/{project}/trash").json()["items"]
    assert [i["relative_path"] for i in items] == [other]


def test_trash_days_setting_is_validated() -> None:
    assert Settings.from_env({}).trash_days == 30
    assert Settings.from_env({"MEDIA_SYNC_TRASH_DAYS": "0"}).trash_days == 0
    for bad in ("-1", "soon", "1.5"):
        with pytest.raises(SettingsError, match="MEDIA_SYNC_TRASH_DAYS"):
            Settings.from_env({"MEDIA_SYNC_TRASH_DAYS": bad})
