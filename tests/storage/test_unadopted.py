"""Folders that are not projects, on real folders: which are listed, the bounded media count,
the label adoption gives, and NFD project names found from their NFC spelling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.errors import AlreadyExists, NotFound, UnsafePath
from daemon.settings import Settings
from daemon.storage.projects import create_project, disk_relative, resolve_project
from daemon.storage.sources import PRIMARY, Source
from daemon.storage.unadopted import (
    adoption_label,
    checked_folder,
    count_media,
    list_unadopted,
    rename_to_project,
)


def _source(settings: Settings) -> Source:
    return Source(PRIMARY, settings.projects_root)


def test_only_plain_folders_are_listed_with_their_media(settings: Settings) -> None:
    root = settings.projects_root
    for name in ("Wedding", "#recycle", "@eaDir", ".hidden", "_mine", "lost+found", "P2-Done"):
        (root / name / "deep").mkdir(parents=True)
        (root / name / "deep" / "a.jpg").write_bytes(b"x")
    (root / "Wedding" / "b.MOV").write_bytes(b"y")
    (root / "Wedding" / "notes.txt").write_text("z")
    (root / "Wedding" / "@eaDir").mkdir()
    (root / "Wedding" / "@eaDir" / "c.jpg").write_bytes(b"thumb of the NAS")
    (root / "file.jpg").write_bytes(b"loose, not a folder")
    os.symlink(root / "Wedding", root / "Link")
    found = list_unadopted(_source(settings))
    assert [(f.folder, f.media_files, f.capped, f.suggested_project) for f in found] == [
        ("Wedding", 2, False, "P3-Wedding")
    ]


def test_the_count_stops_at_its_limit(tmp_path: Path) -> None:
    for index in range(7):
        (tmp_path / f"{index}.jpg").write_bytes(b"x")
    assert count_media(tmp_path, limit=5) == (5, True)
    assert count_media(tmp_path, limit=100) == (7, False)


@pytest.mark.parametrize(
    ("folder", "label"),
    [
        ("Wedding 2026", "Wedding-2026"),
        ("Trip: Rome?", "Trip--Rome"),
        ("#tag", "tag"),
        ("Cafe\u0301", "Caf\u00e9"),
        ("???", "Folder"),
    ],
)
def test_the_label_is_made_as_project_creation_makes_it(folder: str, label: str) -> None:
    assert adoption_label(folder) == label


def test_rename_refuses_what_is_not_an_unadopted_folder(settings: Settings) -> None:
    source = _source(settings)
    (settings.projects_root / "Real").mkdir()
    (settings.projects_root / "P1-Old").mkdir()
    for bad in ("..", "a/b", "", ".git", "#recycle"):
        with pytest.raises(UnsafePath):
            checked_folder(source, bad)
    with pytest.raises(NotFound):
        checked_folder(source, "Missing")
    with pytest.raises(AlreadyExists):
        checked_folder(source, "P1-Old")
    ref = rename_to_project(settings, source, "Real")
    assert ref.name == "P2-Real"
    assert (ref.path / "ingest/originals").is_dir() and not (
        settings.projects_root / "Real"
    ).exists()


def test_nfd_names_are_found_from_nfc(settings: Settings) -> None:
    source = _source(settings)
    os.mkdir(settings.projects_root / "P3-Cafe\u0301")
    (settings.projects_root / "P3-Cafe\u0301" / "cre\u0300me").mkdir()
    (settings.projects_root / "P3-Cafe\u0301" / "cre\u0300me" / "tarte\u0301.jpg").write_bytes(b"x")
    ref = resolve_project(source, "P3-Caf\u00e9")
    assert ref.name == "P3-Cafe\u0301"
    assert disk_relative(ref.path, "cr\u00e8me/tart\u00e9.jpg") == "cre\u0300me/tarte\u0301.jpg"
    assert disk_relative(ref.path, "cr\u00e8me/other.jpg") == "cre\u0300me/other.jpg"
    again, created = create_project(settings, source, "Caf\u00e9")
    assert (again.name, created) == ("P3-Cafe\u0301", False)
    assert sorted(p.name for p in settings.projects_root.iterdir()) == ["P3-Cafe\u0301"]
