"""Reconcile passes on real directories: drops, relocation, renames, deletions, vanished roots."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from daemon.catalog import projects
from daemon.ingest.pipeline import ingest_upload
from daemon.library import Library
from daemon.storage.hashing import hash_file
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import Source
from daemon.storage.spool import TempWriter
from daemon.watch.reconcile import Scope
from tests.support.catalogs import change
from tests.support.files import index_doc, index_paths, journal, write
from tests.support.privileges import file_modes_enforced
from tests.watch.helpers import rows

ORIG = "ingest/originals"


def test_a_drop_is_indexed_with_its_hash_and_journalled(project: ProjectRef, reconcile) -> None:
    path = write(project.originals / "day1" / "clip.mov", b"frames" * 1000)
    result = reconcile()
    assert result.indexed == 1 and result.status == "ok"
    row = rows(project)[f"{ORIG}/day1/clip.mov"]
    assert row.origin == "drop"
    assert index_paths(project) == [f"{ORIG}/day1/clip.mov"]
    entry = index_doc(project)["files"][0]
    assert entry["sha256"] == hash_file(path).sha256
    assert journal(project)[-1]["action"] == "indexed"


def test_unchanged_files_are_not_rehashed_or_rewritten(project: ProjectRef, reconcile) -> None:
    write(project.originals / "a.mov", b"a" * 100)
    reconcile()
    before = project.index_path.stat().st_mtime_ns
    result = reconcile()
    assert (result.indexed, result.unchanged, result.hashed_bytes) == (0, 1, 0)
    assert project.index_path.stat().st_mtime_ns == before


def test_temp_system_and_non_media_files_are_left_alone(project: ProjectRef, reconcile) -> None:
    for name in (".media-sync-tmp-abc.mov", "x.part", "Thumbs.db", "._clip.mov", ".hidden.mov"):
        write(project.originals / name, b"t")
    write(project.originals / "notes.txt", b"hello")
    write(project.path / "exports" / "final.mp4", b"export")
    write(project.path / "cache" / "c.mov", b"c")
    write(project.path / ".git" / "x.mov", b"g")
    result = reconcile()
    assert result.indexed == 0 and result.relocated == 0
    assert result.skipped_unsupported == 1
    assert (project.path / "exports" / "final.mp4").exists()
    assert (project.originals / ".media-sync-tmp-abc.mov").exists()


def test_media_outside_originals_moves_in_keeping_its_subpath(
    project: ProjectRef, reconcile
) -> None:
    write(project.path / "card1" / "A001.mov", b"a1")
    write(project.path / "ingest" / "phone" / "IMG_1.jpg", b"i1")
    write(project.originals / "card1" / "A001.mov", b"other content")  # a clash
    result = reconcile()
    assert result.relocated == 2
    assert not (project.path / "card1" / "A001.mov").exists()
    assert (project.originals / "card1" / "A001-1.mov").read_bytes() == b"a1"
    assert (project.originals / "phone" / "IMG_1.jpg").read_bytes() == b"i1"
    moved = [e for e in journal(project) if e["action"] == "relocated"]
    assert {e["from"] for e in moved} == {
        "P1-Test/card1/A001.mov",
        "P1-Test/ingest/phone/IMG_1.jpg",
    }
    assert len(index_paths(project)) == 3


def test_root_sweep_moves_loose_media_and_leaves_dotfiles(
    primary: Source, lib: Library, reconcile
) -> None:
    root = primary.root
    write(root / "loose.mp4", b"loose")
    write(root / ".DS_Store", b"x")
    write(root / ".hidden.mov", b"h")
    write(root / "readme.txt", b"r")
    write(root / "Some Folder" / "clip.mov", b"not a project")
    write(root / "_sources" / "x.mov", b"s")
    result = reconcile()
    loose = ProjectRef(primary, "Unsorted-Loose")
    assert result.relocated == 1
    assert (loose.originals / "loose.mp4").read_bytes() == b"loose"
    for left in (
        ".DS_Store",
        ".hidden.mov",
        "readme.txt",
        "Some Folder/clip.mov",
        "_sources/x.mov",
    ):
        assert (root / left).exists(), left
    assert index_paths(loose) == [f"{ORIG}/loose.mp4"]
    assert journal(loose)[0]["from"] == "loose.mp4"


def test_rename_keeps_identity(project: ProjectRef, reconcile) -> None:
    write(project.originals / "a.mov", b"same bytes")
    reconcile()
    before = rows(project)[f"{ORIG}/a.mov"]
    time.sleep(1.1)  # a re-index would get a later uploaded_at
    os.makedirs(project.originals / "sub")
    os.rename(project.originals / "a.mov", project.originals / "sub" / "b.mov")
    result = reconcile()
    assert (result.renamed, result.indexed, result.removed) == (1, 0, 0)
    after = rows(project)
    assert list(after) == [f"{ORIG}/sub/b.mov"]
    row = after[f"{ORIG}/sub/b.mov"]
    assert (row.blake3, row.uploaded_at) == (before.blake3, before.uploaded_at)
    assert index_doc(project)["counts"]["removed_missing_records"] == 0


def test_move_between_projects_keeps_identity_by_content(
    primary: Source, project: ProjectRef, reconcile
) -> None:
    other = ProjectRef(primary, "P2-Other")
    write(project.originals / "a.mov", b"travelling")
    reconcile()
    before = rows(project)[f"{ORIG}/a.mov"]
    time.sleep(1.1)
    write(other.originals / "a.mov", b"travelling")  # a copy (new inode), then the delete
    os.unlink(project.originals / "a.mov")
    reconcile(Scope(frozenset({"P2-Other"}), root=False))  # only the destination is rescanned
    moved = rows(other)[f"{ORIG}/a.mov"]
    assert (moved.blake3, moved.uploaded_at) == (before.blake3, before.uploaded_at)
    assert rows(project) == {}


def test_delete_prunes_and_journals(project: ProjectRef, reconcile) -> None:
    write(project.originals / "a.mov", b"a")
    write(project.originals / "b.mov", b"b")
    reconcile()
    os.unlink(project.originals / "a.mov")
    result = reconcile()
    assert result.removed == 1
    assert index_paths(project) == [f"{ORIG}/b.mov"]
    assert index_doc(project)["counts"]["removed_missing_records"] == 1
    assert journal(project)[-1] | {"at": None} == {
        "at": None,
        "action": "removed",
        "project": "P1-Test",
        "source": "primary",
        "path": f"{ORIG}/a.mov",
        "reason": "missing on disk",
    }


def test_root_renamed_away_and_back_loses_nothing(
    primary: Source, project: ProjectRef, reconcile
) -> None:
    for i in range(25):
        write(project.originals / f"c{i}.mov", f"clip {i}".encode())
    reconcile()
    away = primary.root.with_name("projects-away")
    os.rename(primary.root, away)
    result = reconcile()
    assert result.status == "offline" and "missing" in (result.offline_reason or "")
    assert len(rows(project)) == 25
    os.rename(away, primary.root)
    result = reconcile()
    assert (result.status, result.removed, result.unchanged) == ("ok", 0, 25)
    assert len(index_paths(project)) == 25


def test_an_emptied_mount_is_offline_not_pruned(
    primary: Source, project: ProjectRef, reconcile
) -> None:
    for i in range(30):
        write(project.originals / f"c{i}.mov", f"clip {i}".encode())
    reconcile()
    away = primary.root.with_name("hidden")
    os.rename(project.path, away)  # the mount point stays, its content is gone
    result = reconcile()
    assert result.status == "offline" and result.removed == 0
    assert len(rows(project)) == 30
    assert reconcile.reconciler.offline_sources() == {"primary": result.offline_reason}
    os.rename(away, project.path)
    assert reconcile().status == "ok" and reconcile.reconciler.offline_sources() == {}


def test_one_unreadable_file_and_one_corrupt_index_do_not_stop_the_sweep(
    primary: Source, project: ProjectRef, reconcile
) -> None:
    other = ProjectRef(primary, "P2-Other")
    locked = write(project.originals / "locked.mov", b"secret")
    locked.chmod(0)
    write(project.originals / "fine.mov", b"fine")
    write(other.originals / "x.mov", b"x")
    with file_modes_enforced():  # as root too (CI runs as root): mode 000 is unreadable
        reconcile()
        other.index_path.write_text("{ not json")
        write(other.originals / "y.mov", b"y")
        result = reconcile(wait=0.5)
    locked.chmod(0o644)
    errors = {(e["project"], e["path"]): e["error"] for e in result.errors}
    assert errors.keys() == {("P1-Test", f"{ORIG}/locked.mov"), ("P2-Other", "index.json")}
    assert errors["P1-Test", f"{ORIG}/locked.mov"] == "Permission denied"
    assert set(rows(project)) == {f"{ORIG}/fine.mov"}
    assert set(index_paths(other)) == {f"{ORIG}/x.mov", f"{ORIG}/y.mov"}
    assert list((other.path / "_manifest").glob("index.corrupt-*.json"))


def test_seed_era_project_is_adopted_with_its_counts(
    primary: Source, lib: Library, reconcile
) -> None:
    seed = ProjectRef(primary, "P7-Seed")
    path = write(seed.originals / "old.mov", b"old footage")
    digest = hash_file(path)
    seed.index_path.write_text(
        json.dumps(
            {
                "project": "P7-Seed",
                "notes": "from the old service",
                "files": [
                    {
                        "relative_path": f"{ORIG}/old.mov",
                        "sha256": digest.sha256,
                        "uploaded_at": "2023-01-02T03:04:05Z",
                    }
                ],
                "counts": {"duplicates_skipped": 4, "removed_missing_records": 2},
            }
        )
    )
    reconcile()
    row = rows(seed)[f"{ORIG}/old.mov"]
    assert (row.origin, row.uploaded_at) == ("adopted", "2023-01-02T03:04:05Z")
    project = projects.facts(lib.catalog, "primary", "P7-Seed")
    assert (project["duplicates_skipped"], project["removed_missing_records"]) == (4, 2)
    assert index_doc(seed)["counts"]["duplicates_skipped"] == 4
    assert index_doc(seed)["notes"] == "from the old service"


def _slow_writer(path: Path, chunks: int, presize: bool, done: threading.Event) -> None:
    with open(path, "wb") as handle:
        if presize:
            handle.truncate(chunks * 1024)
        for i in range(chunks):
            handle.seek(i * 1024)
            handle.write(bytes([i % 251]) * 1024)
            handle.flush()
            time.sleep(0.08)
    done.set()


@pytest.mark.parametrize("presize", [False, True], ids=["slow", "presized"])
def test_a_file_still_being_written_is_never_indexed_early(
    project: ProjectRef, reconcile, presize: bool
) -> None:
    path = project.originals / "growing.mov"
    done = threading.Event()
    writer = threading.Thread(target=_slow_writer, args=(path, 12, presize, done))
    writer.start()
    try:
        while not done.is_set():
            result = reconcile(wait=0)
            assert result.indexed == 0, "indexed while still being written"
            time.sleep(0.05)
    finally:
        writer.join()
    result = reconcile(wait=2)
    assert result.indexed == 1
    assert rows(project)[f"{ORIG}/growing.mov"].blake3 == hash_file(path).blake3
    assert index_doc(project)["files"][0]["sha256"] == hash_file(path).sha256


def test_an_uploaded_file_is_unchanged_for_the_reconcile(lib, project, reconcile) -> None:
    writer = TempWriter(project.originals, "up.mov")
    writer.write(b"uploaded bytes")
    in_flight = TempWriter(project.originals, "next.mov")  # an upload still receiving
    in_flight.write(b"partial")
    try:
        ingest_upload(lib, project, writer.path, "up.mov", writer.finish())
        result = reconcile()
    finally:
        in_flight.abort()
    assert (result.indexed, result.unchanged, result.hashed_bytes) == (0, 1, 0)
    assert set(rows(project)) == {f"{ORIG}/up.mov"}
    assert rows(project)[f"{ORIG}/up.mov"].origin == "upload"


def test_mediasyncignore_patterns_are_respected(
    primary: Source, project: ProjectRef, reconcile
) -> None:
    (primary.root / ".mediasyncignore").write_text("*.braw\n")
    (project.path / ".mediasyncignore").write_text("ingest/originals/raw/\n!keep.braw\n")
    write(project.originals / "raw" / "a.mov", b"raw")
    write(project.originals / "b.braw", b"braw")
    write(project.originals / "c.mov", b"c")
    reconcile()
    assert set(rows(project)) == {f"{ORIG}/c.mov"}


def test_a_row_dropped_by_another_process_is_seen_by_the_next_pass(
    lib: Library, project: ProjectRef, reconcile
) -> None:
    """Passes keep each project's rows while its generation holds: a write from another
    connection bumps it, so the next pass reads the rows again."""
    write(project.originals / "a.mov", b"a" * 100)
    write(project.originals / "b.mov", b"b" * 100)
    assert reconcile().indexed == 2
    assert reconcile().unchanged == 2  # from the kept rows
    change(lib.settings, "DELETE FROM file WHERE rel_path = ?", f"{ORIG}/b.mov")
    result = reconcile()
    assert (result.indexed, result.unchanged, result.hashed_bytes) == (1, 1, 100)
    assert set(rows(project)) == {f"{ORIG}/a.mov", f"{ORIG}/b.mov"}
