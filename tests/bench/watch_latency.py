"""Benchmark: delay from "file complete" to "file catalogued" for drops into a watched project.

Drops N files of 1 MiB (default 1,000, paced) into a project watched by a real `media-sync
daemon` process, polls the catalog every 20 ms, and reports per-file delay minus the settle
window, for the native (inotify) and the polling backend. Targets (issue 3): p95 <= 1 s native,
p95 <= poll interval + 1 s polling. Run: `.venv/bin/python tests/bench/watch_latency.py [N] [rate]`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.server import start_server

SETTLE = 0.5
POLL = 1.0
MIB = 1 << 20


def _watch_catalog(state: Path, seen: dict[str, float], stop: threading.Event) -> None:
    path = state / "catalog.sqlite3"
    while not path.exists() and not stop.is_set():
        time.sleep(0.02)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        while not stop.is_set():
            try:
                rows = db.execute("SELECT rel_path FROM file WHERE project = 'P1-Drop'").fetchall()
            except sqlite3.OperationalError:
                rows = []
            now = time.time()
            for (rel,) in rows:
                seen.setdefault(rel, now)
            time.sleep(0.02)
    finally:
        db.close()


def run(mode: str, count: int, rate: float) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix=f"media-sync-latency-{mode}-"))
    root, state = base / "projects", base / "state"
    originals = root / "P1-Drop" / "ingest" / "originals"
    originals.mkdir(parents=True)
    env = {
        "MEDIA_SYNC_WATCH": mode,
        "MEDIA_SYNC_SETTLE_SECONDS": str(SETTLE),
        "MEDIA_SYNC_POLL_INTERVAL_SECONDS": str(POLL),
        "MEDIA_SYNC_LOG_LEVEL": "WARNING",
    }
    daemon = start_server(root, state, command="daemon", env=env)
    seen: dict[str, float] = {}
    stop = threading.Event()
    poller = threading.Thread(target=_watch_catalog, args=(state, seen, stop))
    poller.start()
    done: dict[str, float] = {}
    try:
        time.sleep(3)  # start-up reconcile and the canary
        payload = os.urandom(MIB)
        started = time.monotonic()
        for i in range(count):
            rel = f"ingest/originals/clip{i:05d}.mov"
            with open(root / "P1-Drop" / rel, "wb") as handle:
                handle.write(i.to_bytes(8, "little") + payload[8:])
            done[rel] = time.time()
            pause = started + (i + 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        deadline = time.monotonic() + 120
        while len(seen) < count and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        poller.join()
        code = daemon.stop()
        shutil.rmtree(base, ignore_errors=True)
    delays = sorted(max(0.0, seen[rel] - done[rel] - SETTLE) for rel in done if rel in seen)
    if len(delays) < count:
        print(f"{mode}: only {len(delays)}/{count} files were catalogued (daemon exit {code})")
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("inf")
    return {
        "files": len(delays),
        "p50": statistics.median(delays) if delays else float("inf"),
        "p95": p95,
        "max": delays[-1] if delays else float("inf"),
    }


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 50.0
    print(f"{count} files of 1 MiB at {rate:g} files/s; settle {SETTLE}s, poll interval {POLL}s")
    ok = True
    for mode, target in (("native", 1.0), ("polling", POLL + 1.0)):
        figures = run(mode, count, rate)
        passed = figures["files"] == count and figures["p95"] <= target
        ok &= passed
        print(f"{mode:>8}: p50 {figures['p50']:.3f}s  p95 {figures['p95']:.3f}s  "
              f"max {figures['max']:.3f}s  (target p95 <= {target:g}s) "
              f"{'PASS' if passed else 'FAIL'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
