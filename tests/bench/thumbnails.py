"""Benchmark: thumbnails per second for 100 12-megapixel JPEGs against vipsthumbnail on the same
files in the same run, plus single-file latency for a 12 MP HEIC and a 10-second 4K HEVC clip.

What is measured for media-sync is what the service does: MEDIA_SYNC_THUMBNAIL_WORKERS threads
(default 2) each calling ``make_thumbnail`` (Pillow releases the GIL while decoding and
resizing). vipsthumbnail gets the same number of processes, each given its share of the files;
libvips may also use threads inside each process (VIPS_CONCURRENCY is left as the host has it).
Rounds alternate between the two so that noise from a shared machine hits both alike.

Run: .venv/bin/python tests/bench/thumbnails.py [--files 100] [--workers N] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.media.metadata import extract_metadata
from daemon.media.thumbnails import make_thumbnail
from daemon.settings import Settings
from tests.factories import make_heic, make_jpeg, make_video, photo_like

SIZE = (4000, 3000)
UHD = (3840, 2160)


def make_corpus(directory: Path, count: int) -> list[Path]:
    """``count`` different 12 MP JPEGs (quality 90) with photo-like detail."""
    return [
        make_jpeg(directory / f"img_{seed:03d}.jpg", image=photo_like(SIZE, seed), quality=90)
        for seed in range(count)
    ]


def run_ours(files: list[Path], out: Path, workers: int) -> float:
    """Seconds for ``workers`` threads calling make_thumbnail over every file."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda f: make_thumbnail(f, out / f"{f.stem}.jpg"), files))
    return time.perf_counter() - start


def run_vips(files: list[Path], out: Path, workers: int) -> float:
    """Seconds for ``workers`` vipsthumbnail processes, each over its share of the files."""
    binary = shutil.which("vipsthumbnail")
    if binary is None:
        raise SystemExit("vipsthumbnail not found: apt-get install libvips-tools")
    shares = [files[i::workers] for i in range(workers)]
    start = time.perf_counter()
    procs = [
        subprocess.Popen([binary, "--size", "640", "-o", f"{out}/%s.jpg[Q=80]", *map(str, share)])
        for share in shares
        if share
    ]
    if any(proc.wait() != 0 for proc in procs):
        raise SystemExit("vipsthumbnail failed")
    return time.perf_counter() - start


def latency(action: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """Best and median seconds of ``repeats`` runs of ``action``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def compare(files: list[Path], root: Path, workers: int, rounds: int) -> None:
    ours_out, vips_out = root / "ours", root / "vips"
    ours_out.mkdir()
    vips_out.mkdir()
    for path in files:  # warm the page cache for both
        path.read_bytes()
    ours_times, vips_times = [], []
    for _ in range(rounds):
        ours_times.append(run_ours(files, ours_out, workers))
        vips_times.append(run_vips(files, vips_out, workers))
    count = len(files)
    ours_best, vips_best = count / min(ours_times), count / min(vips_times)
    ours_median = count / statistics.median(ours_times)
    vips_median = count / statistics.median(vips_times)
    print(
        f"media-sync    : {ours_best:6.1f} thumbnails/s best, {ours_median:6.1f} median "
        f"({workers} threads, {rounds} rounds)"
    )
    print(
        f"vipsthumbnail : {vips_best:6.1f} thumbnails/s best, {vips_median:6.1f} median "
        f"({workers} processes, {rounds} rounds)"
    )
    print(
        f"ratio         : {ours_best / vips_best:6.2f} best, {ours_median / vips_median:6.2f} "
        "median  (target >= 1.0)"
    )


def report_latency(label: str, source: Path, out: Path) -> None:
    thumb_best, thumb_median = latency(lambda: make_thumbnail(source, out))
    meta_best, meta_median = latency(lambda: extract_metadata(source))
    print(
        f"{label:14}: thumbnail {thumb_best * 1000:6.0f} ms best, {thumb_median * 1000:6.0f} ms "
        f"median; metadata {meta_best * 1000:5.0f} ms best, {meta_median * 1000:5.0f} ms median"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--workers", type=int, default=Settings.from_env().thumbnail_workers)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="media-sync-bench-thumbs-") as tmp:
        root = Path(tmp)
        print(f"cpus {os.cpu_count()}; making {args.files} 12 MP JPEGs ...", flush=True)
        files = make_corpus(root, args.files)
        mean_mb = sum(f.stat().st_size for f in files) / len(files) / 1e6
        print(f"JPEGs: {SIZE[0]}x{SIZE[1]}, {mean_mb:.1f} MB each on average", flush=True)
        compare(files, root, args.workers, args.rounds)
        heic = make_heic(root / "photo.heic", SIZE, image=photo_like(SIZE, 1000), quality=80)
        print(f"HEIC: {SIZE[0]}x{SIZE[1]}, {heic.stat().st_size / 1e6:.1f} MB", flush=True)
        report_latency("12 MP HEIC", heic, root / "h.jpg")
        print(
            "encoding a 10 s 4K HEVC clip (10 fps, x265 ultrafast, panning + grain) ...", flush=True
        )
        started = time.perf_counter()
        clip = make_video(
            root / "clip.mov",
            codec="hevc",
            size=UHD,
            seconds=10,
            fps=10,
            picture=photo_like(UHD, 2000),
            moving=True,
            grain=0.08,
        )
        megabits = clip.stat().st_size * 8 / 1e6 / 10
        print(
            f"clip: {clip.stat().st_size / 1e6:.1f} MB ({megabits:.0f} Mbit/s), encoded in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        report_latency("10 s 4K HEVC", clip, root / "v.jpg")


if __name__ == "__main__":
    main()
