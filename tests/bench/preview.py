"""Benchmark: a 10-second 4K HEVC clip to its H.264 browser preview, against Debian's `ffmpeg`
command line making the same preview (same size, scaler, preset, CRF, sound copy, faststart) in
the same run.

What is measured for media-sync is what the service does: ``make_preview`` in this process (PyAV's
own FFmpeg, decoder and libx264 threads as FFmpeg chooses). `ffmpeg` runs as a child process with
its defaults for threads. Rounds alternate between the two so that noise from a shared machine
hits both alike. Prints seconds, the realtime factor (clip seconds per second of work) and the
ratio of ffmpeg's time to ours (target >= 0.9).

Run: .venv/bin/python tests/bench/preview.py [--seconds 10] [--fps 30] [--rounds 5]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import av

from daemon.media.transcode import ffmpeg_command, make_preview, preview_size
from tests.factories import make_video, photo_like

UHD = (3840, 2160)


def require_ffmpeg() -> str:
    binary = shutil.which("ffmpeg")
    if binary is None:
        print(
            "ffmpeg not found: the ratio needs Debian's ffmpeg command line (apt-get install "
            "ffmpeg)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return binary


def make_clip(directory: Path, seconds: float, fps: int) -> Path:
    print(
        f"encoding a {seconds:g} s 4K HEVC clip ({fps} fps, x265 ultrafast, panning + grain, "
        "AAC sound) ...",
        flush=True,
    )
    started = time.perf_counter()
    clip = make_video(
        directory / "clip.mov",
        codec="hevc",
        size=UHD,
        seconds=seconds,
        fps=fps,
        picture=photo_like(UHD, 2000),
        moving=True,
        grain=0.08,
        audio=True,
    )
    megabits = clip.stat().st_size * 8 / 1e6 / seconds
    print(
        f"clip: {clip.stat().st_size / 1e6:.1f} MB ({megabits:.0f} Mbit/s), made in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return clip


def run_ours(clip: Path, out: Path) -> float:
    start = time.perf_counter()
    make_preview(clip, out)
    return time.perf_counter() - start


def run_ffmpeg(binary: str, clip: Path, out: Path) -> float:
    command = ffmpeg_command(binary, clip, out, preview_size(*UHD), copy_audio=True)
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ffmpeg failed: {done.stderr.strip()[-500:]}")
    return elapsed


def describe(path: Path) -> str:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        count = sum(1 for _ in container.demux(video) if _.size)
        seconds = (container.duration or 0) / 1e6
        return (
            f"{video.codec_context.name} {video.width}x{video.height}, {count} frames, "
            f"{seconds:.2f} s, {path.stat().st_size / 1e6:.2f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    binary = require_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="media-sync-bench-preview-") as tmp:
        root = Path(tmp)
        print(f"cpus {os.cpu_count()}; {av.library_versions['libavcodec']} libavcodec in PyAV")
        clip = make_clip(root, args.seconds, args.fps)
        clip.read_bytes()  # warm the page cache for both
        ours_out, ffmpeg_out = root / "ours.mp4", root / "ffmpeg.mp4"
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(run_ours(clip, ours_out))
            theirs.append(run_ffmpeg(binary, clip, ffmpeg_out))
        print(f"media-sync preview: {describe(ours_out)}")
        print(f"ffmpeg preview    : {describe(ffmpeg_out)}")
        for label, times in (("media-sync", ours), ("ffmpeg", theirs)):
            best, median = min(times), statistics.median(times)
            print(
                f"{label:10}: {best:6.2f} s best, {median:6.2f} s median; realtime x"
                f"{args.seconds / best:.2f} best, x{args.seconds / median:.2f} median "
                f"({args.rounds} rounds)"
            )
        best_ratio = min(theirs) / min(ours)
        paired = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
        print(
            f"ratio     : {best_ratio:6.2f} best, {paired:6.2f} median of the rounds' ratios  "
            "(ffmpeg's time / ours; target >= 0.9)"
        )


if __name__ == "__main__":
    main()
