"""IETF resumable uploads against a real `media-sync serve`: a raw-socket client whose connection
is cut mid-body resumes with HEAD + PATCH and commits once; 413/415 come before the body."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import create_project
from tests.support.rawhttp import connect, head, read_answer, send_all
from tests.support.server import LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server (upload limit 64 MiB) for the module: each test has its own project."""
    base = tmp_path_factory.mktemp("ietf")
    env = {"MEDIA_SYNC_MAX_UPLOAD_MB": "64"}
    with serving(base / "projects", base / "state", args=["--no-watch"], env=env) as live:
        yield live


def flag(version: int, last: bool) -> dict[str, str]:
    if version == 3:
        return {"Upload-Incomplete": "?0" if last else "?1"}
    return {"Upload-Complete": "?1" if last else "?0"}


def spool_part(server: LiveServer, project: str, location: str) -> Path:
    upload_id = httpx.URL(location).path.rsplit("/", 1)[-1]
    return server.root / project / "_manifest" / "uploads" / f"{upload_id}.part"


def cut_after(
    server: LiveServer, path: str, headers: dict[str, str], body: bytes, part: Path, total: int
) -> int:
    """Send the head and ``body`` (announcing ``total`` bytes), wait until the server has
    written at least 1 MiB of it to the spool, then close the socket: a connection dropped
    mid-body. Returns how many bytes the spool held before the cut."""
    sock = connect(server.port)
    try:
        request = head("PATCH", path, {**headers, "Content-Length": str(total)})
        assert send_all(sock, request + body)
        return wait_until(
            lambda: part.exists() and part.stat().st_size >= 2**20 and part.stat().st_size,
            20,
            what="1 MiB in the spool",
        )
    finally:
        sock.close()


@pytest.mark.parametrize("version", [3, 4, 5, 6])
def test_a_cut_append_resumes_with_head_and_patch_and_commits_once(
    server: LiveServer, version: int
) -> None:
    data = os.urandom(6_000_000)
    half = 2_500_000
    version_header = {"Upload-Draft-Interop-Version": str(version)}
    with server.client() as http:
        project = create_project(http, f"Cut{version}")
        created = http.post(
            f"/api/projects/{project}/uploads",
            content=b"",
            headers={**version_header, **flag(version, False), "X-Filename": "trip.mov"},
        )
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        path = httpx.URL(location).path
        append = {
            **version_header,
            "Upload-Offset": "0",
            **flag(version, True),
            "Content-Type": "application/partial-upload",
        }
        part = spool_part(server, project, location)
        seen = cut_after(server, path, append, data[:half], part, len(data))

        probe = http.head(path, headers=version_header)  # waits for the cut request to wind up
        assert probe.status_code == 204
        offset = int(probe.headers["upload-offset"])
        assert seen <= offset <= half  # what arrived before the cut, never more than was sent
        assert part.stat().st_size == offset
        resumed = http.patch(
            path, content=data[offset:], headers={**append, "Upload-Offset": str(offset)}
        )
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["status"] == "stored"
        assert resumed.json()["sha256"] == hashlib.sha256(data).hexdigest()
        stored = list((server.root / project / "ingest" / "originals").iterdir())
        assert [p.read_bytes() == data for p in stored] == [True]
        items = http.get(f"/api/projects/{project}/media").json()["media"]
        assert [item["sha256"] for item in items] == [hashlib.sha256(data).hexdigest()]


def test_a_newer_request_takes_over_from_an_append_whose_connection_hangs(
    server: LiveServer,
) -> None:
    """A phone whose Wi-Fi dropped: the server never sees the old connection end. The client's
    HEAD from a new connection takes over (the old body stops being read, its bytes are kept)
    instead of waiting for a timeout, and the upload resumes and commits once."""
    data = os.urandom(5_000_000)
    version = {"Upload-Draft-Interop-Version": "6"}
    with server.client() as http:
        project = create_project(http, "Hang")
        created = http.post(
            f"/api/projects/{project}/uploads",
            content=b"",
            headers={**version, "Upload-Complete": "?0", "X-Filename": "hang.mov"},
        )
        location = created.headers["location"]
        path = httpx.URL(location).path
        part = spool_part(server, project, location)
        append = {
            **version,
            "Upload-Offset": "0",
            "Upload-Complete": "?1",
            "Content-Type": "application/partial-upload",
            "Content-Length": str(len(data)),
        }
        hanging = connect(server.port)
        try:
            assert send_all(hanging, head("PATCH", path, append) + data[:2_000_000])
            wait_until(lambda: part.stat().st_size >= 2**20, 20, what="1 MiB in the spool")
            probe = http.head(path, headers=version)  # the old connection is still open
            assert probe.status_code == 204
            offset = int(probe.headers["upload-offset"])
            assert 2**20 <= offset <= 2_000_000
            old = read_answer(hanging)  # the request taken over from is answered and closed
            assert (old.status, old.json()["error"], old.closed) == (
                400,
                "ClientDisconnected",
                True,
            )
        finally:
            hanging.close()
        rest = {**append, "Upload-Offset": str(offset)}
        del rest["Content-Length"]
        done = http.patch(path, content=data[offset:], headers=rest)
        assert done.status_code == 200, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_cut_creation_keeps_its_bytes_for_the_client_that_saw_the_location(
    server: LiveServer,
) -> None:
    """A client that learned the URL (here: from the spool, as a 104 would have told it) can
    resume an optimistic creation (`Upload-Complete: ?1` with the whole file) cut mid-body."""
    data = os.urandom(3_000_000)
    with server.client() as http:
        project = create_project(http, "CutCreate")
        spool = server.root / project / "_manifest" / "uploads"
        headers = {
            "Upload-Draft-Interop-Version": "6",
            "Upload-Complete": "?1",
            "Content-Disposition": 'attachment; filename="whole.mp4"',
        }
        sock = connect(server.port)
        try:
            request = head(
                "POST",
                f"/api/projects/{project}/uploads",
                {**headers, "Content-Length": str(len(data))},
            )
            assert send_all(sock, request + data[:1_500_000])
            found = wait_until(lambda: next(iter(spool.glob("*.part")), None), 20)
            assert found is not None
            part = found
            wait_until(lambda: part.stat().st_size >= 2**20, 20, what="1 MiB in the spool")
        finally:
            sock.close()
        path = f"/api/projects/{project}/uploads/{part.stem}"
        probe = http.head(path, headers={"Upload-Draft-Interop-Version": "6"})
        assert probe.status_code == 204
        offset = int(probe.headers["upload-offset"])
        assert 2**20 <= offset <= 1_500_000
        assert probe.headers["upload-length"] == str(len(data))
        rest = {
            "Upload-Draft-Interop-Version": "6",
            "Upload-Complete": "?1",
            "Upload-Offset": str(offset),
            "Content-Type": "application/partial-upload",
        }
        done = http.patch(path, content=data[offset:], headers=rest)
        assert done.status_code == 200, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "length", "status"),
    [("notes.txt", 1000, 415), ("huge.mov", 65 * 2**20, 413)],
)
def test_415_and_413_are_answered_before_any_body_byte(
    server: LiveServer, name: str, length: int, status: int
) -> None:
    with server.client() as http:
        project = create_project(http, "Refusals")
    sock = connect(server.port)
    try:
        headers = {
            "Upload-Draft-Interop-Version": "6",
            "Upload-Complete": "?1",
            "X-Filename": name,
            "Content-Length": str(length),
        }
        assert send_all(sock, head("POST", f"/api/projects/{project}/uploads", headers))
        answer = read_answer(sock, timeout=10)  # no body byte was sent
    finally:
        sock.close()
    assert answer.status == status
    assert answer.headers["upload-draft-interop-version"] == "6"
    assert answer.closed  # the unread body is never read
    assert not list((server.root / project / "_manifest" / "uploads").glob("*.part"))


def test_after_kill_9_mid_body_the_upload_resumes_from_its_durable_offset(
    roots: tuple[Path, Path],
) -> None:
    """A long body is made durable every 64 MiB: a server killed mid-body (`kill -9`) and
    started again answers that offset, and the upload resumes and commits once."""
    mib = 2**20
    data = os.urandom(72 * mib)
    version = {"Upload-Draft-Interop-Version": "6"}
    with serving(*roots, args=["--no-watch"]) as first:
        with first.client() as http:
            project = create_project(http, "Killed")
            created = http.post(
                f"/api/projects/{project}/uploads",
                content=b"",
                headers={**version, "Upload-Complete": "?0", "X-Filename": "long.mov"},
            )
        path = httpx.URL(created.headers["location"]).path
        state = spool_part(first, project, created.headers["location"]).with_suffix(".json")
        append = {
            **version,
            "Upload-Offset": "0",
            "Upload-Complete": "?1",
            "Content-Type": "application/partial-upload",
            "Content-Length": str(len(data)),
        }
        sock = connect(first.port, timeout=60)
        try:
            assert send_all(sock, head("PATCH", path, append) + data[: 70 * mib])
            wait_until(lambda: '"offset": 0,' not in state.read_text(), 60, what="a durable offset")
            first.process.kill()
            first.process.wait(10)
        finally:
            sock.close()
    with serving(*roots, args=["--no-watch"]) as second, second.client() as http:
        durable = json.loads(state.read_text())["offset"]  # fsynced once, past 64 MiB
        assert 64 * mib <= durable < 70 * mib
        probe = http.head(path, headers=version)
        assert (probe.status_code, probe.headers["upload-offset"]) == (204, str(durable))
        rest = {**append, "Upload-Offset": str(durable)}
        del rest["Content-Length"]
        done = http.patch(path, content=data[durable:], headers=rest)
        assert done.status_code == 200, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
        originals = list((second.root / project / "ingest" / "originals").iterdir())
        assert [p.stat().st_size for p in originals] == [len(data)]


@pytest.mark.parametrize("version", [3, 6])
def test_a_104_announces_the_upload_before_the_body_so_a_cut_creation_resumes(
    server: LiveServer, version: int
) -> None:
    """iOS's way: the whole file in the creation request; the 104's Location is where it
    resumes after the connection drops."""
    data = os.urandom(4_000_000)
    with server.client() as http:
        project = create_project(http, f"Interim{version}")
    headers = {
        "Upload-Draft-Interop-Version": str(version),
        **flag(version, True),
        "X-Filename": "phone.mov",
        "Content-Length": str(len(data)),
    }
    sock = connect(server.port)
    try:
        assert send_all(sock, head("POST", f"/api/projects/{project}/uploads", headers))
        interim = read_answer(sock, timeout=10)  # before any body byte
        assert interim.status == 104
        assert interim.headers["upload-draft-interop-version"] == str(version)
        location = interim.headers["location"]
        assert send_all(sock, data[:2_000_000])
        part = spool_part(server, project, location)
        wait_until(lambda: part.stat().st_size >= 2**20, 20, what="1 MiB in the spool")
    finally:
        sock.close()
    path = httpx.URL(location).path
    with server.client() as http:
        probe = http.head(path, headers={"Upload-Draft-Interop-Version": str(version)})
        offset = int(probe.headers["upload-offset"])
        assert 2**20 <= offset <= 2_000_000
        rest = {
            "Upload-Draft-Interop-Version": str(version),
            **flag(version, True),
            "Upload-Offset": str(offset),
            "Content-Type": "application/partial-upload",
        }
        done = http.patch(path, content=data[offset:], headers=rest)
        assert done.status_code == 200, done.text
        assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
