"""Album sync sessions on both catalog engines: what each file became, settled and counted once,
and a session that takes nothing once finalized."""

from __future__ import annotations

import os
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog.batches import ItemRecord
from daemon.errors import BatchFinalized, BatchNotFound, EmptyUpload
from daemon.ingest import batches
from daemon.library import Library
from tests.support.api import create_project


@pytest.fixture
def lib(client: TestClient[Any]) -> Library:
    library: Library = client.app.state.library
    return library


def test_settle_keeps_each_file_once() -> None:
    items = [
        ItemRecord("a.MOV", "error", error="gone"),
        ItemRecord("b.MOV", "skipped", size=3),
        ItemRecord("a.MOV", "stored", "ingest/originals/a.MOV"),
        ItemRecord("c.MOV", "stored", "ingest/originals/c.MOV"),
        ItemRecord("c.MOV", "stored", "ingest/originals/c-1.MOV"),  # another file, same name
        ItemRecord("b.MOV", "skipped", size=3),  # the pre-check asked twice
    ]
    settled = batches.settle(items)
    assert [(i.filename, i.status, i.rel_path) for i in settled] == [
        ("a.MOV", "stored", "ingest/originals/a.MOV"),
        ("c.MOV", "stored", "ingest/originals/c.MOV"),
        ("c.MOV", "stored", "ingest/originals/c-1.MOV"),
        ("b.MOV", "skipped", None),
    ]
    assert batches.counts_of(settled) == {
        "total": 4,
        "stored": 3,
        "duplicate": 0,
        "skipped": 1,
        "error": 0,
    }


def test_a_session_through_the_interface(client: Any, lib: Library) -> None:
    project = create_project(client, "Iface")
    ref = lib.project(None, project)
    session = batches.start(lib, ref, album="Trip", device="iPhone", note="")
    batch_id = session["batch_id"]
    batches.check_open(lib, ref, batch_id)
    batches.check_open(lib, ref, None)
    data = os.urandom(10_000)
    url = f"/api/projects/{project}/upload?batch_id={batch_id}"
    for name in ("a.MOV", "a2.MOV"):  # the route calls record_upload with each result
        assert client.post(url, files={"file": (name, data)}).status_code == 200
    batches.record_skipped(lib, ref, batch_id, [("b.MOV", 5), ("c.MOV", None)])
    batches.record_upload(lib, ref, batch_id, "d.MOV", error=EmptyUpload("'d.MOV' is empty"))
    batches.record_upload(lib, ref, None, "ignored.MOV", error=EmptyUpload("x"))
    done = batches.finalize(lib, ref, batch_id)
    assert done["counts"] == {"total": 5, "stored": 1, "duplicate": 1, "skipped": 2, "error": 1}
    assert [(i["filename"], i["status"], i["error"]) for i in done["items"]] == [
        ("a.MOV", "stored", None),
        ("a2.MOV", "duplicate", None),
        ("b.MOV", "skipped", None),
        ("c.MOV", "skipped", None),
        ("d.MOV", "error", "'d.MOV' is empty"),
    ]
    assert done["event"]["payload"]["counts"] == done["counts"]
    with pytest.raises(BatchFinalized):
        batches.check_open(lib, ref, batch_id)
    batches.record_skipped(lib, ref, batch_id, [("late.MOV", 1)])  # taken by nobody
    with pytest.raises(BatchFinalized):
        batches.finalize(lib, ref, batch_id)
    with pytest.raises(BatchNotFound):
        batches.check_open(lib, ref, "x" * 65)
