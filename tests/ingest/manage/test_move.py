"""Moving media between projects: de-dup against files that really exist, identity carried."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.ingest.pipeline import ingest_in_place
from daemon.library import Library
from tests.ingest.manage.helpers import jpeg, rows
from tests.support.api import create_project as new_project
from tests.support.api import upload
from tests.support.files import events, index_entries, jsonl


def move(client: TestClient[Any], project: str, paths: list[str], target: str) -> Any:
    return client.post(
        f"/api/projects/{project}/media/move",
        json={"relative_paths": paths, "target_project": target},
    )


def test_a_move_carries_identity_uploaded_at_and_tags_and_is_journalled(
    client: TestClient[Any], lib: Library, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = new_project(client, "From"), new_project(client, "To")
    fa, fb = roots[0] / a, roots[0] / b
    original = jpeg(tmp_path, "a.jpg", variant=1)
    rel = upload(client, a, original)["path"]
    client.post(f"/api/projects/{a}/media/tags", json={"relative_paths": [rel], "add_tags": ["X"]})
    (fa / "ingest/originals/day1").mkdir()
    jpeg(tmp_path, "c.jpg", variant=2).rename(fa / "ingest/originals/day1/c.jpg")
    ingest_in_place(lib, lib.project(None, a), "ingest/originals/day1/c.jpg")
    before = rows(client, "primary", a)

    response = move(client, a, [rel, "ingest/originals/day1/c.jpg", "ingest/originals/no.jpg"], b)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["moved"] == [
        {"from": rel, "to": rel},
        {"from": "ingest/originals/day1/c.jpg", "to": "ingest/originals/day1/c.jpg"},
    ]
    assert (body["duplicates"], body["missing"]) == ([], ["ingest/originals/no.jpg"])
    assert (body["target_project"], body["target_source"], body["status"]) == (b, "primary", "ok")
    assert (fb / rel).read_bytes() == original.read_bytes() and not (fa / rel).exists()
    after = rows(client, "primary", b)
    assert rows(client, "primary", a) == {}
    for path, row in before.items():
        assert (after[path].id, after[path].uploaded_at) == (row.id, row.uploaded_at)
    assert index_entries(fb)[rel]["tags"] == ["x"]
    assert index_entries(fa) == {}
    out, into = events(fa)[-1], events(fb)[-1]
    assert (out["event"], into["event"]) == ("media_moved_out", "media_moved_in")
    assert out["payload"]["target_project"] == b and into["payload"]["from_project"] == a
    assert into["payload"]["paths"] == [rel, "ingest/originals/day1/c.jpg"]
    assert jsonl(fa / "_manifest/files.jsonl")[-1]["action"] == "moved"
    assert jsonl(fb / "_manifest/files.jsonl")[-1]["action"] == "moved"


def test_a_stale_duplicate_record_is_no_duplicate_the_only_copy_is_moved(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = new_project(client, "Only"), new_project(client, "Stale")
    fa, fb = roots[0] / a, roots[0] / b
    original = jpeg(tmp_path, "a.jpg", variant=5)
    rel = upload(client, a, original)["path"]
    stale = upload(client, b, original)["path"]
    os.unlink(fb / stale)  # the target's record now points at nothing
    uploaded_at = rows(client, "primary", a)[rel].uploaded_at

    body = move(client, a, [rel], b).json()
    assert body["moved"] == [{"from": rel, "to": rel}] and body["duplicates"] == []
    assert (fb / rel).read_bytes() == original.read_bytes()
    assert not (fa / rel).exists()
    assert client.get(f"/api/projects/{a}/trash").json()["items"] == []
    target_rows = rows(client, "primary", b)
    assert list(target_rows) == [rel] and target_rows[rel].uploaded_at == uploaded_at


def test_a_live_duplicate_trashes_the_source_and_is_reported(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = new_project(client, "Dup"), new_project(client, "Has")
    fa, fb = roots[0] / a, roots[0] / b
    original = jpeg(tmp_path, "a.jpg", variant=6)
    rel = upload(client, a, original)["path"]
    kept = upload(client, b, original)["path"]
    kept_mtime = (fb / kept).stat().st_mtime_ns

    body = move(client, a, [rel], b).json()
    assert (body["moved"], body["duplicates"]) == ([], [rel])
    assert not (fa / rel).exists()
    trash = client.get(f"/api/projects/{a}/trash").json()["items"]
    assert [i["relative_path"] for i in trash] == [rel]
    assert (fa / trash[0]["trash_path"]).read_bytes() == original.read_bytes()
    assert (fb / kept).stat().st_mtime_ns == kept_mtime
    assert rows(client, "primary", a) == {} and list(rows(client, "primary", b)) == [kept]
    assert events(fa)[-1]["payload"]["duplicates"] == [rel]


def test_a_name_taken_in_the_target_gets_a_suffix(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = new_project(client, "Name"), new_project(client, "Taken")
    rel = upload(client, a, jpeg(tmp_path, "a.jpg", variant=7))["path"]
    upload(client, b, jpeg(tmp_path, "a.jpg", variant=8))
    body = move(client, a, [rel], b).json()
    assert body["moved"] == [{"from": rel, "to": "ingest/originals/a-1.jpg"}]
    assert set(index_entries(roots[0] / b)) == {rel, "ingest/originals/a-1.jpg"}


def test_moving_onto_the_same_project_or_an_unknown_one_is_refused(
    client: TestClient[Any], tmp_path: Path
) -> None:
    a = new_project(client, "Self")
    rel = upload(client, a, jpeg(tmp_path, "a.jpg"))["path"]
    same = move(client, a, [rel], a)
    assert same.status_code == 400 and "same project" in same.json()["detail"]
    assert move(client, a, [rel], "P55-Nowhere").status_code == 404
    missing = client.post(f"/api/projects/{a}/media/move", json={"relative_paths": [rel]})
    assert missing.status_code == 400 and "target_project" in missing.json()["detail"]


def test_a_move_to_another_source_keeps_the_row_and_both_indexes(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    nas = tmp_path / "nas"
    nas.mkdir()
    added = client.post("/api/sources", json={"name": "nas", "root": str(nas)})
    assert added.status_code == 201, added.text
    a = new_project(client, "Here")
    made = client.post("/api/projects?source=nas", json={"name": "There"})
    b = made.json()["name"]
    original = jpeg(tmp_path, "a.jpg", variant=9)
    rel = upload(client, a, original)["path"]
    row_id = rows(client, "primary", a)[rel].id
    response = client.post(
        f"/api/projects/{a}/media/move",
        json={"relative_paths": [rel], "target_project": b, "target_source": "nas"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["target_source"], response.json()["moved"]) == (
        "nas",
        [{"from": rel, "to": rel}],
    )
    assert (nas / b / rel).read_bytes() == original.read_bytes()
    assert rows(client, "nas", b)[rel].id == row_id and rows(client, "primary", a) == {}
    assert list(index_entries(nas / b)) == [rel] and index_entries(roots[0] / a) == {}
