"""Benchmark: a catalog of 1,000,000 files in 100 projects, on each engine (sqlite and
PostgreSQL): an unchanged reconcile of one 10,000-file project, the p95 of a media listing
page (100 items sorted by capture time) and the p95 of a 1,000-item pre-upload check.

One project holds ``--real`` real files on disk (catalogued by a first reconcile pass); the
other 99 share the rest of ``--files`` as rows inserted straight into the catalog (no files).
The reconcile is timed cold (a fresh reconciler: it reads every row once) and warm (the
watcher's case: its row cache is current). The listing and the pre-check are timed over HTTP
against a real `media-sync serve --no-watch` on that catalog. Targets: listing p95 < 50 ms,
pre-check p95 < 100 ms, on both engines.

Run: .venv/bin/python tests/bench/catalog_scale.py [--files 1000000] [--real 10000]
     [--engines sqlite,postgresql] [--requests 200]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from daemon.catalog.listing import MediaQuery, list_media  # noqa: E402
from daemon.ingest import precheck  # noqa: E402
from daemon.library import Library  # noqa: E402
from daemon.settings import Settings  # noqa: E402
from daemon.storage.projects import create_project  # noqa: E402
from daemon.watch.reconcile import Reconciler, Scope  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.server import start_server  # noqa: E402

PROJECTS = 100
PER_TRANSACTION = 50_000
LISTING_TARGET_MS = 50.0
PRECHECK_TARGET_MS = 100.0
EPOCH = 1_700_000_000


def captured(i: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + i * 37 % 90_000_000))


def make_real(root: Path, folder: str, count: int) -> list[tuple[str, int]]:
    """``count`` small distinct clips on disk in the project; (name, size) of each."""
    originals = root / folder / "ingest" / "originals"
    made = []
    for i in range(count):
        sub = originals / f"d{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        data = b"real-clip-%09d" % i * (1 + i % 7)
        (sub / f"clip{i:06d}.mov").write_bytes(data)
        made.append((f"clip{i:06d}.mov", len(data)))
    return made


def bulk_rows(lib: Library, count: int, first_project: int) -> None:
    """``count`` files spread over projects P{first_project}..P100, as rows only (their
    folders exist, empty: a root listing only one of its project folders would be held
    offline by the reconcile's guard)."""
    for number in range(first_project, PROJECTS + 1):
        (lib.settings.projects_root / f"P{number}-Bulk").mkdir()
    catalog = lib.catalog
    m = catalog.models
    projects = PROJECTS - first_project + 1
    per = -(-count // projects)
    with catalog.write():
        m.Project.insert_many(
            [{"source": "primary", "name": f"P{p}-Bulk"} for p in range(first_project, 101)]
        ).execute()
    now = "2025-01-01T00:00:00Z"
    for start in range(0, count, PER_TRANSACTION):
        contents, files = [], []
        for i in range(start, min(count, start + PER_TRANSACTION)):
            digest = hashlib.blake2b(b"%d" % i, digest_size=32).hexdigest()
            contents.append((digest, digest[::-1], 1000 + i, now, "video", captured(i), "ok"))
            project = f"P{first_project + i // per}-Bulk"
            rel = f"ingest/originals/c{i % per:07d}.mov"
            files.append(("primary", project, rel, 1000 + i, i, i, i, digest, now, "drop", "[]"))
        with catalog.write():
            catalog.executemany(
                "INSERT INTO content (blake3, sha256, size, first_seen_at, kind, captured_at, "
                "meta_status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                contents,
            )
            catalog.executemany(
                'INSERT INTO "file" (source, project, rel_path, size, mtime_ns, inode, ctime_ns, '
                "blake3, uploaded_at, origin, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                files,
            )


def timed_pass(reconciler: Reconciler, lib: Library, folder: str, real: int) -> float:
    started = time.perf_counter()
    result = reconciler.pass_source(lib.source(None), Scope(frozenset({folder}), root=False))
    took = time.perf_counter() - started
    assert result.unchanged == real and not (result.indexed or result.removed), result.as_dict()
    return took


def in_process(lib: Library, folder: str, real: list[tuple[str, int]], n: int) -> dict[str, float]:
    """The same listing pages and pre-checks without HTTP: the catalog's (and disk's) share."""
    ref = lib.project(None, folder)
    pages, cursor = [], None
    while len(pages) < n:
        started = time.perf_counter()
        page = list_media(lib.catalog, "primary", folder, MediaQuery(limit=100, cursor=cursor))
        pages.append(time.perf_counter() - started)
        cursor = page.get("next_cursor")
    rng = random.Random(3)
    checks = []
    for r in range(max(10, n // 4)):
        held = [{"name": n_, "size": s} for n_, s in rng.sample(real, min(500, len(real)))]
        new = [{"name": f"new-{r}-{i}.mov", "size": 10_000 + i} for i in range(1000 - len(held))]
        items = precheck.parse_items({"items": held + new})
        started = time.perf_counter()
        precheck.check(lib, ref, items, None)
        checks.append(time.perf_counter() - started)
    return {"listing_inproc_p95_ms": p(pages, 0.95) * 1000,
            "precheck_inproc_p95_ms": p(checks, 0.95) * 1000}  # fmt: skip


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def listing_times(http: httpx.Client, folder: str, requests: int) -> list[float]:
    """Walk the project's pages (100 by capture time) by cursor, again and again."""
    times: list[float] = []
    cursor = None
    while len(times) < requests:
        params: dict[str, Any] = {"limit": 100, "sort": "captured"}
        if cursor:
            params["cursor"] = cursor
        started = time.perf_counter()
        response = http.get(f"/api/projects/{folder}/media", params=params)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        body = response.json()
        assert len(body["media"]) == 100 or not body.get("next_cursor"), body.get("next_cursor")
        cursor = body.get("next_cursor")
    return times


def precheck_times(
    http: httpx.Client, folder: str, real: list[tuple[str, int]], requests: int
) -> list[float]:
    """1,000 items a request: half of them files the project holds (name and size), half new."""
    rng = random.Random(7)
    times: list[float] = []
    for r in range(requests):
        held = [{"name": n, "size": s} for n, s in rng.sample(real, min(500, len(real)))]
        new = [{"name": f"new-{r}-{i}.mov", "size": 10_000 + i} for i in range(1000 - len(held))]
        items = held + new
        rng.shuffle(items)
        started = time.perf_counter()
        response = http.post(f"/api/projects/{folder}/upload-check", json={"items": items})
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        counts = response.json()["counts"]
        assert counts == {"upload": len(new), "skip": len(held)}, counts
    return times


@contextmanager
def catalog_place(engine: str, pg: PostgresServer | None) -> Iterator[str]:
    if engine == "sqlite":
        yield ""
        return
    assert pg is not None
    with pg.database() as url:
        yield url


def run_engine(engine: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix=f"media-sync-scale-{engine}-"))
    root, state = base / "projects", base / "state"
    env = {
        "MEDIA_SYNC_PROJECTS_ROOT": str(root),
        "MEDIA_SYNC_STATE_DIR": str(state),
        "MEDIA_SYNC_SETTLE_SECONDS": "0",
        "MEDIA_SYNC_DATABASE_URL": url,
        "MEDIA_SYNC_WATCH": "off",
        "MEDIA_SYNC_LOG_LEVEL": "WARNING",
    }
    figures: dict[str, Any] = {"engine": engine}
    try:
        settings = Settings.from_env(env)
        lib = Library.open(settings)
        try:
            ref, _ = create_project(settings, lib.source(None), "Real")
            real = make_real(root, ref.name, args.real)
            first = Reconciler(lib).pass_source(lib.source(None), Scope(frozenset({ref.name})))
            assert first.indexed == args.real, first.as_dict()
            with lib.catalog.write():  # what the metadata reader would have found
                lib.catalog.execute(
                    "UPDATE content SET captured_at = ?, meta_status = 'ok', kind = 'video' "
                    "WHERE captured_at IS NULL",
                    (captured(1),),
                )
            started = time.perf_counter()
            bulk_rows(lib, args.files - args.real, 2)
            figures["bulk_insert_s"] = time.perf_counter() - started
            figures["files"] = lib.catalog.models.File.select().count()
            reconciler = Reconciler(lib)
            figures["reconcile_cold_s"] = timed_pass(reconciler, lib, ref.name, args.real)
            warm = [timed_pass(reconciler, lib, ref.name, args.real) for _ in range(3)]
            figures["reconcile_warm_s"] = statistics.median(warm)
            figures.update(in_process(lib, ref.name, real, args.requests))
        finally:
            lib.close()
        server = start_server(root, state, args=["--no-watch"], env=env)
        try:
            with server.client() as http:
                listing_times(http, ref.name, 10)  # warm up
                listing = listing_times(http, ref.name, args.requests)
                figures["listing_p50_ms"] = p(listing, 0.5) * 1000
                figures["listing_p95_ms"] = p(listing, 0.95) * 1000
                checks = precheck_times(http, ref.name, real, max(20, args.requests // 4))
                figures["precheck_p50_ms"] = p(checks, 0.5) * 1000
                figures["precheck_p95_ms"] = p(checks, 0.95) * 1000
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures


def report(figures: dict[str, Any]) -> None:
    print(f"{figures['engine']}: {figures['files']:,} files in {PROJECTS} projects "
          f"(rows inserted in {figures['bulk_insert_s']:.1f}s)")  # fmt: skip
    print(f"  unchanged reconcile of the real project: cold {figures['reconcile_cold_s']:.2f}s "
          f"(reads every row once), warm {figures['reconcile_warm_s']:.3f}s")  # fmt: skip
    ok = figures["listing_p95_ms"] < LISTING_TARGET_MS
    print(f"  listing page (100 by capture time): p50 {figures['listing_p50_ms']:.1f} ms, "
          f"p95 {figures['listing_p95_ms']:.1f} ms (target < {LISTING_TARGET_MS:.0f}: "
          f"{'met' if ok else 'MISSED'}); without HTTP: p95 "
          f"{figures['listing_inproc_p95_ms']:.1f} ms")  # fmt: skip
    if "precheck" in figures:
        print(f"  pre-check: {figures['precheck']}")
        return
    ok = figures["precheck_p95_ms"] < PRECHECK_TARGET_MS
    print(f"  pre-check of 1,000 items: p50 {figures['precheck_p50_ms']:.1f} ms, "
          f"p95 {figures['precheck_p95_ms']:.1f} ms (target < {PRECHECK_TARGET_MS:.0f}: "
          f"{'met' if ok else 'MISSED'}); without HTTP: p95 "
          f"{figures['precheck_inproc_p95_ms']:.1f} ms")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1_000_000, help="catalogued files in all")
    parser.add_argument("--real", type=int, default=10_000, help="real files in one project")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=200, help="timed listing requests")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    pg = PostgresServer.start() if "postgresql" in engines else None
    try:
        for engine in engines:
            with catalog_place(engine, pg) as url:
                report(run_engine(engine, url, args))
    finally:
        if pg is not None:
            pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
