"""Crash suite (issue 11): `kill -9` a real server mid-upload and a real watcher mid-drop,
restart, and check that nothing is half there: no temp file, no partial file under
`ingest/originals/`, every catalogued file hashes to its record, every index.json parses.

20 rounds each by default, within a time budget; ``MEDIA_SYNC_CRASH_ROUNDS`` asks for more
(``make bench``), ``MEDIA_SYNC_CRASH_SECONDS`` sets the budget of each test.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import socket
import sqlite3
import time
from pathlib import Path

import httpx

from daemon.storage.conventions import TEMP_PREFIX
from tests.support.server import LiveServer, start_server

ROUNDS = int(os.environ.get("MEDIA_SYNC_CRASH_ROUNDS", "20"))
BUDGET = float(os.environ.get("MEDIA_SYNC_CRASH_SECONDS", "40"))
MIN_ROUNDS = min(ROUNDS, 8)  # even on a slow, busy machine
BOUNDARY = "crashBoundary"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def abandoned_temps(root: Path) -> list[Path]:
    """Temp files nobody holds locked. A running watcher may be writing an index.json right
    now (its temp is locked while written): only an unlocked one, still there a moment
    later, is a crash's leftover."""
    suspects = [p for p in root.rglob(f"{TEMP_PREFIX}*") if not _held(p)]
    if suspects:
        time.sleep(0.5)  # one just created and not locked yet would be locked or gone by now
    return [p for p in suspects if p.exists() and not _held(p)]


def _held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True  # renamed into place or removed: not left behind
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def check_after_restart(root: Path, state: Path, complete: set[str]) -> int:
    """The invariants; returns how many files are catalogued."""
    assert abandoned_temps(root) == [], "a temp file was left behind"
    for path in root.glob("*/ingest/originals/**/*"):
        if path.is_file():
            assert sha(path.read_bytes()) in complete, f"partial file {path}"
    with contextlib.closing(
        sqlite3.connect(f"file:{state / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=30)
    ) as db:
        rows = db.execute(
            "SELECT f.project, f.rel_path, c.sha256, f.size FROM file f JOIN content c USING (blake3)"
        ).fetchall()
    for project, rel, digest, size in rows:
        data = (root / project / rel).read_bytes()
        assert (sha(data), len(data)) == (digest, size), f"{project}/{rel} differs from its record"
    for index in root.glob("*/index.json"):
        assert isinstance(json.loads(index.read_text()), dict)
    return len(rows)


def kill9(server: LiveServer) -> None:
    server.process.kill()  # SIGKILL
    server.process.wait(10)


def partial_upload(server: LiveServer, project: str, rng: random.Random) -> None:
    """Send headers and part of a 3 MiB multipart body, then (a moment later) the server dies."""
    data = rng.randbytes(3 << 20)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.mov"\r\n\r\n'
    )
    body = head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    request = (
        f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    cut = int(len(body) * rng.uniform(0.05, 0.95))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request + body[:cut])
        time.sleep(rng.uniform(0, 0.05))
        kill9(server)


def test_kill_9_mid_upload(tmp_path: Path) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    rng = random.Random(11)
    complete: set[str] = set()
    env = {"MEDIA_SYNC_WATCH": "off"}
    started, rounds = time.monotonic(), 0
    project = ""
    while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() - started < BUDGET):
        server = start_server(root, state, env=env)  # its start-up cleanup runs first
        try:
            catalogued = check_after_restart(root, state, complete)
            if not project:
                made = httpx.post(f"{server.url}/api/projects", json={"name": "Crash"}, timeout=30)
                assert made.status_code == 201, made.text
                project = made.json()["name"]
            small = rng.randbytes(rng.randrange(1000, 200_000))
            complete.add(sha(small))
            stored = httpx.post(
                f"{server.url}/api/projects/{project}/upload",
                files={"file": (f"r{rounds}.mov", small)},
                timeout=30,
            )
            assert stored.status_code == 200 and stored.json()["status"] == "stored"
            assert check_after_restart(root, state, complete) == catalogued + 1
            partial_upload(server, project, rng)
        finally:
            server.stop()
        rounds += 1
    server = start_server(root, state, env=env)
    try:
        assert check_after_restart(root, state, complete) == rounds
    finally:
        server.stop()
    print(f"\nkill -9 mid-upload: {rounds} rounds in {time.monotonic() - started:.1f} s")
    assert rounds >= MIN_ROUNDS


def wait_for_log(server: LiveServer, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert server.process.poll() is None, server.log()
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{server.log()}"
        time.sleep(0.02)


def drop(folder: Path, name: str, data: bytes) -> None:
    """A drop that appears whole (written aside, then renamed in), as a share client does."""
    folder.mkdir(parents=True, exist_ok=True)
    aside = folder / f".{name}.part"
    aside.write_bytes(data)
    aside.rename(folder / name)


def test_kill_9_mid_drop(tmp_path: Path) -> None:
    root, state = tmp_path / "projects", tmp_path / "state"
    project = root / "P1-Drops"
    (project / "ingest/originals").mkdir(parents=True)
    rng = random.Random(12)
    complete: set[str] = set()
    env = {"MEDIA_SYNC_SETTLE_SECONDS": "0.1", "MEDIA_SYNC_WATCH": "polling"}
    started, rounds = time.monotonic(), 0
    while rounds < ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() - started < BUDGET):
        daemon = start_server(root, state, env=env, command="daemon")
        try:
            wait_for_log(daemon, "media-sync daemon watching")  # after the start-up cleanup
            check_after_restart(root, state, complete)
            for i in range(12):
                data = rng.randbytes(rng.randrange(1000, 400_000))
                complete.add(sha(data))
                where = project if i % 2 else project / "ingest/originals"
                drop(where, f"r{rounds}-{i}.mov", data)
            time.sleep(rng.uniform(0.1, 1.2))
            kill9(daemon)
        finally:
            daemon.stop()
        rounds += 1
    daemon = start_server(root, state, env=env, command="daemon")
    try:
        wait_for_log(daemon, "media-sync daemon watching")
        catalogued = check_after_restart(root, state, complete)
    finally:
        daemon.stop()
    elapsed = time.monotonic() - started
    print(f"\nkill -9 mid-drop: {rounds} rounds in {elapsed:.1f} s, {catalogued} catalogued")
    assert rounds >= MIN_ROUNDS
    assert catalogued > 0  # the watcher did index between the kills
