"""Benchmark: first indexing of many small dropped files, and an unchanged reconcile vs a walk.

(a) First indexing: ``--files`` small files (20,000 by default, ``--large`` for 100,000) spread
over 20 projects (sub-folders of 500) are dropped on a source and indexed by one full
reconcile pass (hash, catalog, journals, index.json): files/s. Target (issue 12) >= 2,000.
(b) Unchanged reconcile: the same tree reconciled again (nothing to do) against a bare
``os.scandir`` + ``lstat`` walk of the same tree, measured in the same run, alternately, best
of five each: the ratio. Target <= 1.5x.
Each figure is measured ``--runs`` times (a fresh tree and catalog each run) and reported as
best and median. ``--previews`` runs the thumbnail/metadata workers during the first indexing,
as the daemon does. Run: `.venv/bin/python tests/bench/reconcile.py [--large] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.library import Library
from daemon.media.previews import Previews
from daemon.settings import Settings
from daemon.watch.reconcile import Reconciler, Scope

PROJECTS = 20
PER_DIR = 500
REPEAT = 5
FIRST_TARGET = 2000.0  # files/s
RATIO_TARGET = 1.5


def make_tree(root: Path, count: int) -> None:
    """``count`` small, distinct .mov files spread over 20 projects (sub-folders of 500)."""
    for i in range(count):
        project = f"P{i % PROJECTS + 1}-Bench"
        path = root / project / f"ingest/originals/d{(i // PROJECTS) // PER_DIR}/clip{i:07d}.mov"
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"bench-%09d" % i)
        os.close(fd)


def bare_walk(root: Path) -> int:
    count, stack = 0, [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
                    count += 1
    return count


def first_indexing(lib: Library, reconciler: Reconciler, n: int, previews: bool) -> float:
    """Seconds one full pass takes to index ``n`` new files."""
    workers = Previews(lib, lib.settings.thumbnail_workers) if previews else None
    if workers is not None:
        workers.start()
    try:
        started = time.perf_counter()
        result = reconciler.pass_source(lib.source(None), Scope())
        took = time.perf_counter() - started
    finally:
        if workers is not None:
            workers.stop()
    assert result.indexed == n and not result.errors, result.as_dict()
    return took


def unchanged_ratio(lib: Library, reconciler: Reconciler, root: Path, n: int) -> float:
    """Best unchanged reconcile over best bare walk, measured alternately (wall time; the
    CPU-time ratio, steadier on a shared machine, is printed beside it)."""
    source = lib.source(None)
    bare_walk(root)  # warm the dentry/inode caches for both
    walk = again = walk_cpu = again_cpu = float("inf")
    for _ in range(REPEAT):
        started, cpu = time.perf_counter(), time.process_time()
        bare_walk(root)
        walk = min(walk, time.perf_counter() - started)
        walk_cpu = min(walk_cpu, time.process_time() - cpu)
        started, cpu = time.perf_counter(), time.process_time()
        result = reconciler.pass_source(source, Scope())
        again = min(again, time.perf_counter() - started)
        again_cpu = min(again_cpu, time.process_time() - cpu)
        assert result.unchanged == n and not (result.indexed or result.removed), result.as_dict()
    print(
        f"  unchanged reconcile {again:.3f}s, bare walk {walk:.3f}s: {again / walk:.2f}x "
        f"(CPU time {again_cpu / walk_cpu:.2f}x)"
    )
    return again / walk


def one_run(base: Path, n: int, previews: bool) -> tuple[float, float]:
    root, state = base / "projects", base / "state"
    root.mkdir()
    make_tree(root, n)
    settings = Settings.from_env(
        {
            "MEDIA_SYNC_PROJECTS_ROOT": str(root),
            "MEDIA_SYNC_STATE_DIR": str(state),
            "MEDIA_SYNC_SETTLE_SECONDS": "0",
        }
    )
    lib = Library.open(settings)
    try:
        reconciler = Reconciler(lib)
        took = first_indexing(lib, reconciler, n, previews)
        rate = n / took
        print(f"  first indexing: {n:,} files in {took:.2f}s = {rate:,.0f} files/s")
        ratio = unchanged_ratio(lib, reconciler, root, n)
    finally:
        lib.close()
    return rate, ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--large", action="store_true", help="100,000 files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--previews", action="store_true", help="run the preview workers too")
    args = parser.parse_args()
    n = 100_000 if args.large else args.files
    rates, ratios = [], []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}: {n:,} files in {PROJECTS} projects")
        base = Path(tempfile.mkdtemp(prefix="media-sync-bench-"))
        try:
            rate, ratio = one_run(base, n, args.previews)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        rates.append(rate)
        ratios.append(ratio)
    print(
        f"first indexing: best {max(rates):,.0f} files/s, median "
        f"{statistics.median(rates):,.0f} files/s (target >= {FIRST_TARGET:,.0f})"
    )
    print(
        f"unchanged reconcile / bare walk: best {min(ratios):.2f}x, median "
        f"{statistics.median(ratios):.2f}x (target <= {RATIO_TARGET}x)"
    )
    ok = max(rates) >= FIRST_TARGET and min(ratios) <= RATIO_TARGET
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
