"""Issue 11, data loss: an honest "duplicate", no error for a committed file (ENOSPC on a real
full tmpfs), and multipart limits (one index.json write, a part cap, a client that leaves)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver

from daemon.storage.conventions import TEMP_PREFIX
from ingress.app import create_app
from tests.support.catalogs import query, write_lock_held
from tests.support.env import settings_for
from tests.support.server import LiveServer, serving

BOUNDARY = "hardeningBoundary7f3a"
CLIP = os.urandom(96 * 1024) + b"original"


def multipart(parts: list[tuple[str, bytes]]) -> bytes:
    body = bytearray()
    for name, data in parts:
        body += f"--{BOUNDARY}\r\n".encode()
        body += f'Content-Disposition: form-data; name="files"; filename="{name}"\r\n'.encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return bytes(body + f"--{BOUNDARY}--\r\n".encode())


def post_parts(
    server: LiveServer, project: str, body: bytes, timeout: float = 60
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/projects/{project}/upload",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=timeout,
    )


def make_project(base: str, name: str = "Shoot") -> str:
    response = httpx.post(f"{base}/api/projects", json={"name": name}, timeout=30)
    assert response.status_code == 201, response.text
    project: str = response.json()["name"]
    return project


def upload(base: str, project: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/api/projects/{project}/upload", files={"file": (name, data)}, timeout=60
    )


def catalog_rows(state: Path) -> dict[str, str]:
    """rel_path -> sha256 of every catalogued file, read by another connection to the test's
    catalog (the sqlite file in ``state``, or the test's PostgreSQL database)."""
    settings = settings_for(state.parent / "projects", state)
    rows = query(settings, "SELECT f.rel_path, c.sha256 FROM file f JOIN content c USING (blake3)")
    return {str(rel): str(sha256) for rel, sha256 in rows}


def temps(root: Path) -> list[Path]:
    return list(root.rglob(f"{TEMP_PREFIX}*"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def edit_in_place_keeping_size_and_mtime(path: Path) -> bytes:
    """Overwrite some bytes without changing the size, then put the mtime back."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"EDITED-IN-PLACE")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    return path.read_bytes()


# -- "duplicate" means the bytes are really there ---------------------------------------------


def test_an_edited_copy_with_size_and_mtime_restored_is_no_duplicate(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    with serving(root, state, env={"MEDIA_SYNC_WATCH": "off"}) as server:
        project = make_project(server.url)
        first = upload(server.url, project, "clip.mov", CLIP)
        assert first.status_code == 200 and first.json()["status"] == "stored"
        stored = root / project / first.json()["path"]
        edited = edit_in_place_keeping_size_and_mtime(stored)
        again = upload(server.url, project, "clip.mov", CLIP)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "stored", again.json()
        # Both contents exist, and the catalog says which is which.
        assert stored.read_bytes() == edited
        assert (root / project / again.json()["path"]).read_bytes() == CLIP
        rows = catalog_rows(state)
        assert rows == {first.json()["path"]: sha(edited), again.json()["path"]: sha(CLIP)}
        index = json.loads((root / project / "index.json").read_text())
        assert {f["relative_path"]: f["sha256"] for f in index["files"]} == rows
        # The original bytes are now proven there: the next upload of them is a duplicate.
        third = upload(server.url, project, "clip.mov", CLIP)
        assert third.status_code == 200 and third.json()["status"] == "duplicate"


def _thread_in(function: str, timeout: float = 20) -> None:
    """Wait until some thread of this process runs ``function`` (it is then past the proof)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in sys._current_frames().values():
            probe: Any = frame
            while probe is not None:
                if probe.f_code.co_name == function:
                    return
                probe = probe.f_back
        time.sleep(0.005)
    raise AssertionError(f"no thread reached {function} within {timeout} s")


def test_a_change_between_the_proof_and_the_commit_ends_with_the_upload_stored(
    roots: tuple[Path, Path],
) -> None:
    """The upload proves the copy live (its stamp is unchanged), then waits for the catalog's
    write lock, held here by a real second connection (either engine); meanwhile the copy is edited in place
    (size and mtime restored). Inside its transaction the upload sees the moved ctime and stores."""
    root, state = roots
    settings = settings_for(root, state)
    with TestClient(create_app(settings)) as client:
        made = client.post("/api/projects", json={"name": "Race"})
        assert made.status_code == 201
        project = made.json()["name"]
        first = client.post(f"/api/projects/{project}/upload", files={"file": ("c.mov", CLIP)})
        assert first.status_code == 200 and first.json()["status"] == "stored"
        stored = root / project / first.json()["path"]
        answers: list[httpx.Response] = []
        with write_lock_held(settings):  # the upload cannot commit until we let it
            worker = threading.Thread(
                target=lambda: answers.append(
                    client.post(f"/api/projects/{project}/upload", files={"file": ("c.mov", CLIP)})
                )
            )
            worker.start()
            _thread_in("_commit_upload")  # proven live already; now waiting for the lock
            edited = edit_in_place_keeping_size_and_mtime(stored)
        worker.join(30)
        assert not worker.is_alive()
        assert answers[0].status_code == 200, answers[0].text
        assert answers[0].json()["status"] == "stored"
        assert (root / project / answers[0].json()["path"]).read_bytes() == CLIP
        assert stored.read_bytes() == edited


# -- never an error for a committed file, never a silent commit --------------------------------


@contextlib.contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A real tmpfs mounted at ``mount`` (needs root), unmounted afterwards."""
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"cannot mount a tmpfs: {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs: the projects root lives on it, and it can be filled."""
    with tmpfs(tmp_path / "small", "4m") as mount:
        yield mount


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill(path: Path, leave: int) -> Path:
    """A filler file taking all free space but ``leave`` bytes (page-aligned)."""
    filler = path / "filler.bin"
    size = free_bytes(path) - leave
    with open(filler, "wb") as handle:
        handle.truncate(0)
        handle.write(b"\0" * size)
    assert free_bytes(path) == leave
    return filler


def test_a_full_disk_before_the_commit_is_507_and_stores_nothing(
    full_disk: Path, tmp_path: Path, database_url: str
) -> None:
    root = full_disk / "projects"
    root.mkdir()
    with serving(root, tmp_path / "state", env={"MEDIA_SYNC_WATCH": "off"}) as server:
        project = make_project(server.url)
        index_before = (root / project / "index.json").read_bytes()
        fill(full_disk, 64 * 1024)
        response = upload(server.url, project, "big.mov", os.urandom(512 * 1024))
        assert response.status_code == 507, response.text
        body = response.json()
        assert body["error"] == "StorageFull"
        assert "no space left" in body["detail"] and str(root) in body["detail"]
        assert "not stored" in body["detail"]
        assert list((root / project / "ingest/originals").iterdir()) == []
        assert temps(root) == []
        assert catalog_rows(tmp_path / "state") == {}
        assert (root / project / "index.json").read_bytes() == index_before
        multi = post_parts(server, project, multipart([("a.mov", os.urandom(512 * 1024))]))
        assert multi.status_code == 507, multi.text
        assert temps(root) == [] and catalog_rows(tmp_path / "state") == {}


def test_a_full_disk_after_the_commit_is_stored_with_warnings_and_the_index_catches_up(
    full_disk: Path, tmp_path: Path, database_url: str
) -> None:
    root, state = full_disk / "projects", tmp_path / "state"
    root.mkdir()
    with serving(root, state, env={"MEDIA_SYNC_WATCH": "off"}) as server:
        project = make_project(server.url)
        data = os.urandom(64 * 1024)  # exactly the space left: index.json has no room after it
        filler = fill(full_disk, len(data))
        response = upload(server.url, project, "clip.mov", data)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "stored"
        assert any("index.json" in w and "catches up" in w for w in body["warnings"]), body
        assert (root / project / body["path"]).read_bytes() == data
        assert catalog_rows(state) == {body["path"]: sha(data)}
        index = json.loads((root / project / "index.json").read_text())
        assert index["files"] == []  # stale for now, and marked to catch up
        filler.unlink()
        make_project(server.url, "Other")  # any later index write catches the stale one up
        index = json.loads((root / project / "index.json").read_text())
        assert [f["sha256"] for f in index["files"]] == [sha(data)]
        assert temps(root) == []


# -- multipart: one index write, a cap on parts, a client that leaves --------------------------


class IndexWrites(FileSystemEventHandler):
    """Counts index.json replacements seen by inotify in one project folder."""

    def __init__(self) -> None:
        self.count = 0

    def on_moved(self, event: FileSystemEvent) -> None:
        if str(event.dest_path).endswith("/index.json"):
            self.count += 1


def test_ten_thousand_tiny_parts_are_answered_quickly_with_one_index_write(
    tmp_path: Path,
) -> None:
    """On a tmpfs (the test measures the per-part work, not the disk's fsync latency)."""
    with tmpfs(tmp_path / "fast", "256m") as mount:
        _ten_thousand_parts(mount / "projects", tmp_path / "state")


def _ten_thousand_parts(root: Path, state: Path) -> None:
    root.mkdir()
    env = {"MEDIA_SYNC_MAX_PARTS": "10000", "MEDIA_SYNC_WATCH": "off"}
    parts = [(f"p{i:05d}.jpg", b"tiny-%05d" % i) for i in range(10_000)]
    with serving(root, state, env=env) as server:
        project = make_project(server.url)
        writes = IndexWrites()
        observer = InotifyObserver()
        observer.schedule(writes, str(root / project), recursive=False)
        observer.start()
        try:
            started = time.monotonic()
            response = post_parts(server, project, multipart(parts), timeout=300)
            elapsed = time.monotonic() - started
            time.sleep(0.3)  # let inotify deliver
        finally:
            observer.stop()
            observer.join(10)
        assert response.status_code == 200, response.text[:500]
        assert response.json()["stored"] == 10_000
        assert elapsed < 240, f"10,000 parts took {elapsed:.1f} s"
        print(f"\n10,000 tiny parts answered in {elapsed:.1f} s")
        assert writes.count == 1
        index = json.loads((root / project / "index.json").read_text())
        assert len(index["files"]) == 10_000


def test_more_parts_than_allowed_is_413_and_lists_the_ones_stored(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    parts = [(f"p{i}.jpg", os.urandom(1000)) for i in range(5)]
    with serving(
        root, state, env={"MEDIA_SYNC_MAX_PARTS": "3", "MEDIA_SYNC_WATCH": "off"}
    ) as server:
        project = make_project(server.url)
        response = post_parts(server, project, multipart(parts))
        assert response.status_code == 413, response.text
        body = response.json()
        assert "MEDIA_SYNC_MAX_PARTS" in body["detail"] and "more than 3" in body["detail"]
        assert [f["status"] for f in body["files"]] == ["stored"] * 3
        assert body["stored"] == 3
        originals = root / project / "ingest/originals"
        assert sorted(p.name for p in originals.iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]
        index = json.loads((root / project / "index.json").read_text())
        assert len(index["files"]) == 3
        assert temps(root) == []


def test_a_client_that_leaves_mid_request_leaves_no_temp_and_no_partial_file(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    complete = [(f"done{i}.jpg", os.urandom(20_000)) for i in range(3)]
    big = os.urandom(8 << 20)
    body = multipart([*complete, ("big.mov", big)])
    cut = len(multipart(complete)) - len(f"--{BOUNDARY}--\r\n") + (2 << 20)
    with serving(root, state, env={"MEDIA_SYNC_WATCH": "off"}) as server:
        project = make_project(server.url)
        originals = root / project / "ingest/originals"
        head = (
            f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head + body[:cut])
            deadline = time.monotonic() + 20
            while not any(p.name.startswith(TEMP_PREFIX) for p in originals.iterdir()):
                assert time.monotonic() < deadline, "the big part never reached a temp file"
                time.sleep(0.02)
        deadline = time.monotonic() + 20
        while True:
            index = json.loads((root / project / "index.json").read_text())
            if not temps(root) and len(index["files"]) == 3:
                break
            assert time.monotonic() < deadline, (temps(root), index["files"])
            time.sleep(0.05)
        on_disk = {p.name: p.read_bytes() for p in originals.iterdir()}
        assert on_disk == dict(complete)
        rows = catalog_rows(state)
        assert rows == {f"ingest/originals/{n}": sha(d) for n, d in complete}
        assert {f["relative_path"]: f["sha256"] for f in index["files"]} == rows
