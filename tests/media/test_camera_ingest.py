"""Formats cameras produce, refused before issue 15 (415 on upload, left loose when dropped):
accepted by upload and by drop, listed with their metadata and given a thumbnail."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.library import Library
from daemon.mediatypes import ACCEPTED_EXTENSIONS, media_type
from daemon.settings import Settings
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.watch.reconcile import Reconciler, Scope
from tests.factories import (
    make_heic,
    make_image,
    make_jpeg,
    make_mpeg,
    make_raf,
    make_raw_tiff,
)
from tests.support.api import create_project, listing, upload
from tests.support.files import index_paths
from tests.support.server import REPO
from tests.support.waiting import wait_until

NEW = (".hif", ".mpo", ".mpg", ".mpeg", ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw")
NEW += (".raf", ".orf", ".rw2")

# name -> (factory, listed kind, width, height)
CAMERA_FILES: dict[str, tuple[Callable[[Path], Path], str, int, int]] = {
    "C0001.HIF": (lambda p: make_heic(p, (320, 240)), "image", 320, 240),
    "spatial.MPO": (lambda p: make_jpeg(p, (400, 300), mpo=True), "image", 400, 300),
    "MOV001.MPG": (lambda p: make_mpeg(p, size=(320, 240)), "video", 320, 240),
    "tape.mpeg": (lambda p: make_mpeg(p, codec="mpeg1video", size=(352, 288)), "video", 352, 288),
    "pixel.avif": (lambda p: make_image(p, (320, 240)), "image", 320, 240),
    "IMG_0001.DNG": (lambda p: make_raw_tiff(p, sensor=(1536, 1024)), "image", 1536, 1024),
    "DSC_0001.NEF": (lambda p: make_raw_tiff(p, sensor=(1200, 800)), "image", 1200, 800),
    "DSCF0001.RAF": (lambda p: make_raf(p, sensor=(6240, 4160)), "image", 6240, 4160),
}


def test_every_camera_extension_is_accepted_and_typed() -> None:
    kinds = {ext: known.kind for ext in NEW if (known := media_type(f"card/FILE{ext.upper()}"))}
    assert kinds == {ext: "video" if ext in (".mpg", ".mpeg") else "image" for ext in NEW}
    mpo = media_type("spatial.mpo")
    assert mpo is not None and mpo.mime == "image/jpeg"  # browsers show its first picture


def test_the_page_accepts_what_the_server_accepts() -> None:
    script = (REPO / "web" / "js" / "upload.js").read_text()
    listed = re.search(r"export const ACCEPTED = \[(.*?)\];", script, re.S)
    assert listed is not None
    assert tuple(re.findall(r'"(\.[a-z0-9]+)"', listed.group(1))) == ACCEPTED_EXTENSIONS


def test_camera_files_uploaded_are_stored_listed_and_thumbnailed(
    client: TestClient[Any], settings: Settings, tmp_path: Path
) -> None:
    project = create_project(client, "Cameras")
    made = {name: spec[0](tmp_path / "card" / name) for name, spec in CAMERA_FILES.items()}
    bodies = {name: upload(client, project, path) for name, path in made.items()}  # no 415
    assert {body["status"] for body in bodies.values()} == {"stored"}

    def settled() -> dict[str, dict[str, Any]] | None:
        items = {item["name"]: item for item in listing(client, project)}
        return items if all(i["meta_status"] != "pending" for i in items.values()) else None

    items = wait_until(settled, 60, what="metadata of every camera file")
    thumbs = settings.projects_root / project / "ingest" / "thumbnails"
    for name, (_, kind, width, height) in CAMERA_FILES.items():
        item = items[name]
        assert item["meta_status"] == "ok", (name, item["meta_error"])
        assert (item["kind"], item["width"], item["height"]) == (kind, width, height), name
        sha = bodies[name]["sha256"]
        wait_until(lambda sha=sha: (thumbs / f"{sha}.jpg").is_file(), 60, what=f"{name} thumb")


@pytest.fixture
def lib(settings: Settings) -> Any:
    library = Library.open(settings)
    try:
        yield library
    finally:
        library.close()


def test_camera_files_dropped_on_a_share_are_moved_in_and_indexed(
    lib: Library, tmp_path: Path
) -> None:
    primary = lib.source(None)
    project = ProjectRef(primary, "P1-Drop")
    ensure_layout(project)
    names = ["C0001.HIF", "MOV001.MPG", "IMG_0001.DNG", "DSCF0001.RAF", "pixel.avif"]
    for name in names:
        CAMERA_FILES[name][0](project.path / "card" / name)
    (project.path / "card" / "IMG_0002.CR3").write_bytes(b"\0\0\0\x18ftypcrx " + bytes(64))
    result = Reconciler(lib).reconcile(primary, Scope(), wait_settle=2.0)
    assert result.relocated == len(names) + 1
    assert not any((project.path / "card").glob("*.*"))  # nothing left loose
    expected = sorted(f"ingest/originals/card/{name}" for name in [*names, "IMG_0002.CR3"])
    assert sorted(index_paths(project)) == expected
