"""Benchmark: one 1 GiB file over loopback from media-sync's file_response vs Debian's nginx.

Run ``.venv/bin/python tests/bench/stream.py`` (``--help`` for knobs). It writes a real
(non-sparse) file, starts uvicorn (uvloop + httptools) and nginx (sendfile on) as
subprocesses on free ports, downloads the file from each with the same raw-socket client
(best of N), and prints MB/s, the ratio (target >= 0.5), the time to first byte of a
Range request in the middle of the file, and the service's peak RSS while streaming.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import uvicorn
from litestar import Litestar, Request, route
from litestar.params import FromPath

from ingress import filestream

BLOCK = 16 * 1024 * 1024
FILE_NAME = "big.bin"
NGINX = "/usr/sbin/nginx"


@dataclass(frozen=True)
class Fetch:
    """One download: bytes of body received, seconds to the first byte, seconds overall."""

    body_bytes: int
    first_byte_s: float
    total_s: float


def write_test_file(path: Path, size: int) -> None:
    """``size`` bytes of real data: one random 16 MiB block repeated (never sparse)."""
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        written = 0
        while written < size:
            part = block[: min(BLOCK, size - written)]
            out.write(part)
            written += len(part)
        out.flush()
        os.fsync(out.fileno())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def _read_head(sock: socket.socket) -> tuple[int, int, bytes]:
    """Read the status line and headers; return (status, content-length, body bytes already read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            raise RuntimeError("connection closed inside the response head")
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    return status, int(fields.get("content-length", "0")), rest


def fetch(port: int, path: str, range_header: str | None = None) -> Fetch:
    """GET over a raw socket, reading the body into one reused buffer and discarding it."""
    extra = f"Range: {range_header}\r\n" if range_header else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
    buffer = bytearray(4 * 1024 * 1024)
    view = memoryview(buffer)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        sock.sendall(request.encode())
        status, length, received_body = _read_head(sock)
        first_byte = time.perf_counter() - started
        if status not in (200, 206):
            raise RuntimeError(f"unexpected status {status} for {path}")
        received = len(received_body)
        while received < length:
            n = sock.recv_into(view)
            if n == 0:
                raise RuntimeError(f"connection closed after {received} of {length} bytes")
            received += n
        return Fetch(received, first_byte, time.perf_counter() - started)


class PeakRss:
    """Samples a process's RSS in a thread; ``peak`` is the largest value seen."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self._stop = threading.Event()
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def running(argv: list[str], port: int, log: Path, **popen: object) -> Iterator[int]:
    """Start a server subprocess, wait for its port, yield its pid, and always stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
        try:
            try:
                wait_for_port(port, proc)
            except RuntimeError:
                sys.stderr.write(log.read_text(errors="replace")[-4000:])
                raise
            yield proc.pid
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def nginx_config(workdir: Path, port: int) -> Path:
    """A self-contained nginx.conf: foreground, sendfile, every path inside ``workdir``."""
    user = "user root;" if os.geteuid() == 0 else ""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {workdir}/www;
        location / {{ }}
    }}
}}
"""
    )
    return conf


def serve(root: Path, port: int, chunk_kib: int | None) -> None:
    """Subprocess entry: a minimal Litestar app on file_response under uvicorn."""
    if chunk_kib:
        filestream.CHUNK_SIZE = chunk_kib * 1024

    @route("/f/{name:str}", http_method=["GET", "HEAD"])
    async def one_file(
        request: Request[Any, Any, Any], name: FromPath[str]
    ) -> filestream.FileStream:
        return filestream.file_response(
            root / name, method=request.method, headers=request.headers, media_type="video/mp4"
        )

    app = Litestar([one_file])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


@dataclass(frozen=True)
class Target:
    """One server under test."""

    name: str
    port: int
    path: str


@dataclass
class Results:
    """Every run of one target; the figures are the best of them."""

    full: list[Fetch]
    ranged: list[Fetch]

    def mb_s(self, size: int) -> float:
        return size / min(run.total_s for run in self.full) / 1e6

    def ttfb_ms(self) -> float:
        return min(run.first_byte_s for run in self.ranged) * 1000


def evict(path: Path) -> None:
    """Drop the file from the page cache, so the next download reads the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure(
    targets: list[Target], size: int, repeats: int, cold: Path | None = None
) -> dict[str, Results]:
    """Interleave the targets run by run, so load from elsewhere hits both alike."""
    middle = f"bytes={size // 2}-{size // 2 + 2**20 - 1}"  # 536870912-537919487 for 1 GiB
    results = {target.name: Results([], []) for target in targets}
    for target in targets:
        fetch(target.port, target.path, "bytes=0-1023")  # warm up; the page cache is warm
    for _ in range(repeats):
        for target in targets:
            if cold:
                evict(cold)
            full = fetch(target.port, target.path)
            if cold:
                evict(cold)
            ranged = fetch(target.port, target.path, middle)
            if full.body_bytes != size or ranged.body_bytes != 2**20:
                raise RuntimeError(
                    f"{target.name} sent {full.body_bytes}/{ranged.body_bytes} bytes"
                )
            results[target.name].full.append(full)
            results[target.name].ranged.append(ranged)
    return results


def report(results: dict[str, Results], size: int, service_rss: tuple[int, int]) -> None:
    for name, result in results.items():
        best = min(run.total_s for run in result.full)
        print(
            f"{name:>10}: {result.mb_s(size):6.0f} MB/s (best {best:.3f} s for "
            f"{size / 2**20:.0f} MiB, runs {', '.join(f'{r.total_s:.3f}' for r in result.full)}); "
            f"middle-range TTFB {result.ttfb_ms():.2f} ms"
        )
    before, peak = service_rss
    print(f"{'':>10}  media-sync RSS {before / 2**20:.0f} MiB idle, {peak / 2**20:.0f} MiB peak")
    ratio = results["media-sync"].mb_s(size) / results["nginx"].mb_s(size)
    print(f"{'ratio':>10}: {ratio:.2f} (target >= 0.5)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-kib", type=int, default=0, help="override filestream.CHUNK_SIZE")
    parser.add_argument(
        "--pin", action="store_true", help="client on CPU 0, servers on CPU 1 (less noise)"
    )
    parser.add_argument(
        "--cold", action="store_true", help="evict the file from the page cache before each run"
    )
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.chunk_kib)
        return 0
    size = args.size_mib * 1024 * 1024
    pin: dict[str, object] = {}
    if args.pin:
        os.sched_setaffinity(0, {0})
        pin["preexec_fn"] = lambda: os.sched_setaffinity(0, {1})
    workdir = Path(tempfile.mkdtemp(prefix="media-sync-bench-"))
    try:
        www = workdir / "www"
        www.mkdir()
        write_test_file(www / FILE_NAME, size)
        repo = Path(__file__).resolve().parents[2]
        app_port, nginx_port = free_port(), free_port()
        service_argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(www),
            str(app_port),
            "--chunk-kib",
            str(args.chunk_kib),
        ]
        nginx_argv = [
            NGINX,
            "-p",
            str(workdir),
            "-c",
            str(nginx_config(workdir, nginx_port)),
            "-e",
            str(workdir / "nginx-error.log"),
        ]
        targets = [
            Target("media-sync", app_port, f"/f/{FILE_NAME}"),
            Target("nginx", nginx_port, f"/{FILE_NAME}"),
        ]
        with (
            running(service_argv, app_port, workdir / "service.log", cwd=repo, **pin) as pid,
            running(nginx_argv, nginx_port, workdir / "nginx.log", **pin),
            PeakRss(pid) as rss,
        ):
            idle = rss.peak
            results = measure(targets, size, args.repeats, www / FILE_NAME if args.cold else None)
        report(results, size, (idle, rss.peak))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
