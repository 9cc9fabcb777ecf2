"""The one executor: applies a Plan to the disk, and to the catalog through the ingest pipeline
(drops and renames decided and committed a batch at a time)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.catalog import intake, utcnow
from daemon.catalog.values import Origin
from daemon.errors import CorruptFile
from daemon.ingest.adopt import IndexHint, adopt_counts, index_hints
from daemon.ingest.batch import DropBatch, IndexPacer, read_drop
from daemon.ingest.commit import Applied, Commit, Item
from daemon.ingest.decide import Drop, Hint, Kind, Rename
from daemon.ingest.journal import journal
from daemon.ingest.liveness import stamp_of
from daemon.ingest.pipeline import record_removed
from daemon.library import Library
from daemon.observe import project_created
from daemon.storage.indexfile import read_index, write_index
from daemon.storage.placement import move_no_overwrite
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.sources import Source
from daemon.watch.listing import out_of_fds
from daemon.watch.plan import FD_EXHAUSTED, Key, Move, Plan, Seen, Stat
from daemon.watch.relocate import ROOT
from daemon.watch.settle import SettleTracker, openable

log = logging.getLogger("media_sync.watch")


@dataclass
class SourceResult:
    """What a pass did to one source (the reindex response's per-source entry)."""

    source: str
    status: str = "ok"  # ok | offline
    offline_reason: str | None = None
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    renamed: int = 0
    relocated: int = 0
    would_relocate: int = 0  # strays left in place: relocation is off for this source
    settling: int = 0
    held: int = 0
    skipped_unsupported: int = 0
    hashed_bytes: int = 0
    projects: set[str] = field(default_factory=set)
    moves: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    per_project: dict[str, dict[str, Any]] = field(default_factory=dict)

    def project(self, name: str) -> dict[str, Any]:
        """The original's per-project summary (counts and the new index entries), made on use."""
        found = self.per_project.get(name)
        if found is None:
            found = self.per_project[name] = {"name": name, "files": []}
            found.update(dict.fromkeys(PROJECT_TOTALS, 0))
        return found

    def count(self, project: str, key: str, n: int = 1) -> None:
        setattr(self, key, getattr(self, key) + n)
        if project != ROOT:
            self.project(project)[key] += n

    @property
    def new_files(self) -> list[dict[str, Any]]:
        return [
            entry for name in sorted(self.per_project) for entry in self.per_project[name]["files"]
        ]

    def merge(self, other: SourceResult) -> None:
        """Add a later pass over the same source (used while waiting for files to settle)."""
        for name in ("indexed", "removed", "renamed", "relocated", "hashed_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.settling, self.held = other.settling, other.held
        self.skipped_unsupported = max(self.skipped_unsupported, other.skipped_unsupported)
        self.would_relocate = max(self.would_relocate, other.would_relocate)
        self.status, self.offline_reason = other.status, other.offline_reason
        self.projects |= other.projects
        self.moves += other.moves
        self.errors += other.errors
        for name, theirs in other.per_project.items():
            mine = self.project(name)
            for key in ("indexed", "removed", "renamed", "relocated"):
                mine[key] += theirs[key]
            mine["skipped_unsupported"] = max(
                mine["skipped_unsupported"], theirs["skipped_unsupported"]
            )
            mine["files"] += theirs["files"]

    def as_dict(self) -> dict[str, Any]:
        body = {k: v for k, v in vars(self).items() if k not in ("projects", "per_project")}
        body["projects"] = [self.per_project[name] for name in sorted(self.per_project)]
        return body


PROJECT_TOTALS = ("indexed", "removed", "relocated", "renamed", "skipped_unsupported")


@dataclass
class _Run:
    lib: Library
    source: Source
    tracker: SettleTracker | None
    result: SourceResult
    hints: dict[str, dict[str, IndexHint]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)  # index.json up to date since touched
    checked: set[str] = field(default_factory=set)  # index.json checked for corruption
    pacer: IndexPacer = field(default_factory=IndexPacer)
    first_seen: Mapping[Key, str] = field(default_factory=dict)  # settling files: seen since
    batch: DropBatch = field(init=False)

    def __post_init__(self) -> None:
        self.batch = DropBatch(self.lib, self.committed)

    def ref(self, project: str) -> ProjectRef:
        return ProjectRef(self.source, project)

    def error(self, project: str, rel: str, exc: BaseException | str) -> None:
        detail = str(exc) if not isinstance(exc, OSError) else f"{exc.strerror or exc}"
        if isinstance(exc, OSError) and out_of_fds(exc):
            detail = FD_EXHAUSTED
        self.result.errors.append({"project": project, "path": rel, "error": detail})
        self.lib.metrics.fail("watch_file")
        log.warning("%s/%s/%s: %s", self.source.name, project, rel, detail)

    def touch(self, projects: set[str]) -> None:
        self.touched |= projects
        self.written -= projects

    def committed(self, commit: Commit) -> None:
        """Count what a batch did, then rewrite the index.json its projects are due."""
        for done in commit.applied:
            _count(self, done)
        self.touch({ref.name for ref in commit.touched if ref.source.name == self.source.name})
        due = [p for p in sorted(self.touched - self.written) if self.pacer.due(p)]
        _write_indexes(self, set(due))


def _count(run: _Run, done: Applied) -> None:
    arrival, kind, result = done.item.arrival, done.decision.kind, run.result
    if isinstance(arrival, Rename):
        if kind is Kind.RENAMED:
            result.count(arrival.project, "renamed")
        return
    if kind is Kind.UNCHANGED:
        result.unchanged += 1
    elif kind is Kind.MOVED:  # a move the watcher missed: carried by content
        result.count(arrival.project, "renamed")
    elif isinstance(arrival, Drop) and done.item.digest is not None:
        digest = done.item.digest
        result.count(arrival.project, "indexed")
        result.project(arrival.project)["files"].append(
            {
                "relative_path": done.rel_path,
                "sha256": digest.sha256,
                "blake3": digest.blake3,
                "size": digest.size,
                "uploaded_at": done.uploaded_at,
                "mtime_ns": arrival.stamp[2],
                "tags": sorted(done.decision.tags or ()),
            }
        )


def _label(project: str, rel: str) -> str:
    return rel if project == ROOT else f"{project}/{rel}"


def _adopt(run: _Run, project: str) -> None:
    """A project with an index.json but no catalogued files: keep its counts and history."""
    ref = run.ref(project)
    hints, document, error = index_hints(ref)
    if error is not None:
        run.touch({project})  # the index write reports the corrupt file, once
    adopt_counts(run.lib, ref, document)
    if hints:
        run.hints[project] = hints


def _hinted(run: _Run, project: str, rel: str, sha256: str) -> Hint | None:
    """What a seed-era or earlier index.json says of these very bytes (history and tags)."""
    hint = run.hints.get(project, {}).get(rel)
    if hint is None or hint.sha256 != sha256:
        return None
    return Hint(hint.uploaded_at, hint.tags)


def ingest_file(
    run: _Run,
    project: str,
    rel: str,
    stat: Stat,
    *,
    seen_key: Key | None = None,
    settled_at: str | None = None,
) -> None:
    """Hash a complete file and queue it for the batch that decides and catalogs it (when it
    was first seen, settled and hashed journaled with it: ``seen_key`` where it was seen)."""
    ref = run.ref(project)
    settled_at = settled_at or utcnow()
    try:
        digest, after, steady = read_drop(ref.path / rel)
    except OSError as exc:
        run.error(project, rel, exc)
        return
    hashed_at = utcnow()
    run.result.hashed_bytes += digest.size
    # the stamp recorded (size, inode, mtime, ctime) must be the one the bytes were hashed at:
    # a write that kept size and mtime still moves ctime, and then the file is hashed again later
    if not steady or (after.st_size, after.st_mtime_ns) != (stat.size, stat.mtime_ns):
        if run.tracker is not None:
            seen = {(project, rel): Seen(after.st_size, after.st_mtime_ns, time.monotonic())}
            run.tracker.update(run.source.name, (), seen)
        run.result.settling += 1
        return
    origin = Origin.ADOPTED if project in run.hints else Origin.DROP
    found = stamp_of(after)
    hint = _hinted(run, project, rel, digest.sha256)
    arrival = Drop(run.source.name, project, rel, digest.blake3, found, origin, hint)
    seen_at = run.first_seen.get(seen_key or (project, rel), settled_at)
    times = (("seen_at", seen_at), ("settled_at", settled_at), ("hashed_at", hashed_at))
    run.batch.add(Item(ref, arrival, digest, found, arrived=times))


def relocate_file(run: _Run, move: Move) -> None:
    """Move one misplaced media file into `ingest/originals/` and catalog it there."""
    settled_at = utcnow()
    src = (
        run.source.root / move.src_project / move.src_rel
        if move.src_project
        else (run.source.root / move.src_rel)
    )
    dst = run.ref(move.dst_project)
    problem = openable(src)
    if problem is not None:
        run.error(move.src_project, move.src_rel, problem)
        return
    try:
        fresh = not dst.path.is_dir()
        ensure_layout(dst)
        if fresh:
            project_created(dst.name, run.source.name, "relocation")
        target = dst.path / move.dst_rel
        final = move_no_overwrite(src, target.parent, target.name)
    except OSError as exc:
        run.error(move.src_project, move.src_rel, exc)
        return
    new_rel = final.relative_to(dst.path).as_posix()
    entry = {"from": _label(move.src_project, move.src_rel), "to": f"{dst.name}/{new_rel}"}
    journal(dst, "relocated", **entry, reason="media outside ingest/originals")
    run.result.moves.append(entry)
    run.result.count(dst.name, "relocated")
    run.touch({dst.name})
    st = final.stat()
    stat = Stat(st.st_size, st.st_mtime_ns, st.st_ino)
    seen_key = (move.src_project, move.src_rel)
    ingest_file(run, dst.name, new_rel, stat, seen_key=seen_key, settled_at=settled_at)


def _remove(run: _Run, removes: tuple[Key, ...]) -> None:
    by_project: dict[str, list[str]] = {}
    for project, rel in removes:
        if not os.path.lexists(run.source.root / project / rel):  # proven gone right now
            by_project.setdefault(project, []).append(rel)
    for project, rels in by_project.items():
        count = record_removed(
            run.lib, run.ref(project), rels, reason="missing on disk", update_index=False
        )
        if count:
            run.result.count(project, "removed", count)
            run.touch({project})


def _write_indexes(run: _Run, projects: set[str]) -> None:
    for project in sorted(projects):
        ref = run.ref(project)
        run.written.add(project)
        if project == ROOT or not ref.path.is_dir():
            continue
        started = time.monotonic()
        if project not in run.checked:  # once a pass: after our own write it parses
            run.checked.add(project)
            try:
                read_index(ref.index_path)
            except CorruptFile as exc:
                detail = f"{exc.detail}; kept in _manifest/ and rewritten"
                run.error(project, "index.json", detail)
        try:
            ensure_layout(ref)
            with run.lib.catalog.write():
                intake.ensure_projects(run.lib.catalog, [(run.source.name, project)])
            write_index(run.lib.settings, ref, run.lib.catalog)
        except OSError as exc:
            run.error(project, "index.json", exc)
        run.pacer.wrote(project, started)


def _renames(run: _Run, moves: tuple[Move, ...]) -> set[str]:
    """Queue the renames done on disk; the project folders they left that are gone (a
    project folder renamed away is not brought back)."""
    gone = {m.src_project for m in moves if m.src_project != ROOT}
    for move in moves:
        size, mtime_ns, inode = move.stat
        arrival = Rename(
            run.source.name,
            move.dst_project,
            move.dst_rel,
            run.source.name,
            move.src_project,
            move.src_rel,
        )
        found = (size, inode, mtime_ns, None)  # carried, not re-hashed: unproven
        run.batch.add(
            Item(run.ref(move.dst_project), arrival, found=found, reason="renamed on disk")
        )
    return {p for p in gone if not run.ref(p).path.is_dir()}


def execute(
    lib: Library,
    source: Source,
    plan: Plan,
    *,
    adopt: frozenset[str] = frozenset(),
    tracker: SettleTracker | None = None,
    cancel: threading.Event | None = None,
    first_seen: Mapping[Key, str] | None = None,
) -> SourceResult:
    """Apply ``plan``: relocate, record renames, ingest, prune, then write each touched index
    once. An offline plan holds no removes; an erroneous one (out of fds) does nothing."""
    result = SourceResult(source.name, unchanged=plan.unchanged, settling=len(plan.settling))
    result.held = len(plan.held)
    result.skipped_unsupported = plan.skipped_unsupported
    result.would_relocate = len(plan.unrelocated)
    if plan.error is not None:
        result.errors.append({"project": ROOT, "path": "", "error": plan.error})
        log.warning("%s: %s", source.name, plan.error)
        return result
    if plan.offline is not None:
        result.status, result.offline_reason = "offline", plan.offline
    run = _Run(lib, source, tracker, result, first_seen=first_seen or {})
    for project in plan.listed:
        if project != ROOT:
            result.project(project)["skipped_unsupported"] = plan.unsupported_by_project.get(
                project, 0
            )
    for project in sorted(adopt):
        _adopt(run, project)
    for move in plan.relocations:
        relocate_file(run, move)
    left = _renames(run, plan.renames)
    for project, rel, stat in plan.ingest:
        if cancel is not None and cancel.is_set():
            result.settling += 1  # picked up again by the next pass
            continue
        ingest_file(run, project, rel, stat)
    run.batch.flush()
    _remove(run, plan.removes)
    run.touched -= left
    _write_indexes(run, (run.touched - run.written) | set(plan.missing_index))
    run.batch.release()  # thumbnails and metadata once the scan is done
    result.projects = run.touched - {ROOT}
    return result


def dry_run(source: Source, plan: Plan) -> SourceResult:
    """What ``execute`` would do, without touching anything."""
    result = SourceResult(source.name, unchanged=plan.unchanged, settling=len(plan.settling))
    if plan.error is not None:
        result.errors.append({"project": ROOT, "path": "", "error": plan.error})
        return result
    if plan.offline is not None:
        result.status, result.offline_reason = "offline", plan.offline
    result.indexed = len(plan.ingest) + len(plan.relocations)
    result.removed, result.renamed = len(plan.removes), len(plan.renames)
    result.relocated = len(plan.relocations)
    result.skipped_unsupported = plan.skipped_unsupported
    result.would_relocate = len(plan.unrelocated)
    result.moves = [
        {"from": _label(m.src_project, m.src_rel), "to": f"{m.dst_project}/{m.dst_rel}"}
        for m in (*plan.relocations, *plan.unrelocated)
    ]
    return result
