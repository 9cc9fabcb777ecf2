"""Committing arrivals a batch at a time: prove outside the write transaction, then decide and
commit every arrival of the batch inside one; the watcher's drops queue in a ``DropBatch``."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from daemon.catalog import intake
from daemon.errors import StorageFull
from daemon.ingest.commit import Commit, Found, Item
from daemon.ingest.decide import Decision, Drop, decide
from daemon.ingest.facts import Proofs, StampAt, View, prove_rows, read, stamps_under, wanted
from daemon.library import Change, Library
from daemon.storage.hashing import CHUNK, Digest, StreamHasher
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import Source

BATCH_FILES = 500  # a drop batch commits at this many files...
BATCH_SECONDS = 1.0  # ...or once its first file waited this long
HOLD_CHANGES = 50_000  # changes held back from listeners while a pass races (see DropBatch)

Place = Callable[[Item, Decision], tuple[str, Found] | None]  # where a decision's file lands


def _sources(items: Sequence[Item]) -> dict[str, Source]:
    found = {}
    for item in items:
        for ref in (item.ref, item.src):
            if ref is not None:
                found[ref.source.name] = ref.source
    return found


def _stamps(items: Sequence[Item], stamp_at: StampAt | None) -> StampAt:
    if stamp_at is not None:
        return stamp_at
    return stamps_under({name: s.root for name, s in _sources(items).items()})


@contextlib.contextmanager
def transaction(lib: Library, what: str) -> Iterator[None]:
    """The immediate write transaction a batch commits in; sqlite's "database or disk is
    full" is StorageFull (``what``: what was not stored)."""
    try:
        with lib.catalog.write():
            yield
    except Exception as exc:
        if not intake.is_full(exc):
            raise
        raise StorageFull(
            f"no space left on the disk holding the catalog {lib.catalog.location}; {what}"
        ) from exc


def prove(lib: Library, items: Sequence[Item], stamp_at: StampAt | None = None) -> Proofs:
    """Outside any write transaction: prove the catalogued copies of the items' bytes."""
    arrivals = [item.arrival for item in items]
    at, holding = read(lib.catalog, arrivals)
    roots = {name: s.root for name, s in _sources(items).items()}
    return prove_rows(holding, wanted(arrivals, at), roots, _stamps(items, stamp_at))


def commit_items(
    lib: Library,
    items: Sequence[Item],
    proofs: Proofs,
    *,
    what: str,
    forget_reason: str = "missing on disk",
    stamp_at: StampAt | None = None,
    place: Place | None = None,
) -> Commit:
    """Decide and commit ``items`` in order, in one immediate transaction (``place`` puts a
    decision's file where it goes, inside it); journals and listeners wait for ``finish``."""
    stamps = _stamps(items, stamp_at)
    arrivals = [item.arrival for item in items]
    with transaction(lib, what):
        at, holding = read(lib.catalog, arrivals)
        view = View.load(at, holding, proofs, stamps)
        commit = Commit(lib, view, forget_reason, sources=_sources(items))
        commit.restamp()
        for item in items:
            decision = decide(item.arrival, view.facts(item.arrival))
            placed = place(item, decision) if place is not None else None
            commit.apply(item, decision, placed)
        commit.close()
    return commit


class FileChangedWhileHashing(Exception):
    """The file was still being written while we hashed it; try again later."""


def _stamp_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns


def read_drop(path: os.PathLike[str] | str) -> tuple[Digest, os.stat_result, bool]:
    """Hash the regular file at ``path`` (opened once, never through a symlink): the digest,
    the stat found after hashing, and whether the file held still meanwhile (its stamp, ctime
    included, the same before, after, and at the path). OSError when it cannot be read."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    fd = os.open(path, flags)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        hasher = StreamHasher()
        if before.st_size < CHUNK:  # one read, no 1 MiB buffer for a small file
            while chunk := os.read(fd, before.st_size + 1):
                hasher.update(chunk)
        else:
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while count := os.readv(fd, [buffer]):
                hasher.update(view[:count])
        after = os.fstat(fd)
    finally:
        os.close(fd)
    now = os.lstat(path)
    steady = _stamp_of(after) == _stamp_of(before) == _stamp_of(now)
    return hasher.digest(), now, steady


@dataclass
class DropBatch:
    """The watcher's drops and renames, committed a batch at a time (``BATCH_FILES`` files or
    ``BATCH_SECONDS``): one transaction per batch, not per file. ``on_commit`` hears each
    committed batch (after its journals).

    Listeners (thumbnails, metadata) hear a batch at once, except while the pass races through
    small files (a batch full before its time is up): then they hear it when the pass is done
    (``release``), so preview work does not take the CPU and the catalog from the scan. At most
    ``HOLD_CHANGES`` wait; the live feed's events are in the catalog with each commit anyway."""

    lib: Library
    on_commit: Callable[[Commit], None]
    files: int = BATCH_FILES
    seconds: float = BATCH_SECONDS
    _items: list[Item] = field(default_factory=list)
    _since: float = 0.0
    _held: list[Change] = field(default_factory=list)

    def add(self, item: Item) -> None:
        if not self._items:
            self._since = time.monotonic()
        self._items.append(item)
        if len(self._items) >= self.files or time.monotonic() - self._since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        """Commit what waits; copies found holding other bytes meanwhile follow as drops."""
        while self._items:
            items, self._items = self._items, []
            racing = len(items) >= self.files and time.monotonic() - self._since < self.seconds
            proofs = prove(self.lib, items)
            commit = commit_items(self.lib, items, proofs, what="the drops were not catalogued")
            commit.finish(notify=False)
            changes = commit.changes
            if racing and len(self._held) + len(changes) <= HOLD_CHANGES:
                self._held.extend(changes)
            else:
                self._tell([*self._held, *changes])
            self.on_commit(commit)
            self._items.extend(_recatalog(items, proofs))
            self._since = time.monotonic()

    def release(self) -> None:
        """Tell the listeners every change held back (the pass is done: ``flush`` first)."""
        self._tell(self._held)

    def _tell(self, changes: list[Change]) -> None:
        held, self._held = changes, []
        for change in held:
            self.lib.notify(change)


def _recatalog(items: Sequence[Item], proofs: Proofs) -> list[Item]:
    """Drops for catalogued copies a proof found holding other bytes now."""
    sources = _sources(items)
    again = []
    for (source, project, rel), proof in proofs.changed.items():
        if proof.digest is None or proof.st is None or source not in sources:
            continue
        ref = ProjectRef(sources[source], project)
        found = _stamp_of(proof.st)
        arrival = Drop(source, project, rel, proof.digest.blake3, found)
        again.append(Item(ref, arrival, proof.digest, found))
    return again


@dataclass
class IndexPacer:
    """When a long pass rewrites the index.json of the projects its batches touched: at most
    once per batch, and no sooner than ``spacing`` times its last write took (at least
    ``minimum`` seconds) after it, so index.json stays close behind a first indexing without
    the pass spending its time rewriting ever larger files. The pass writes the rest at its
    end."""

    spacing: float = 10.0
    minimum: float = 1.0
    _last: dict[str, tuple[float, float]] = field(default_factory=dict)  # ended at, took

    def due(self, project: str, now: float | None = None) -> bool:
        last = self._last.get(project)
        if last is None:
            return True
        ended, took = last
        moment = time.monotonic() if now is None else now
        return moment - ended >= max(self.minimum, self.spacing * took)

    def wrote(self, project: str, started: float, ended: float | None = None) -> None:
        end = time.monotonic() if ended is None else ended
        self._last[project] = (end, end - started)
