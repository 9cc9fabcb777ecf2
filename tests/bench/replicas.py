"""Benchmark: 8 concurrent uploads into one `media-sync serve` replica against the same 8 spread
over two replicas, in the same run, on the same PostgreSQL catalog and the same disk: the
aggregate MB/s of each and their ratio (two over one).

On a machine with few cores the two replicas share them, so the ratio mostly shows that
nothing serialises on the catalog (a ratio near 1 or above), not that a second machine helps.

Run: .venv/bin/python tests/bench/replicas.py [--size-mib 256] [--uploads 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.server import LiveServer, start_server  # noqa: E402

BLOCK = os.urandom(8 << 20)
BOUNDARY = "mediasyncreplicasbench4f1c"
PIECE = 1 << 20


def body(total: int, name: str, seed: bytes) -> Iterator[bytes]:
    """A multipart body of ``total`` bytes made in 1 MiB pieces; ``seed`` makes it unique."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: video/quicktime\r\n\r\n"
    ).encode()
    yield seed
    sent = len(seed)
    while sent < total:
        offset = sent % len(BLOCK)
        chunk = BLOCK[offset : offset + min(PIECE, total - sent, len(BLOCK) - offset)]
        sent += len(chunk)
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(server: LiveServer, project: str, total: int, name: str) -> None:
    """POST one upload over a raw socket (a client fast enough not to be the bottleneck)."""
    seed = os.urandom(32)
    length = sum(len(p) for p in body(len(seed), name, seed)) + total - len(seed)
    head = (
        f"POST /api/projects/{project}/upload HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        for piece in body(total, name, seed):
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if answer.split(b" ", 2)[1] != b"200" or b'"stored"' not in answer:
        raise SystemExit(f"upload failed: {answer[:300]!r}")


def round_of(targets: list[LiveServer], project: str, size: int, label: str) -> float:
    """Upload to ``targets`` (one upload each) at once; aggregate MB/s."""
    start = time.perf_counter()
    with ThreadPoolExecutor(len(targets)) as pool:
        jobs = [(server, f"{label}-{i}.mov") for i, server in enumerate(targets)]
        list(pool.map(lambda job: upload(job[0], project, size, job[1]), jobs))
    seconds = time.perf_counter() - start
    return len(targets) * size / seconds / 1e6


def clear(root: Path, project: str, server: LiveServer) -> None:
    """Remove the round's files (the next round writes as much again)."""
    originals = root / project / "ingest" / "originals"
    for path in originals.iterdir():
        path.unlink()
    with httpx.Client(base_url=server.url, timeout=120) as http:
        http.post(f"/api/projects/{project}/reindex").raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256, help="size of each upload")
    parser.add_argument("--uploads", type=int, default=8, help="concurrent uploads per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each layout")
    args = parser.parse_args()
    size = args.size_mib << 20
    base = Path(tempfile.mkdtemp(prefix="media-sync-replicas-"))
    env = {"MEDIA_SYNC_WATCH": "off", "MEDIA_SYNC_LOG_LEVEL": "WARNING"}
    try:
        with PostgresServer.start() as pg, pg.database() as url:
            env["MEDIA_SYNC_DATABASE_URL"] = url
            root, state = base / "projects", base / "state"
            servers = [start_server(root, state, env=env) for _ in range(2)]
            try:
                with servers[0].client() as http:
                    response = http.post("/api/projects", json={"name": "Bench"})
                    project = response.json()["name"]
                one: list[float] = []
                two: list[float] = []
                for index in range(args.rounds):
                    for layout, results in (("one", one), ("two", two)):
                        targets = [servers[0] if layout == "one" else servers[i % 2]
                                   for i in range(args.uploads)]  # fmt: skip
                        results.append(round_of(targets, project, size, f"{layout}{index}"))
                        clear(root, project, servers[0])
            finally:
                for server in servers:
                    server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    best_one, best_two = max(one), max(two)
    print(f"{args.uploads} concurrent uploads of {args.size_mib} MiB, PostgreSQL catalog, "
          f"one disk, {os.cpu_count()} cores, best of {args.rounds} rounds")  # fmt: skip
    print(f"  into one replica:         {best_one:8.1f} MB/s  (rounds: "
          f"{', '.join(f'{v:.1f}' for v in one)})")  # fmt: skip
    print(f"  spread over two replicas: {best_two:8.1f} MB/s  (rounds: "
          f"{', '.join(f'{v:.1f}' for v in two)})")  # fmt: skip
    print(f"  ratio two/one:            {best_two / best_one:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
