"""Benchmark: a 2 GiB upload whose connection is cut 10 times at random points, through tus
1.0.0 and then through the IETF resumable-upload draft (interop 6), into `media-sync serve`.

Each cut is abrupt (RST: what was in flight is lost, as on a Wi-Fi drop); the client then asks
for the offset (HEAD) and sends the rest from there in one PATCH. The IETF client creates the
upload with an empty body first (uvicorn sends no 104, so that is how it learns the URL). Each upload must commit once with the right
sha256 (the stored file is hashed again from disk); printed: body bytes sent / file size (target
<= 1.05) and the time, with an uncut upload of the same size through the same protocol for scale
(``--no-baseline`` skips it). The client's send buffer is 1 MiB (``--sndbuf-kib``), about what a
phone on Wi-Fi has in flight.

Run: .venv/bin/python tests/bench/resume.py [--size-mib 2048] [--cuts 10] [--seed 13]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import socket
import struct
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.server import LiveServer, start_server  # noqa: E402

PAGE = 1 << 20
BLOCK = random.Random(7).randbytes(16 << 20)


def page(tag: int, index: int) -> bytes:
    """Page ``index`` of the file tagged ``tag``: random bytes, unique per file and position."""
    start = (index * 65_537) % (len(BLOCK) - PAGE)
    return struct.pack(">QQ", tag, index) + BLOCK[start + 16 : start + PAGE]


def pieces(tag: int, offset: int, size: int) -> list[bytes]:
    """The file's bytes from ``offset`` to its end, one page (or less) at a time (lazily)."""
    out = []
    while offset < size:
        index, skip = divmod(offset, PAGE)
        chunk = page(tag, index)[skip : min(PAGE, size - index * PAGE)]
        out.append(chunk)
        offset += len(chunk)
    return out


def expected_sha256(tag: int, size: int) -> str:
    digest = hashlib.sha256()
    for index in range((size + PAGE - 1) // PAGE):
        digest.update(page(tag, index)[: min(PAGE, size - index * PAGE)])
    return digest.hexdigest()


@dataclass
class Run:
    protocol: str
    size: int
    sent: int = 0
    cuts: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    answers: list[str] = field(default_factory=list)


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ", 2)[1]), body


def send_from(
    server: LiveServer,
    path: str,
    headers: dict[str, str],
    run: Run,
    tag: int,
    offset: int,
    cut_at: int | None,
    sndbuf: int,
) -> tuple[int, bytes] | None:
    """PATCH the rest of the file from ``offset``; None when cut (RST) at byte ``cut_at``."""
    remaining = run.size - offset
    head = [f"PATCH {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    head += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(remaining)}.items()]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        position = offset
        for chunk in pieces(tag, offset, run.size):
            if cut_at is not None and position + len(chunk) >= cut_at:
                part = chunk[: cut_at - position]
                sock.sendall(part)
                run.sent += len(part)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                run.cuts += 1
                return None  # closing with linger 0: a reset, the bytes in flight are lost
            sock.sendall(chunk)
            run.sent += len(chunk)
            position += len(chunk)
        return _read_response(sock)


class Protocol:
    """How one protocol creates an upload, asks for its offset and appends."""

    name = ""
    done = 0  # the status of the append that carries the last byte

    def __init__(self, http: httpx.Client, project: str) -> None:
        self.http, self.project = http, project

    def create(self, filename: str, size: int) -> str:
        raise NotImplementedError

    def offset(self, path: str) -> int:
        raise NotImplementedError

    def append_headers(self, offset: int) -> dict[str, str]:
        raise NotImplementedError


class Tus(Protocol):
    name = "tus 1.0.0"
    done = 204
    base: ClassVar[dict[str, str]] = {"Tus-Resumable": "1.0.0"}

    def create(self, filename: str, size: int) -> str:
        meta = "filename " + base64.b64encode(filename.encode()).decode()
        headers = {**self.base, "Upload-Length": str(size), "Upload-Metadata": meta}
        response = self.http.post(f"/api/projects/{self.project}/uploads", headers=headers)
        assert response.status_code == 201, response.text
        return httpx.URL(response.headers["location"]).path

    def offset(self, path: str) -> int:
        response = self.http.head(path, headers=self.base)
        assert response.status_code == 200, response.status_code
        return int(response.headers["upload-offset"])

    def append_headers(self, offset: int) -> dict[str, str]:
        return {
            **self.base,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }


class Ietf(Protocol):
    name = "IETF draft (interop 6)"
    done = 200  # the ordinary upload's JSON answer
    base: ClassVar[dict[str, str]] = {"Upload-Draft-Interop-Version": "6"}

    def create(self, filename: str, size: int) -> str:
        headers = {
            **self.base,
            "Upload-Complete": "?0",
            "Upload-Length": str(size),
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
        response = self.http.post(
            f"/api/projects/{self.project}/uploads", content=b"", headers=headers
        )
        assert response.status_code == 201, response.text
        return httpx.URL(response.headers["location"]).path

    def offset(self, path: str) -> int:
        response = self.http.head(path, headers=self.base)
        assert response.status_code == 204, response.status_code
        return int(response.headers["upload-offset"])

    def append_headers(self, offset: int) -> dict[str, str]:
        return {
            **self.base,
            "Upload-Complete": "?1",
            "Upload-Offset": str(offset),
            "Content-Type": "application/partial-upload",
        }


def upload(
    server: LiveServer, protocol: Protocol, size: int, tag: int, cuts: list[int], sndbuf: int
) -> Run:
    run = Run(protocol.name, size)
    started = time.perf_counter()
    path = protocol.create(f"resume_{tag}.mov", size)
    pending = sorted(cuts)
    offset = 0
    for _attempt in range(len(cuts) + 20):  # bounded: each cut, plus a few conflicts
        while pending and pending[0] <= offset:
            pending.pop(0)  # resumed past it already
        cut_at = pending[0] if pending else None
        try:
            answer = send_from(
                server, path, protocol.append_headers(offset), run, tag, offset, cut_at, sndbuf
            )
        except (BrokenPipeError, ConnectionError):  # refused mid-body: ask where it stands
            run.conflicts += 1
            time.sleep(0.05)
            offset = protocol.offset(path)
            continue
        if answer is None:
            pending.pop(0)
            offset = protocol.offset(path)
            continue
        status, body = answer
        if status in (409, 423):  # a cut request still winding up: ask again
            run.conflicts += 1
            time.sleep(0.05)
            offset = protocol.offset(path)
            continue
        assert status == protocol.done, (status, body[:300])
        break
    else:
        raise SystemExit(f"{protocol.name}: did not finish")
    run.seconds = time.perf_counter() - started
    return run


def stored_sha256(server: LiveServer, http: httpx.Client, project: str, name: str) -> str:
    items = http.get(f"/api/projects/{project}/media").json()["media"]
    [item] = [i for i in items if i["relative_path"].endswith(name)]
    digest = hashlib.sha256()
    with open(server.root / project / item["relative_path"], "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    parser.add_argument("--cuts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--sndbuf-kib", type=int, default=1024)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--only", choices=["tus", "ietf"], help="run one protocol")
    args = parser.parse_args()
    size = args.size_mib << 20
    rng = random.Random(args.seed)
    env = {"MEDIA_SYNC_MAX_UPLOAD_MB": str(args.size_mib + 1), "MEDIA_SYNC_LOG_LEVEL": "WARNING"}
    missed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="resume-bench-") as tmp:
        server = start_server(
            Path(tmp) / "projects", Path(tmp) / "state", args=["--no-watch"], env=env
        )
        try:
            with httpx.Client(base_url=server.url, timeout=600) as http:
                project = http.post("/api/projects", json={"name": "Resume"}).json()["name"]
                print(f"{args.size_mib} MiB, {args.cuts} abrupt cuts at random points")
                for tag, kind in enumerate((Tus, Ietf), start=1):
                    if args.only and kind is not {"tus": Tus, "ietf": Ietf}[args.only]:
                        continue
                    protocol = kind(http, project)
                    if not args.no_baseline:
                        base = upload(server, protocol, size, 100 + tag, [], args.sndbuf_kib << 10)
                        print(f"  {protocol.name}: uncut {base.seconds:.1f} s")
                    cuts = [rng.randrange(1, size) for _ in range(args.cuts)]
                    run = upload(server, protocol, size, tag, cuts, args.sndbuf_kib << 10)
                    want = expected_sha256(tag, size)
                    got = stored_sha256(server, http, project, f"resume_{tag}.mov")
                    verdict = "sha256 OK" if got == want else f"sha256 WRONG ({got} != {want})"
                    ratio = run.sent / size
                    print(
                        f"  {protocol.name}: {run.cuts} cuts, {run.conflicts} retries, "
                        f"sent/size {ratio:.4f} (target <= 1.05), {run.seconds:.1f} s, {verdict}"
                    )
                    if got != want or ratio > 1.05:
                        missed.append(protocol.name)
        finally:
            server.stop()
    if missed:
        raise SystemExit(f"missed (sha256 or sent/size): {', '.join(missed)}")


if __name__ == "__main__":
    main()
