"""Benchmark: thumbnails per second for 100 12-megapixel JPEGs, against vipsthumbnail in the
same run, plus single-file latency for a 12 MP HEIC and a 10-second 4K HEVC clip.

Run: .venv/bin/python tests/bench/thumbnails.py [--files 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.media.thumbnails import make_thumbnail
from tests.factories import make_heic, make_video

SIZE = (4000, 3000)


def photo_like(seed: int) -> Image.Image:
    """A 12 MP picture with real detail (noise over gradients), so decoding is real work."""
    rng = random.Random(seed)
    small = Image.effect_noise((SIZE[0] // 8, SIZE[1] // 8), 60).convert("RGB")
    tint = Image.new(
        "RGB", small.size, (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    )
    base = Image.blend(small, tint, 0.5).resize(SIZE, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(SIZE, 25).convert("RGB")
    return Image.blend(base, grain, 0.25).filter(ImageFilter.SMOOTH)


def make_corpus(directory: Path, count: int) -> list[Path]:
    files = []
    for seed in range(count):
        path = directory / f"img_{seed:03d}.jpg"
        photo_like(seed).save(path, "JPEG", quality=90)
        files.append(path)
    return files


def ours(files: list[Path], out: Path, workers: int) -> float:
    """What the service does: MEDIA_SYNC_THUMBNAIL_WORKERS threads calling make_thumbnail."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda f: make_thumbnail(f, out / f"{f.stem}.jpg"), files))
    return time.perf_counter() - start


def vips(files: list[Path], out: Path, workers: int) -> float:
    """vipsthumbnail on the same files with the same number of parallel processes."""
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
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("vipsthumbnail failed")
    return time.perf_counter() - start


def latency(path: Path, out: Path, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        make_thumbnail(path, out)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="media-sync-thumbs-") as tmp:
        root = Path(tmp)
        print(f"making {args.files} 12 MP JPEGs ...", flush=True)
        files = make_corpus(root, args.files)
        ours_out, vips_out = root / "ours", root / "vips"
        ours_out.mkdir()
        vips_out.mkdir()
        for path in files:  # warm the page cache for both
            path.read_bytes()
        ours_times, vips_times = [], []
        for _ in range(args.rounds):  # interleaved: the machine is noisy
            ours_times.append(ours(files, ours_out, args.workers))
            vips_times.append(vips(files, vips_out, args.workers))
        ours_rate = len(files) / min(ours_times)
        vips_rate = len(files) / min(vips_times)
        print(
            f"media-sync    : {ours_rate:7.1f} thumbnails/s (best of {args.rounds}, "
            f"{args.workers} threads)"
        )
        print(
            f"vipsthumbnail : {vips_rate:7.1f} thumbnails/s (best of {args.rounds}, "
            f"{args.workers} processes)"
        )
        print(f"ratio         : {ours_rate / vips_rate:7.2f}  (target >= 1.0)")
        heic = make_heic(root / "photo.heic", SIZE)
        print(f"12 MP HEIC    : {latency(heic, root / 'h.jpg') * 1000:7.1f} ms per thumbnail")
        print("encoding a 10 s 4K HEVC clip (10 fps, ultrafast) ...", flush=True)
        clip = make_video(root / "clip.mov", codec="hevc", size=(3840, 2160), seconds=10, fps=10)
        print(f"10 s 4K HEVC  : {latency(clip, root / 'v.jpg') * 1000:7.1f} ms per thumbnail")


if __name__ == "__main__":
    main()
