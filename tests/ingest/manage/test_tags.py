"""Manual tags: normalized, kept in the catalog and index.json, surviving renames and rebuilds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.ingest.rebuild import rebuild
from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.reconcile import Scope, reconciler_for
from ingress.app import create_app
from tests.ingest.manage.helpers import jpeg, rows
from tests.support.api import create_project as new_project
from tests.support.api import upload
from tests.support.catalogs import lose_catalog
from tests.support.files import events, index_entries


def tag(client: TestClient[Any], project: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/projects/{project}/media/tags", json=body)


def test_tags_are_trimmed_lowercased_deduplicated_and_sorted(
    client: TestClient[Any], roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Tags")
    folder = roots[0] / project
    rel = upload(client, project, jpeg(tmp_path, "a.jpg"))["path"]
    raw = ["  Beach ", "SUNSET", "beach", "Golden   Hour", " "]
    response = tag(client, project, {"relative_paths": [rel, "ingest/no.jpg"], "add_tags": raw})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == ["ingest/no.jpg"]
    assert body["updated"] == [
        {
            "relative_path": rel,
            "sha256": index_entries(folder)[rel]["sha256"],
            "tags": {"manual": ["beach", "golden hour", "sunset"], "derived": ["image", "jpg"]},
        }
    ]
    removed = tag(client, project, {"relative_paths": [rel], "remove_tags": ["SUNSET"]}).json()
    assert removed["updated"][0]["tags"]["manual"] == ["beach", "golden hour"]
    assert index_entries(folder)[rel]["tags"] == ["beach", "golden hour"]
    assert events(folder)[-1]["event"] == "media_tags_updated"
    assert events(folder)[-1]["payload"]["remove_tags"] == ["sunset"]


def test_a_tag_request_must_change_something(client: TestClient[Any], tmp_path: Path) -> None:
    project = new_project(client, "Nothing")
    rel = upload(client, project, jpeg(tmp_path, "a.jpg"))["path"]
    for body in (
        {"relative_paths": [rel]},
        {"relative_paths": [rel], "add_tags": [], "remove_tags": ["  "]},
    ):
        response = tag(client, project, body)
        assert response.status_code == 400 and "add_tags" in response.json()["detail"]
    not_list = tag(client, project, {"relative_paths": [rel], "add_tags": "beach"})
    assert not_list.status_code == 400 and "list of strings" in not_list.json()["detail"]


def test_tags_survive_a_rename_on_disk(
    client: TestClient[Any], lib: Library, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    project = new_project(client, "Renamed")
    folder = roots[0] / project
    rel = upload(client, project, jpeg(tmp_path, "a.jpg"))["path"]
    tag(client, project, {"relative_paths": [rel], "add_tags": ["keep"]})
    (folder / "ingest/originals/sub").mkdir()
    os.rename(folder / rel, folder / "ingest/originals/sub/b.jpg")
    result = reconciler_for(lib).reconcile(lib.source(None), Scope(), wait_settle=3)
    assert result.renamed == 1, result.as_dict()
    assert list(rows(client, "primary", project)) == ["ingest/originals/sub/b.jpg"]
    assert index_entries(folder)["ingest/originals/sub/b.jpg"]["tags"] == ["keep"]


def test_tags_survive_a_rebuild_of_the_catalog(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    with TestClient(create_app(settings)) as client:
        project = new_project(client, "Rebuilt")
        rel = upload(client, project, jpeg(tmp_path, "a.jpg"))["path"]
        other = upload(client, project, jpeg(tmp_path, "b.jpg", variant=2))["path"]
        tag(client, project, {"relative_paths": [rel], "add_tags": ["Hero", "b-roll"]})
    lose_catalog(settings)
    report = rebuild(settings, progress=lambda _: None)
    assert report.files == 2
    with TestClient(create_app(settings)) as client:
        found = rows(client, "primary", project)
        assert (found[rel].tags, found[other].tags) == ('["b-roll","hero"]', "[]")
        entries = index_entries(roots[0] / project)
        assert (entries[rel]["tags"], entries[other]["tags"]) == (["b-roll", "hero"], [])


def test_tags_survive_the_watcher_adopting_a_lost_catalog(
    settings: Settings, roots: tuple[Path, Path], tmp_path: Path
) -> None:
    with TestClient(create_app(settings)) as client:
        project = new_project(client, "Adopted")
        rel = upload(client, project, jpeg(tmp_path, "a.jpg"))["path"]
        tag(client, project, {"relative_paths": [rel], "add_tags": ["keeper"]})
    lose_catalog(settings)
    with TestClient(create_app(settings)) as client:
        lib: Library = client.app.state.library
        result = reconciler_for(lib).reconcile(lib.source(None), Scope(), wait_settle=3)
        assert result.indexed == 1, result.as_dict()
        assert rows(client, "primary", project)[rel].tags == '["keeper"]'
        listed = client.get(f"/api/projects/{project}/media?tag=keeper").json()["media"]
        assert [item["relative_path"] for item in listed] == [rel]
        assert index_entries(roots[0] / project)[rel]["tags"] == ["keeper"]
