"""Benchmark: peak server memory against the stated bound, and thumbnail time against
vipsthumbnail on the same files in the same run.

Six 13,000 x 13,000 PNGs (~0.5 MiB each, ~500 MiB of pixels each) are uploaded to a real
server and their thumbnails asked for all at once, then one 200 MP (16,320 x 12,240) PNG.
Printed: the server's peak RSS (VmHWM) against RSS at rest + MEDIA_SYNC_DECODE_MEMORY_MB +
the stated overhead; seconds for the six thumbnails and for the 200 MP one; and vipsthumbnail
(libvips-tools) making the same thumbnails, as many processes at once as the server has workers,
with its largest process's peak RSS.

Run: .venv/bin/python tests/bench/memory.py [--budget-mb 256] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.factories import make_huge_png
from tests.support.server import serving

MiB = 1024 * 1024
OVERHEAD_MIB = 160  # as stated in README "Memory" and asserted in tests/media/test_memory.py


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"{field} missing for pid {pid}")


def ours(files: list[Path], big: Path, base: Path, budget_mb: int, workers: int) -> None:
    env = {
        "MEDIA_SYNC_DECODE_MEMORY_MB": str(budget_mb),
        "MEDIA_SYNC_THUMBNAIL_WORKERS": str(workers),
    }
    root = base / "projects"
    root.mkdir()
    serve = serving(root, base / "state", args=["--no-watch"], env=env)
    with serve as server, server.client() as http:
        rest = status_kib(server.process.pid, "VmRSS") * 1024
        project = http.post("/api/projects", json={"name": "Bench"}).json()["name"]

        def upload(path: Path) -> str:
            answer = http.post(
                f"/api/projects/{project}/upload",
                files={"file": (path.name, path.read_bytes())},
            )
            answer.raise_for_status()
            return str(answer.json()["sha256"])

        def thumb(sha: str) -> int:
            with server.client() as own:
                return own.get(f"/thumbnails/{project}/{sha}.jpg", timeout=300).status_code

        shas = [upload(path) for path in files]
        start = time.perf_counter()
        with ThreadPoolExecutor(len(shas)) as pool:
            codes = list(pool.map(thumb, shas))
        six = time.perf_counter() - start
        big_sha = upload(big)
        start = time.perf_counter()
        codes.append(thumb(big_sha))
        one = time.perf_counter() - start
        peak = status_kib(server.process.pid, "VmHWM") * 1024
    bound = rest + (budget_mb + OVERHEAD_MIB) * MiB
    print(f"media-sync: statuses {codes}")
    print(f"  six 13,000 px PNGs at once: {six:.1f} s; one 200 MP PNG: {one:.1f} s")
    print(
        f"  peak RSS {peak / MiB:.0f} MiB <= bound {bound / MiB:.0f} MiB "
        f"(rest {rest / MiB:.0f} + budget {budget_mb} + overhead {OVERHEAD_MIB}): "
        f"{'OK' if peak <= bound else 'EXCEEDED'}"
    )


def vips(files: list[Path], big: Path, out: Path, workers: int) -> None:
    binary = shutil.which("vipsthumbnail")
    if binary is None:
        raise SystemExit("vipsthumbnail not found: apt-get install libvips-tools")

    def run(path: Path) -> None:
        target = out / f"{path.stem}.jpg"
        subprocess.run([binary, str(path), "-s", "640", "-o", str(target)], check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, files))
    six = time.perf_counter() - start
    start = time.perf_counter()
    run(big)
    one = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"vipsthumbnail ({workers} processes at once): six {six:.1f} s; 200 MP {one:.1f} s")
    print(f"  largest process peak RSS {peak / MiB:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as raw:
        base = Path(raw)
        files = [make_huge_png(base / "in" / f"bomb{i}.png", variant=i + 1) for i in range(6)]
        big = make_huge_png(base / "in" / "photo200.png", (16_320, 12_240), variant=9)
        (base / "vips").mkdir()
        vips(files, big, base / "vips", args.workers)
        ours(files, big, base, args.budget_mb, args.workers)


if __name__ == "__main__":
    main()
