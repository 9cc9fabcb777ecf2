"""Load benchmark against a real `media-sync serve` (watcher on, as deployed): 8 concurrent
512 MiB uploads, 100 listing requests a second for 60 s and 20 live-event (`/api/events`)
clients, all at once. Prints errors (must be 0), listing p50/p95, upload MB/s, the server's peak
RSS and open descriptors; exits 1 on any error. Bounded: every socket has a timeout and the
whole run a deadline.

Run: `.venv/bin/python tests/bench/load.py [--uploads 8] [--upload-mib 512] [--seconds 60]`
(about two minutes and 4 GiB of temp disk with the defaults).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.server import LiveServer, start_server  # noqa: E402

BLOCK = os.urandom(16 << 20)
SOCKET_TIMEOUT = 120.0


@dataclass
class Tally:
    """What every client thread reports, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)
    listing_ms: list[float] = field(default_factory=list)
    upload_seconds: list[float] = field(default_factory=list)
    events_seen: int = 0

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def upload(server: LiveServer, project: str, index: int, size: int, tally: Tally) -> None:
    """PUT ``size`` bytes (unique per upload: a distinct first MiB) over a raw socket."""
    unique = os.urandom(1 << 20)
    head = (
        f"PUT /api/projects/{project}/files/load-{index}.mov HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: video/quicktime\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as sock:
            sock.sendall(head + unique)
            sent = len(unique)
            view = memoryview(BLOCK)
            while sent < size:
                piece = view[: min(len(BLOCK), size - sent)]
                sock.sendall(piece)
                sent += len(piece)
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
    except OSError as exc:
        tally.error(f"upload {index}: {exc!r}")
        return
    if not response.startswith(b"HTTP/1.1 200 "):
        tally.error(f"upload {index}: {response[:200]!r}")
        return
    with tally.lock:
        tally.upload_seconds.append(time.perf_counter() - started)


def lister(server: LiveServer, project: str, rate: float, until: float, tally: Tally) -> None:
    """GET the media listing at ``rate`` a second (paced, not bursty) until ``until``."""
    interval = 1.0 / rate
    next_at = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        while next_at < until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            started = time.perf_counter()
            try:
                response = http.get(f"/api/projects/{project}/media", params={"limit": 100})
            except httpx.HTTPError as exc:
                tally.error(f"listing: {exc!r}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                tally.error(f"listing: {response.status_code} {response.text[:200]}")
                continue
            with tally.lock:
                tally.listing_ms.append(elapsed)


def watcher(
    server: LiveServer, until: float, uploads_done: threading.Event, uploads: int, tally: Tally
) -> None:
    """One live-event client: the stream stays open past ``until`` and the last upload, and
    delivers a `stored` event for every upload."""
    stored = 0
    try:
        with (
            httpx.Client(base_url=server.url, timeout=httpx.Timeout(30, read=40)) as http,
            http.stream("GET", "/api/events") as response,
        ):
            if response.status_code != 200:
                tally.error(f"events: {response.status_code}")
                return
            for line in response.iter_lines():
                if line.startswith("event:"):
                    stored += line == "event: stored"
                    with tally.lock:
                        tally.events_seen += 1
                if time.monotonic() >= until and uploads_done.is_set() and stored >= uploads:
                    return
            tally.error(f"events: the stream ended early ({stored} of {uploads} stored events)")
    except httpx.HTTPError as exc:
        tally.error(f"events: {exc!r} ({stored} of {uploads} stored events)")


def seed(server: LiveServer, files: int) -> str:
    """A project holding ``files`` small files, so each listing has a page to build."""
    with server.client() as http:
        project = str(http.post("/api/projects", json={"name": "Load"}).json()["name"])
        for i in range(files):
            body = os.urandom(4096)
            response = http.put(f"/api/projects/{project}/files/seed-{i}.mov", content=body)
            assert response.status_code == 200, response.text
    return project


def sample_rss(pid: int, stop: threading.Event, peaks: dict[str, int]) -> None:
    process = psutil.Process(pid)
    while not stop.wait(0.25):
        try:
            peaks["rss"] = max(peaks["rss"], process.memory_info().rss)
            peaks["fds"] = max(peaks["fds"], process.num_fds())
        except psutil.Error:
            return


def vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def run(args: argparse.Namespace, base: Path) -> Tally:
    root = base / "projects"
    root.mkdir()
    env = {"MEDIA_SYNC_MAX_UPLOAD_MB": str(args.upload_mib + 1), "MEDIA_SYNC_LOG_LEVEL": "WARNING"}
    server = start_server(root, base / "state", env=env)
    tally, stop, peaks = Tally(), threading.Event(), {"rss": 0, "fds": 0}
    try:
        project = seed(server, args.seed_files)
        sampler = threading.Thread(target=sample_rss, args=(server.process.pid, stop, peaks))
        sampler.start()
        started = time.monotonic()
        until = started + args.seconds
        size = args.upload_mib << 20
        done = threading.Event()
        senders = [
            threading.Thread(target=upload, args=(server, project, i, size, tally))
            for i in range(args.uploads)
        ]
        threads = [
            *(
                threading.Thread(target=watcher, args=(server, until, done, args.uploads, tally))
                for _ in range(args.event_clients)
            ),
            *(
                threading.Thread(
                    target=lister, args=(server, project, args.rate / 10, until, tally)
                )
                for _ in range(10)
            ),
            *senders,
        ]
        for thread in threads:
            thread.start()
        for thread in senders:
            thread.join(max(1.0, started + args.seconds + 240 - time.monotonic()))
        done.set()
        for thread in threads:
            thread.join(max(1.0, started + args.seconds + 240 - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            tally.error("a client was still running at the deadline")
        stop.set()
        sampler.join()
        report(args, tally, peaks, vm_hwm(server.process.pid), time.monotonic() - started)
        log = server.log()
        if "Traceback" in log:
            tally.error("the server logged an error:\n" + log[-3000:])
    finally:
        stop.set()
        server.stop()
    return tally


def report(
    args: argparse.Namespace, tally: Tally, peaks: dict[str, int], hwm: int, wall: float
) -> None:
    listing = sorted(tally.listing_ms)
    total_mb = len(tally.upload_seconds) * (args.upload_mib << 20) / 1e6
    slowest = max(tally.upload_seconds, default=0.0)
    print(f"wall time:            {wall:.1f} s")
    print(f"errors:               {len(tally.errors)}")
    for message in tally.errors[:20]:
        print(f"  {message}")
    if listing:
        p50 = statistics.median(listing)
        p95 = listing[int(len(listing) * 0.95) - 1]
        print(f"listings:             {len(listing)} ({len(listing) / args.seconds:.1f}/s)")
        print(f"listing p50 / p95:    {p50:.1f} ms / {p95:.1f} ms (max {listing[-1]:.1f} ms)")
    print(
        f"uploads:              {len(tally.upload_seconds)} x {args.upload_mib} MiB in "
        f"{slowest:.1f} s: {total_mb / slowest if slowest else 0:.0f} MB/s together"
    )
    print(f"live-event messages:  {tally.events_seen} over {args.event_clients} clients")
    print(f"server peak RSS:      {max(hwm, peaks['rss']) / 2**20:.0f} MiB (VmHWM)")
    print(f"server peak fds:      {peaks['fds']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--upload-mib", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=100.0, help="listing requests a second")
    parser.add_argument("--event-clients", type=int, default=20)
    parser.add_argument("--seed-files", type=int, default=200)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="media-sync-load-"))
    try:
        tally = run(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
