"""The resumable-upload spool through its own interface (what the tus and IETF routes call):
appends made durable, a commit after a restart (hash read from disk), a commit interrupted
after the pipeline placed the file, deferred lengths, and a second commit returning the first."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from daemon.catalog import intake
from daemon.errors import InvalidInput, OffsetMismatch, UploadFinished
from daemon.ingest import resumable
from daemon.ingest.liveness import stamp_of
from daemon.ingest.pipeline import ingest_upload
from daemon.ingest.resumable_spool import HASHES, RunningHash, part_path, read, save
from daemon.library import Library
from daemon.storage.projects import ProjectRef
from tests.support.api import create_project

DATA = os.urandom(300_000)


@pytest.fixture
def lib(client: TestClient[Any]) -> Library:
    library: Library = client.app.state.library
    return library


@pytest.fixture
def ref(client: TestClient[Any], lib: Library) -> ProjectRef:
    return lib.project(None, create_project(client, "Spool"))


def filled(lib: Library, ref: ProjectRef, length: int | None = len(DATA)) -> resumable.Upload:
    """An upload holding all of DATA, durably, not yet committed."""
    upload = resumable.create(
        lib, ref, filename="clip.mov", length=length, metadata={}, batch_id=None, protocol="ietf"
    )
    with resumable.append(lib, ref, upload.id, 0) as appender:
        appender.write(DATA[:1000])
        assert appender.durable().offset == 1000
        appender.write(DATA[1000:])
        done = appender.durable()
    assert done.offset == len(DATA)
    return done


def originals(ref: ProjectRef) -> list[Path]:
    return sorted(ref.originals.iterdir())


def test_a_commit_after_a_restart_hashes_the_spool_from_disk(lib: Library, ref: ProjectRef) -> None:
    upload = filled(lib, ref)
    HASHES.drop(upload.id)  # what a restart loses
    result = resumable.complete(lib, ref, upload)
    assert (result.status, result.digest.sha256) == ("stored", hashlib.sha256(DATA).hexdigest())
    assert [p.read_bytes() for p in originals(ref)] == [DATA]
    assert not part_path(ref, upload.id).exists()
    again = resumable.complete(lib, ref, upload)  # idempotent: the stored result
    assert (again.status, again.rel_path) == ("stored", result.rel_path)
    assert len(originals(ref)) == 1


def test_a_commit_interrupted_after_the_placement_is_finished_as_stored(
    lib: Library, ref: ProjectRef
) -> None:
    """A crash after the pipeline placed the bytes but before the result was kept: the next
    commit finds its own bytes live, answers stored (not duplicate), and the file's liveness
    stamp is the one the catalog holds."""
    upload = filled(lib, ref)
    state = read(ref, upload.id)
    assert state is not None
    state.committing = True
    save(ref, state)
    twin = ref.path / "_manifest" / "uploads" / f"{upload.id}.commit"
    os.link(part_path(ref, upload.id), twin)
    hasher = RunningHash()
    hasher.update(DATA)
    ingest_upload(lib, ref, twin, "clip.mov", hasher.digest())  # the first attempt's work
    result = resumable.complete(lib, ref, upload)
    assert (result.status, result.rel_path) == ("stored", "ingest/originals/clip.mov")
    [stored] = originals(ref)
    assert stored.read_bytes() == DATA and os.lstat(stored).st_nlink == 1
    [row] = intake.rows_at(lib.catalog, ref.source.name, [(ref.name, result.rel_path)])
    assert (row.size, row.inode, row.mtime_ns, row.ctime_ns) == stamp_of(os.lstat(stored))


def test_appends_refuse_a_wrong_offset_and_a_finished_upload(lib: Library, ref: ProjectRef) -> None:
    upload = filled(lib, ref, length=None)
    with pytest.raises(OffsetMismatch), resumable.append(lib, ref, upload.id, 5):
        pass
    with pytest.raises(InvalidInput):
        resumable.set_length(lib, ref, upload.id, 10)  # below what was received
    fixed = resumable.set_length(lib, ref, upload.id, len(DATA))
    assert fixed.complete
    with pytest.raises(UploadFinished):
        resumable.set_length(lib, ref, upload.id, len(DATA) + 1)
    with pytest.raises(UploadFinished), resumable.append(lib, ref, upload.id, len(DATA)):
        pass
    assert resumable.complete(lib, ref, fixed).status == "stored"


def test_bytes_not_made_durable_are_dropped(lib: Library, ref: ProjectRef) -> None:
    upload = resumable.create(
        lib, ref, filename="clip.mov", length=len(DATA), metadata={}, batch_id=None, protocol="tus"
    )
    with resumable.append(lib, ref, upload.id, 0) as appender:
        appender.write(DATA[:500])
    assert resumable.load(lib, ref, upload.id).offset == 0
    assert part_path(ref, upload.id).stat().st_size == 0
