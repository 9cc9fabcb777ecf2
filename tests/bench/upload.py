"""Benchmark: a 1 GiB multipart upload into `media-sync serve` against a bare ASGI app under the
same uvicorn that only hashes (blake3) and writes + fsyncs the raw body; then the server's peak
RSS during a 2 GiB upload.

Run: .venv/bin/python tests/bench/upload.py [--size-mib 1024] [--rss-mib 2048] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.server import free_port, start_server  # noqa: E402

BLOCK = os.urandom(16 << 20)
BOUNDARY = "mediasyncbenchboundary7MA4YWxkTrZu0gW"


def body(total: int, multipart: bool, name: str) -> Iterator[bytes]:
    """The upload body, generated in 1 MiB pieces (never held in memory)."""
    if multipart:
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: video/quicktime\r\n\r\n'
        ).encode()
    sent = 0
    piece = 1 << 20
    while sent < total:
        offset = sent % len(BLOCK)
        chunk = BLOCK[offset : offset + min(piece, total - sent)]
        sent += len(chunk)
        yield chunk
    if multipart:
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


def content_length(total: int, name: str) -> int:
    return sum(len(part) for part in body(0, True, name)) + total


def upload(url: str, total: int, multipart: bool, name: str) -> float:
    """POST the body over a raw socket (a client fast enough not to be the bottleneck)."""
    parsed = httpx.URL(url)
    length = content_length(total, name) if multipart else total
    content_type = (
        f"multipart/form-data; boundary={BOUNDARY}" if multipart else "application/octet-stream"
    )
    head = (
        f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    start = time.perf_counter()
    with socket.create_connection((parsed.host, parsed.port)) as sock:
        sock.sendall(head)
        for piece in body(total, multipart, name):
            sock.sendall(piece)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    elapsed = time.perf_counter() - start
    status = response.split(b" ", 2)[1]
    if status != b"200":
        raise SystemExit(f"upload failed: {response[:300]!r}")
    return elapsed


BARE_APP = """
import os, tempfile, blake3
TARGET = os.environ["BENCH_DIR"]
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"}); return
    hasher = blake3.blake3()
    fd, path = tempfile.mkstemp(dir=TARGET)
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        hasher.update(chunk)
        os.write(fd, chunk)
        more = message.get("more_body", False)
    os.fsync(fd); os.close(fd); os.unlink(path)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": hasher.hexdigest().encode()})
"""


def start_bare(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    (directory / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
        ],
        cwd=directory,
        env={**os.environ, "BENCH_DIR": str(directory)},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("bare app did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pid: int, url: str, total: int, multipart: bool, name: str) -> tuple[float, float]:
    """(seconds, server CPU seconds) for one upload."""
    before = cpu_seconds(pid)
    elapsed = upload(url, total, multipart, name)
    return elapsed, cpu_seconds(pid) - before


class PeakRSS:
    """Samples a process's resident memory every 50 ms (and reads VmHWM at the end)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _status(self, key: str) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _rss(self) -> int:
        return self._status("VmRSS")

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRSS:
        self.baseline = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.high_water = self._status("VmHWM")  # the kernel's own peak, start-up included


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rss-mib", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory(
        prefix="media-sync-upload-bench-", dir=REPO / "data" if (REPO / "data").is_dir() else None
    ) as tmp:
        root, state = Path(tmp) / "projects", Path(tmp) / "state"
        root.mkdir()
        server = start_server(
            root, state, args=["--no-watch"], env={"MEDIA_SYNC_LOG_LEVEL": "WARNING"}
        )
        bare, bare_url = start_bare(Path(tmp))
        try:
            with server.client() as http:
                project = http.post("/api/projects", json={"name": "Bench"}).json()["name"]
            url = f"{server.url}/api/projects/{project}/upload"
            ours, base = [], []
            for round_ in range(args.rounds):  # interleaved, alternating who goes first
                runs = [
                    (ours, server.process.pid, url, True),
                    (base, bare.pid, bare_url, False),
                ]
                for results, pid, target, multipart in runs[round_ % 2 :] + runs[: round_ % 2]:
                    results.append(timed(pid, target, size, multipart, f"clip_{round_}.mov"))
                (root / project / "ingest" / "originals" / f"clip_{round_}.mov").unlink()
            gib = size / 2**30
            for label, results in (
                ("media-sync multipart upload", ours),
                ("bare ASGI hash+write+fsync ", base),
            ):
                rates = sorted(size / elapsed / 1e6 for elapsed, _ in results)
                cpu = sorted(used / gib for _, used in results)
                print(
                    f"{label} : {rates[-1]:8.1f} MB/s best, {rates[len(rates) // 2]:8.1f} median"
                    f" of {args.rounds}; server CPU {cpu[len(cpu) // 2]:.2f} s/GiB (median)"
                )
            ours_rate = size / min(e for e, _ in ours) / 1e6
            base_rate = size / min(e for e, _ in base) / 1e6
            print(f"ratio (best/best)           : {ours_rate / base_rate:8.2f}  (target >= 0.85)")
            with PeakRSS(server.process.pid) as rss:
                upload(url, args.rss_mib << 20, True, "big.mov")
            print(
                f"server RSS before / peak during a {args.rss_mib} MiB upload: "
                f"{rss.baseline / 2**20:.0f} / {rss.peak / 2**20:.0f} MiB sampled every 50 ms, "
                f"VmHWM {rss.high_water / 2**20:.0f} MiB (target < 150 MiB)"
            )
        finally:
            bare.send_signal(signal.SIGTERM)
            bare.wait(30)
            server.stop()


if __name__ == "__main__":
    main()
