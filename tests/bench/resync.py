"""Benchmark: an album of 50 clips (50 x 20 MiB) synced twice into a real `media-sync serve`
over loopback, each sync as the Shortcut does it (start a session, pre-check name + size +
creation date, upload what is needed, finalize); then a 1,000-item pre-check, timed.

Prints the second sync's media bytes sent (target 0) and wall time (target < 1 s), and the
pre-check's p50/p95 (target < 100 ms), each also as a ratio to a GET /health round trip
measured in the same run.

Run: .venv/bin/python tests/bench/resync.py [--clips 50] [--clip-mib 20] [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.factories import make_video  # noqa: E402
from tests.support.server import start_server  # noqa: E402

BOUNDARY = "resyncbenchboundary7MA4YWxkTrZu0gW"
CREATED = "2024-05-01T10:30:00Z"


@dataclass(frozen=True)
class Clip:
    path: Path
    created: str  # what the phone sends as the creation date


def make_album(folder: Path, count: int, size: int) -> list[Clip]:
    """``count`` clips of ``size`` bytes: a real MP4 (its own creation date) padded with noise
    to the size, so each is distinct and reads as a video."""
    clips = []
    for index in range(count):
        minute = f"{index // 60:02d}:{index % 60:02d}"
        created = f"2024-05-01T10:{minute}Z"
        path = make_video(
            folder / f"IMG_{5000 + index}.MP4", creation_time=created, variant=index % 7
        )
        with path.open("ab") as out:
            out.write(os.urandom(size - path.stat().st_size))
        clips.append(Clip(path, created))
    return clips


def upload(url: str, clip: Clip) -> int:
    """POST the clip as multipart over a raw socket, streamed from disk; media bytes sent."""
    parsed = httpx.URL(url)
    opening = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{clip.path.name}"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    closing = f"\r\n--{BOUNDARY}--\r\n".encode()
    size = clip.path.stat().st_size
    head = (
        f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}:{parsed.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(opening) + size + len(closing)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((parsed.host, parsed.port)) as sock, clip.path.open("rb") as f:
        sock.sendall(head + opening)
        sock.sendfile(f)
        sock.sendall(closing)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    if response.split(b" ", 2)[1] != b"200":
        raise SystemExit(f"upload failed: {response[:300]!r}")
    return size


def ok(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response.json()


def sync(http: httpx.Client, project: str, album: list[Clip]) -> tuple[int, float, dict[str, int]]:
    """One Shortcut run: media bytes sent, wall seconds, the session's counts."""
    started = time.perf_counter()
    session = ok(http.post(f"/api/projects/{project}/upload?op=start", json={"album_name": "B"}))
    items = [
        {"name": c.path.name, "size": c.path.stat().st_size, "captured_at": c.created}
        for c in album
    ]
    check = ok(http.post(session["precheck_url"], json={"items": items}))
    sent = 0
    for clip, answer in zip(album, check["items"], strict=True):
        if answer["decision"] == "upload":
            sent += upload(session["upload_url"], clip)
    done = ok(http.post(session["finalize_url"]))
    return sent, time.perf_counter() - started, done["counts"]


def timed(http: httpx.Client, rounds: int, method: str, url: str, **kwargs: Any) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        ok(http.request(method, url, **kwargs))
        out.append(time.perf_counter() - started)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def settle(http: httpx.Client, project: str, count: int, timeout: float = 300) -> None:
    """Outside the timings: the server reads each clip's creation date and makes its thumbnail
    after storing it; wait for both, so the timed runs do not share the CPU with that work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        media = ok(http.get(f"/api/projects/{project}/media"))["media"]
        if sum(m["captured_from"] == "quicktime" for m in media) == count:
            break
        time.sleep(0.5)
    else:
        raise SystemExit("the clips' metadata was not read in time")
    for item in media:  # made by now, or made on this request (a failure is a 404)
        if http.get(item["thumb_url"]).status_code not in (200, 404):
            raise SystemExit(f"no thumbnail for {item['relative_path']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=50)
    parser.add_argument("--clip-mib", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resync-bench-") as tmp:
        base = Path(tmp)
        album = make_album(base / "camera-roll", args.clips, args.clip_mib << 20)
        server = start_server(base / "projects", base / "state", args=["--no-watch"])
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                made = http.post("/api/projects", json={"name": "Resync"})
                project = made.json()["name"]
                sent1, wall1, counts1 = sync(http, project, album)
                settle(http, project, len(album))
                sent2, wall2, counts2 = sync(http, project, album)
                health = timed(http, args.rounds, "GET", "/health")
                items = [
                    {"name": c.path.name, "size": c.path.stat().st_size, "captured_at": c.created}
                    for c in album
                ] + [
                    {"name": f"IMG_{9000 + i}.MOV", "size": 10_000_000 + i, "captured_at": CREATED}
                    for i in range(1000 - len(album))
                ]
                url = f"/api/projects/{project}/upload-check"
                check = timed(http, args.rounds, "POST", url, json={"items": items})
        finally:
            server.stop()
    h50 = statistics.median(health)
    c50, c95 = statistics.median(check), p(check, 95)
    mib = 1 << 20
    print(f"album: {args.clips} clips x {args.clip_mib} MiB over loopback")
    print(f"first sync:  {sent1 / mib:.0f} MiB of media sent in {wall1:.2f} s  {counts1}")
    print(f"second sync: {sent2} bytes of media sent in {wall2 * 1000:.0f} ms  {counts2}")
    print(f"baseline GET /health round trip: p50 {h50 * 1000:.2f} ms")
    print(f"second sync wall: {wall2 / h50:.1f}x /health p50; {wall2 / wall1:.4f}x the first sync")
    print(
        f"pre-check of 1,000 items: p50 {c50 * 1000:.1f} ms ({c50 / h50:.1f}x /health p50), "
        f"p95 {c95 * 1000:.1f} ms ({c95 / h50:.1f}x)"
    )
    verdicts = [
        ("second sync sends 0 media bytes", sent2 == 0),
        ("second sync under 1 s", wall2 < 1.0),
        ("pre-check p95 under 100 ms", c95 < 0.1),
    ]
    for what, good in verdicts:
        print(f"{'PASS' if good else 'FAIL'}: {what}")
    if not all(good for _, good in verdicts):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
