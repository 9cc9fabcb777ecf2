"""The one ingest pipeline on real files and a real catalog: restored uploads, duplicate drops,
missed moves, re-stamped files and drops committed a batch at a time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog.values import Origin
from daemon.ingest.batch import DropBatch, IndexPacer, read_drop
from daemon.ingest.commit import Commit, Item
from daemon.ingest.decide import Drop, Kind
from daemon.ingest.liveness import stamp_of
from daemon.library import Library
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef
from daemon.watch.execute import SourceResult
from daemon.watch.reconcile import Scope, reconciler_for
from tests.support.api import create_project, listing, upload_bytes
from tests.support.catalogs import change
from tests.support.files import index_doc, index_entries, journal, write

CLIP = os.urandom(64 * 1024) + b"clip"
OLD = "2021-02-03T04:05:06Z"
ORIG = "ingest/originals"


@pytest.fixture
def lib(client: TestClient[Any]) -> Library:
    """The Library the in-process app opened (one catalog for app and test)."""
    library: Library = client.app.state.library
    return library


def reconcile(lib: Library) -> SourceResult:
    return reconciler_for(lib).reconcile(lib.source(None), Scope(), wait_settle=3)


def age_upload(settings: Settings, project: str, rel: str) -> None:
    """Make a file's first upload an old one (a second connection, as another process would)."""
    change(settings, "UPDATE file SET uploaded_at = ? WHERE project = ? AND rel_path = ?",
           OLD, project, rel)  # fmt: skip


def items(client: TestClient[Any], project: str) -> dict[str, dict[str, Any]]:
    return {item["relative_path"]: item for item in listing(client, project)}


def test_a_reupload_of_a_clip_moved_away_by_hand_keeps_its_history(
    client: TestClient[Any], settings: Settings, tmp_path: Path
) -> None:
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    first = upload_bytes(client, project, "clip.mov", CLIP)
    age_upload(settings, project, first["path"])
    tagged = client.post(
        f"/api/projects/{project}/media/tags",
        json={"relative_paths": [first["path"]], "add_tags": ["keeper"]},
    )
    assert tagged.status_code == 200, tagged.text
    (folder / first["path"]).rename(tmp_path / "taken-home.mov")  # off the share, by hand
    again = upload_bytes(client, project, "take2.mov", CLIP)
    assert again["status"] == "stored"
    assert (again["path"], again["uploaded_at"]) == (f"{ORIG}/take2.mov", OLD)
    assert (folder / again["path"]).read_bytes() == CLIP
    listed = items(client, project)
    assert list(listed) == [again["path"]]
    assert (listed[again["path"]]["uploaded_at"], listed[again["path"]]["tags"]) == (
        OLD,
        ["keeper"],
    )
    entry = index_entries(folder)[again["path"]]
    assert (entry["uploaded_at"], entry["tags"]) == (OLD, ["keeper"])
    assert index_doc(folder)["counts"]["removed_missing_records"] == 0
    line = journal(folder)[-1]
    assert (line["action"], line["path"], line["from"]) == (
        "restored",
        again["path"],
        f"{project}/{first['path']}",
    )


def test_a_reupload_into_another_project_takes_the_gone_clip_along(
    client: TestClient[Any], settings: Settings
) -> None:
    one, two = create_project(client, "One"), create_project(client, "Two")
    first = upload_bytes(client, one, "clip.mov", CLIP)
    age_upload(settings, one, first["path"])
    (settings.projects_root / one / first["path"]).unlink()
    again = upload_bytes(client, two, "clip.mov", CLIP)
    assert (again["status"], again["uploaded_at"]) == ("stored", OLD)
    assert items(client, one) == {}
    assert index_entries(settings.projects_root / one) == {}
    assert list(index_entries(settings.projects_root / two)) == [again["path"]]
    moved = journal(settings.projects_root / one)[-1]
    assert (moved["action"], moved["to"]) == ("moved", f"{two}/{again['path']}")


def test_a_copy_dropped_beside_its_original_is_flagged_and_both_stay(
    client: TestClient[Any], lib: Library, settings: Settings
) -> None:
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    first = upload_bytes(client, project, "clip.mov", CLIP)
    write(folder / ORIG / "card2" / "copy.mov", CLIP)
    result = reconcile(lib)
    assert (result.indexed, result.renamed, result.removed) == (1, 0, 0)
    listed = items(client, project)
    copy = f"{ORIG}/card2/copy.mov"
    assert (listed[first["path"]]["duplicate_of"], listed[copy]["duplicate_of"]) == (
        None,
        first["path"],
    )
    assert (folder / first["path"]).read_bytes() == (folder / copy).read_bytes() == CLIP
    line = journal(folder)[-1]
    assert (line["action"], line["path"], line["duplicate_of"]) == (
        "duplicate",
        copy,
        first["path"],
    )
    assert index_doc(folder)["counts"]["duplicates_skipped"] == 0  # nothing was skipped
    # The original goes: the copy is an original now.
    (folder / first["path"]).unlink()
    assert reconcile(lib).removed == 1
    assert items(client, project)[copy]["duplicate_of"] is None


def test_trashing_the_original_makes_its_dropped_copy_the_original(
    client: TestClient[Any], lib: Library, settings: Settings
) -> None:
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    first = upload_bytes(client, project, "clip.mov", CLIP)
    write(folder / ORIG / "card2" / "copy.mov", CLIP)
    reconcile(lib)
    copy = f"{ORIG}/card2/copy.mov"
    assert items(client, project)[copy]["duplicate_of"] == first["path"]
    response = client.post(
        f"/api/projects/{project}/media/delete", json={"relative_paths": [first["path"]]}
    )
    assert response.status_code == 200, response.text
    assert list(items(client, project)) == [copy]
    assert items(client, project)[copy]["duplicate_of"] is None


def test_two_identical_drops_in_one_pass_are_one_original_and_one_copy(
    client: TestClient[Any], lib: Library, settings: Settings
) -> None:
    folder = settings.projects_root / create_project(client, "Shoot")
    write(folder / ORIG / "a.mov", CLIP)
    write(folder / ORIG / "b.mov", CLIP)
    assert reconcile(lib).indexed == 2
    duplicates = {e["path"]: e.get("duplicate_of") for e in journal(folder)}
    assert duplicates == {f"{ORIG}/a.mov": None, f"{ORIG}/b.mov": f"{ORIG}/a.mov"}


def test_a_copy_whose_original_is_gone_is_a_missed_move_not_a_duplicate(
    client: TestClient[Any], lib: Library, settings: Settings
) -> None:
    project = create_project(client, "Shoot")
    folder = settings.projects_root / project
    first = upload_bytes(client, project, "clip.mov", CLIP)
    age_upload(settings, project, first["path"])
    write(folder / ORIG / "moved" / "clip.mov", CLIP)  # copied, then the original deleted
    (folder / first["path"]).unlink()
    result = reconcile(lib)
    assert (result.indexed, result.renamed, result.removed) == (0, 1, 0)
    listed = items(client, project)
    assert list(listed) == [f"{ORIG}/moved/clip.mov"]
    assert (
        listed[f"{ORIG}/moved/clip.mov"]["uploaded_at"],
        listed[f"{ORIG}/moved/clip.mov"]["duplicate_of"],
    ) == (OLD, None)


def test_a_touched_file_is_restamped_not_indexed_again(
    client: TestClient[Any], lib: Library, settings: Settings
) -> None:
    folder = settings.projects_root / create_project(client, "Shoot")
    path = write(folder / ORIG / "a.mov", CLIP)
    assert reconcile(lib).indexed == 1
    lines = len(journal(folder))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    touched = reconcile(lib)
    assert (touched.indexed, touched.renamed, touched.hashed_bytes) == (0, 0, len(CLIP))
    assert len(journal(folder)) == lines
    again = reconcile(lib)  # its row carries the new stamp: nothing is hashed any more
    assert (again.unchanged, again.hashed_bytes) == (1, 0)


def test_drops_commit_a_batch_at_a_time(lib: Library, settings: Settings) -> None:
    ref = ProjectRef(lib.source(None), "P1-Batch")
    batches: list[Commit] = []
    queue = DropBatch(lib, batches.append, files=500, seconds=3600)
    for i in range(1201):
        path = write(ref.path / ORIG / f"c{i:04d}.mov", b"small %d" % i)
        digest, st, steady = read_drop(path)
        assert steady
        found = stamp_of(st)
        arrival = Drop(
            "primary", ref.name, f"{ORIG}/c{i:04d}.mov", digest.blake3, found, Origin.DROP
        )
        queue.add(Item(ref, arrival, digest, found))
    assert [len(b.applied) for b in batches] == [500, 500]
    queue.flush()
    assert [len(b.applied) for b in batches] == [500, 500, 201]
    assert {done.decision.kind for b in batches for done in b.applied} == {Kind.NEW}
    assert len(journal(ref)) == 1201


def test_index_writes_are_paced_by_what_they_cost() -> None:
    pacer = IndexPacer(spacing=10.0, minimum=1.0)
    assert pacer.due("P1-A", now=5.0)  # never written in this pass
    pacer.wrote("P1-A", started=10.0, ended=10.3)  # a write that took 0.3 s
    assert not pacer.due("P1-A", now=12.0)
    assert pacer.due("P1-A", now=13.4)  # ten times its cost later
    pacer.wrote("P1-A", started=20.0, ended=20.01)
    assert not pacer.due("P1-A", now=20.5) and pacer.due("P1-A", now=21.1)  # at least 1 s
