"""The pre-check on real files and a real catalog: what "live" means there, the re-hash budget
for copies whose stamp moved, and the digest short-cut's refusal of copies not proven."""

from __future__ import annotations

import os
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog import precheck as catalog_precheck
from daemon.ingest import precheck
from daemon.ingest.announced import ingest_announced, live_copy
from daemon.library import Library
from tests.support.api import create_project, upload_bytes
from tests.support.files import sha256_of

CLIP = os.urandom(300_000)


@pytest.fixture
def lib(client: TestClient[Any]) -> Library:
    library: Library = client.app.state.library
    return library


def held_rows(lib: Library, project: str) -> list[catalog_precheck.Held]:
    return catalog_precheck.holding(lib.catalog, "primary", project, [sha256_of(CLIP)])


def test_a_touched_copy_is_rehashed_within_the_budget(client: Any, lib: Library) -> None:
    project = create_project(client, "Budget")
    upload_bytes(client, project, "IMG_0001.MOV", CLIP)
    ref = lib.project(None, project)
    os.utime(ref.path / "ingest/originals/IMG_0001.MOV", ns=(5, 5))  # a new stamp, same bytes
    rows = held_rows(lib, project)
    assert [s.state for s in precheck.look(ref, rows, budget=len(CLIP) - 1)] == ["changed"]
    assert [s.state for s in precheck.look(ref, rows, budget=len(CLIP))] == ["live"]


def test_a_copy_rewritten_with_other_bytes_is_changed(client: Any, lib: Library) -> None:
    project = create_project(client, "Rewritten")
    upload_bytes(client, project, "IMG_0001.MOV", CLIP)
    ref = lib.project(None, project)
    (ref.path / "ingest/originals/IMG_0001.MOV").write_bytes(CLIP[::-1])
    assert [s.state for s in precheck.look(ref, held_rows(lib, project))] == ["changed"]
    assert live_copy(lib, ref, sha256_of(CLIP)) is None
    assert ingest_announced(lib, ref, sha256_of(CLIP), "again.MOV") is None
    counts = client.get(f"/api/projects/{project}").json()["counts"]
    assert counts["duplicates_skipped"] == 0  # nothing was recorded


def test_a_symlink_is_no_copy(client: Any, lib: Library, tmp_path: Any) -> None:
    project = create_project(client, "Linked")
    upload_bytes(client, project, "IMG_0001.MOV", CLIP)
    ref = lib.project(None, project)
    stored = ref.path / "ingest/originals/IMG_0001.MOV"
    outside = tmp_path / "elsewhere.MOV"
    stored.rename(outside)
    stored.symlink_to(outside)
    assert [s.state for s in precheck.look(ref, held_rows(lib, project))] == ["gone"]
    items = precheck.parse_items([{"name": "IMG_0001.MOV", "size": len(CLIP)}])
    assert precheck.check(lib, ref, items) == [
        {
            "name": "IMG_0001.MOV",
            "decision": "upload",
            "reason": "missing_on_disk",
            "path": "ingest/originals/IMG_0001.MOV",
        }
    ]
