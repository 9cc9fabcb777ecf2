"""Benchmark: thumbnails per second for 100 12-megapixel JPEGs and 20 12 MP HEICs against
vipsthumbnail on the same files in the same run, single-file latency for a 12 MP HEIC and a
10-second 4K HEVC clip, and a 100 MP JPEG's time and peak memory against vipsthumbnail's.

What is measured for media-sync is what the service does: MEDIA_SYNC_THUMBNAIL_WORKERS threads
(default 2) each calling ``make_thumbnail`` (Pillow releases the GIL while decoding and
resizing). vipsthumbnail gets the same number of processes, each given its share of the files;
libvips may also use threads inside each process (VIPS_CONCURRENCY is left as the host has it).
Rounds alternate between the two so that noise from a shared machine hits both alike. The
100 MP JPEG is thumbnailed by a fresh process for each (so the peak RSS is that thumbnail's
alone): ours reports its RSS at rest (imports done) and its peak; vipsthumbnail's peak is its
process's.

Run: .venv/bin/python tests/bench/thumbnails.py [--files 100] [--heic-files 20] [--workers N]
     [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
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
HUNDRED_MP = (12_000, 8_400)
MiB = 1024 * 1024
# A fresh interpreter making one thumbnail: its RSS once imported (a tiny thumbnail made first,
# so the codecs are loaded), then the seconds the big one takes.
MEASURE_OURS = """
import json, sys, time
from pathlib import Path
from PIL import Image
from daemon.media.thumbnails import make_thumbnail
out = Path(sys.argv[2])
Image.new("RGB", (64, 48)).save(out.with_name("warm.jpg"))
make_thumbnail(out.with_name("warm.jpg"), out)
status = Path("/proc/self/status").read_text().splitlines()
rest = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
start = time.perf_counter()
make_thumbnail(Path(sys.argv[1]), out)
print(json.dumps({"seconds": time.perf_counter() - start, "rest_kib": rest}))
"""
# Runs a command and prints its peak RSS: Linux carries a process's peak RSS over fork and exec,
# so the command is forked by this small process, never by the benchmark (which held big
# pictures), and its own peak is read from wait4.
LAUNCH = """
import json, os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"seconds": time.perf_counter() - start, "peak_kib": usage.ru_maxrss, "exit": code}))
"""


def make_corpus(directory: Path, count: int) -> list[Path]:
    """``count`` different 12 MP JPEGs (quality 90) with photo-like detail."""
    return [
        make_jpeg(directory / f"img_{seed:03d}.jpg", image=photo_like(SIZE, seed), quality=90)
        for seed in range(count)
    ]


def make_heic_corpus(directory: Path, count: int) -> list[Path]:
    """``count`` different 12 MP HEICs (quality 80, as a phone writes) with photo-like detail."""
    return [
        make_heic(
            directory / f"heic_{seed:03d}.heic", SIZE, image=photo_like(SIZE, seed), quality=80
        )
        for seed in range(500, 500 + count)
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
    quiet = {**os.environ, "VIPS_WARNING": "0"}  # "heifload: ignoring nclx profile" per file
    procs = [
        subprocess.Popen(
            [binary, "--size", "640", "-o", f"{out}/%s.jpg[Q=80]", *map(str, share)], env=quiet
        )
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


def compare(files: list[Path], root: Path, workers: int, rounds: int, what: str) -> None:
    ours_out, vips_out = root / "ours", root / "vips"
    ours_out.mkdir(exist_ok=True)
    vips_out.mkdir(exist_ok=True)
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
    print(f"{what}: {count} files, {workers} workers each")
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


def peak_child(command: list[str]) -> tuple[float, int, list[dict[str, float]]]:
    """Seconds and peak RSS (bytes) of ``command`` run by LAUNCH, and the JSON lines it printed."""
    repo = Path(__file__).resolve().parents[2]  # ours imports the daemon package from here
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *command],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VIPS_WARNING": "0"},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines or lines[-1]["exit"] != 0:
        raise SystemExit(f"{Path(command[0]).name} failed: {done.stderr.strip()[-500:]}")
    launched = lines.pop()
    return launched["seconds"], int(launched["peak_kib"]) * 1024, lines


def hundred_megapixels(root: Path, rounds: int) -> None:
    """A 100 MP JPEG by a fresh process each: seconds and peak RSS, ours against vipsthumbnail."""
    big = root / "big100.jpg"
    picture = photo_like((HUNDRED_MP[0] // 4, HUNDRED_MP[1] // 4), 3000)
    make_jpeg(big, image=picture.resize(HUNDRED_MP), quality=90)
    del picture
    print(
        f"JPEG: {HUNDRED_MP[0]}x{HUNDRED_MP[1]} ({HUNDRED_MP[0] * HUNDRED_MP[1] / 1e6:.0f} MP), "
        f"{big.stat().st_size / 1e6:.1f} MB",
        flush=True,
    )
    vips = shutil.which("vipsthumbnail")
    if vips is None:
        raise SystemExit("vipsthumbnail not found: apt-get install libvips-tools")
    ours: list[tuple[float, int, int]] = []  # seconds (in-process), peak, rest
    theirs: list[tuple[float, int]] = []  # seconds (the whole process), peak
    for _ in range(rounds):
        command = [sys.executable, "-c", MEASURE_OURS, str(big), str(root / "big-ours.jpg")]
        _, peak, printed = peak_child(command)
        ours.append((printed[0]["seconds"], peak, int(printed[0]["rest_kib"]) * 1024))
        seconds, peak, _ = peak_child(
            [vips, str(big), "--size", "640", "-o", f"{root}/big-vips.jpg[Q=80]"]
        )
        theirs.append((seconds, peak))
    best = min(seconds for seconds, _, _ in ours)
    peak = max(peak for _, peak, _ in ours)
    rest = min(rest for _, _, rest in ours)
    vips_best = min(seconds for seconds, _ in theirs)
    vips_peak = max(peak for _, peak in theirs)
    print(
        f"100 MP JPEG   : media-sync    {best * 1000:6.0f} ms best; peak RSS {peak / MiB:4.0f} MiB "
        f"({(peak - rest) / MiB:.0f} MiB over {rest / MiB:.0f} MiB at rest, imports done)"
    )
    print(
        f"                vipsthumbnail {vips_best * 1000:6.0f} ms best (the whole process, "
        f"start-up included); peak RSS {vips_peak / MiB:4.0f} MiB"
    )
    print(f"                ratio {vips_best / best:.2f} (vipsthumbnail's time / ours)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--heic-files", type=int, default=20)
    parser.add_argument("--workers", type=int, default=Settings.from_env().thumbnail_workers)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="media-sync-bench-thumbs-") as tmp:
        root = Path(tmp)
        print(f"cpus {os.cpu_count()}; making {args.files} 12 MP JPEGs ...", flush=True)
        files = make_corpus(root, args.files)
        mean_mb = sum(f.stat().st_size for f in files) / len(files) / 1e6
        print(f"JPEGs: {SIZE[0]}x{SIZE[1]}, {mean_mb:.1f} MB each on average", flush=True)
        compare(files, root, args.workers, args.rounds, "12 MP JPEG")
        print(f"making {args.heic_files} 12 MP HEICs ...", flush=True)
        heics = make_heic_corpus(root / "heic", args.heic_files)
        mean_mb = sum(f.stat().st_size for f in heics) / len(heics) / 1e6
        print(f"HEICs: {SIZE[0]}x{SIZE[1]}, {mean_mb:.1f} MB each on average", flush=True)
        compare(heics, root / "heic", args.workers, args.rounds, "12 MP HEIC")
        report_latency("12 MP HEIC", heics[0], root / "h.jpg")
        hundred_megapixels(root, min(args.rounds, 3))
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
