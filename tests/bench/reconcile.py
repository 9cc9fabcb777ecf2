"""Benchmark: an unchanged full reconcile vs a bare os.scandir + stat walk of the same tree.

Targets (issue 3): reconcile <= 3x the bare walk at 100,000 files in 20 projects, and the
200k/100k time ratio <= 2.2. First-time indexing (hash + catalog + index.json) is reported in
files/s and MB/s on a sample project. Run: `.venv/bin/python tests/bench/reconcile.py [N]`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.catalog import Content, File
from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.reconcile import Reconciler, Scope

PROJECTS = 20
PER_DIR = 500
REPEAT = 5


def make_tree(root: Path, start: int, count: int) -> list[tuple[str, str, os.stat_result]]:
    """``count`` small .mov files spread over 20 projects (sub-folders of 500)."""
    made = []
    for i in range(start, start + count):
        project = f"P{i % PROJECTS + 1}-Bench"
        rel = f"ingest/originals/d{(i // PROJECTS) // PER_DIR}/clip{i:07d}.mov"
        path = root / project / rel
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, i.to_bytes(8, "little"))
        os.close(fd)
        made.append((project, rel, os.stat(path)))
    return made


def seed_catalog(lib: Library, made: list[tuple[str, str, os.stat_result]]) -> None:
    """Catalog rows exactly as ingest leaves them (hashes stand in: this pass never reads them)."""
    contents, files = [], []
    for project, rel, st in made:
        key = hashlib.blake2b(f"{project}/{rel}".encode(), digest_size=32).hexdigest()
        contents.append({"blake3": key, "sha256": key, "size": st.st_size, "kind": "video"})
        files.append(
            {
                "source": "primary",
                "project": project,
                "rel_path": rel,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "inode": st.st_ino,
                "content": key,
                "origin": "drop",
            }
        )
    with lib.catalog.write():
        for i in range(0, len(files), 5000):
            Content.insert_many(contents[i : i + 5000]).execute()
            File.insert_many(files[i : i + 5000]).execute()


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


def best(fn: object, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def measure(lib: Library, root: Path, n: int) -> tuple[float, float]:
    reconciler = Reconciler(lib)
    source = lib.source(None)

    def reconcile() -> None:
        result = reconciler.pass_source(source, Scope())
        assert result.unchanged == n and not result.indexed and not result.removed, result

    bare_walk(root)  # warm the dentry/inode caches for both
    walk = reconcile_t = float("inf")
    for _ in range(REPEAT):
        walk = min(walk, best(lambda: bare_walk(root), 1))
        reconcile_t = min(reconcile_t, best(reconcile, 1))
    print(f"{n:>8,} files: bare walk {walk:.3f}s, unchanged reconcile {reconcile_t:.3f}s, "
          f"ratio {reconcile_t / walk:.2f}x (target <= 3x)")  # fmt: skip
    return walk, reconcile_t


def first_time_indexing(base: Path, files: int = 2000, size: int = 256 * 1024) -> None:
    root, state = base / "first", base / "first-state"
    settings = Settings.from_env(
        {"MEDIA_SYNC_PROJECTS_ROOT": str(root), "MEDIA_SYNC_STATE_DIR": str(state),
         "MEDIA_SYNC_SETTLE_SECONDS": "0"}
    )  # fmt: skip
    originals = root / "P1-First" / "ingest" / "originals"
    originals.mkdir(parents=True)
    block = os.urandom(size)
    for i in range(files):
        (originals / f"clip{i:05d}.mov").write_bytes(i.to_bytes(8, "little") + block[8:])
    lib = Library.open(settings)
    try:
        started = time.perf_counter()
        result = Reconciler(lib).pass_source(lib.source(None), Scope())
        took = time.perf_counter() - started
    finally:
        lib.close()
    assert result.indexed == files, result
    print(f"first-time indexing: {files} files of {size // 1024} KiB in {took:.2f}s = "
          f"{files / took:,.0f} files/s, {result.hashed_bytes / took / 1e6:,.1f} MB/s hashed")  # fmt: skip


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    base = Path(tempfile.mkdtemp(prefix="media-sync-bench-"))
    try:
        first_time_indexing(base)
        root, state = base / "projects", base / "state"
        root.mkdir()
        settings = Settings.from_env(
            {"MEDIA_SYNC_PROJECTS_ROOT": str(root), "MEDIA_SYNC_STATE_DIR": str(state)}
        )
        lib = Library.open(settings)
        try:
            seed_catalog(lib, make_tree(root, 0, n))
            Reconciler(lib).pass_source(lib.source(None), Scope())  # writes each index.json once
            walk1, rec1 = measure(lib, root, n)
            seed_catalog(lib, make_tree(root, n, n))
            Reconciler(lib).pass_source(lib.source(None), Scope())
            walk2, rec2 = measure(lib, root, 2 * n)
        finally:
            lib.close()
        print(f"scaling {2 * n:,}/{n:,}: reconcile {rec2 / rec1:.2f}x (target <= 2.2), "
              f"bare walk {walk2 / walk1:.2f}x")  # fmt: skip
        ok = rec1 <= 3 * walk1 and rec2 / rec1 <= 2.2
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
