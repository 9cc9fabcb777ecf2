"""The one executor: applies a Plan to the disk and the catalog through `daemon.ingest.pipeline`."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from daemon.catalog import File, utcnow
from daemon.errors import CorruptFile
from daemon.ingest.adopt import IndexHint, adopt_counts, index_hints
from daemon.ingest.pipeline import ingest_in_place, journal, record_moved, record_removed
from daemon.library import Library
from daemon.storage.conventions import FILES_JOURNAL, MANIFEST_DIR
from daemon.storage.hashing import Digest, hash_file
from daemon.storage.indexfile import project_row, read_index, write_index
from daemon.storage.projects import ProjectRef, ensure_layout
from daemon.storage.sources import Source
from daemon.watch.listing import out_of_fds
from daemon.watch.plan import FD_EXHAUSTED, Key, Move, Plan, Seen, Stat
from daemon.watch.relocate import ROOT, move_no_overwrite
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

    def ref(self, project: str) -> ProjectRef:
        return ProjectRef(self.source, project)

    def error(self, project: str, rel: str, exc: BaseException | str) -> None:
        detail = str(exc) if not isinstance(exc, OSError) else f"{exc.strerror or exc}"
        if isinstance(exc, OSError) and out_of_fds(exc):
            detail = FD_EXHAUSTED
        self.result.errors.append({"project": project, "path": rel, "error": detail})
        log.warning("%s/%s/%s: %s", self.source.name, project, rel, detail)


def _label(project: str, rel: str) -> str:
    return rel if project == ROOT else f"{project}/{rel}"


def _orphan_of(run: _Run, digest: Digest) -> tuple[str, str] | None:
    """A catalogued copy of these bytes in this source whose file is gone (a move we missed)."""
    rows = File.select(File.project, File.rel_path).where(
        (File.source == run.source.name) & (File.content == digest.blake3)
    )
    for row in rows:
        if not os.path.lexists(run.source.root / row.project / row.rel_path):
            return row.project, row.rel_path
    return None


def _adopt(run: _Run, project: str) -> None:
    """A project with an index.json but no catalogued files: keep its counts and history."""
    ref = run.ref(project)
    hints, document, error = index_hints(ref)
    if error is not None:
        run.touched.add(project)  # the index write reports the corrupt file, once
    adopt_counts(run.lib, ref, document)
    if hints:
        run.hints[project] = hints


def _hinted(run: _Run, project: str, rel: str, digest: Digest) -> IndexHint | None:
    """What a seed-era or earlier index.json says of these very bytes (history and tags)."""
    hint = run.hints.get(project, {}).get(rel)
    return hint if hint and hint.sha256 == digest.sha256 else None


def ingest_file(run: _Run, project: str, rel: str, stat: Stat) -> None:
    """Hash a complete file, then catalog it (or carry an orphaned row's identity to it)."""
    ref = run.ref(project)
    path = ref.path / rel
    problem = openable(path)
    if problem is not None:
        run.error(project, rel, problem)
        return
    try:
        before = path.stat()
        digest = hash_file(path)
        after = path.stat()
    except OSError as exc:
        run.error(project, rel, exc)
        return
    run.result.hashed_bytes += digest.size
    # the stamp recorded (size, inode, mtime, ctime) must be the one the bytes were hashed at:
    # a write that kept size and mtime still moves ctime, and then the file is hashed again later
    stamp = (after.st_size, after.st_ino, after.st_mtime_ns, after.st_ctime_ns)
    changed = stamp != (before.st_size, before.st_ino, before.st_mtime_ns, before.st_ctime_ns)
    if (
        changed
        or (after.st_size, after.st_mtime_ns) != (stat.size, stat.mtime_ns)
        or (digest.size != stat.size)
    ):
        if run.tracker is not None:
            seen = {(project, rel): Seen(after.st_size, after.st_mtime_ns, time.monotonic())}
            run.tracker.update(run.source.name, (), seen)
        run.result.settling += 1
        return
    orphan = _orphan_of(run, digest)
    if orphan is not None and record_moved(
        run.lib, run.ref(orphan[0]), orphan[1], ref, rel, reason="moved", update_index=False
    ):
        run.touched.update({orphan[0], project})
        run.result.count(project, "renamed")
        return
    origin = "adopted" if project in run.hints else "drop"
    hint = _hinted(run, project, rel, digest)
    uploaded_at = (hint.uploaded_at if hint else None) or utcnow()
    result = ingest_in_place(
        run.lib,
        ref,
        rel,
        digest=digest,
        st=after,
        origin=origin,
        uploaded_at=uploaded_at,
        tags=list(hint.tags) if hint else None,
        update_index=False,
    )
    if result.status != "unchanged":
        run.result.count(project, "indexed")
        run.result.project(project)["files"].append(
            {
                "relative_path": rel,
                "sha256": digest.sha256,
                "blake3": digest.blake3,
                "size": digest.size,
                "uploaded_at": uploaded_at,
                "mtime_ns": after.st_mtime_ns,
                "tags": sorted(hint.tags) if hint else [],
            }
        )
        run.touched.add(project)


def relocate_file(run: _Run, move: Move) -> None:
    """Move one misplaced media file into `ingest/originals/` and catalog it there."""
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
        ensure_layout(dst)
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
    run.touched.add(dst.name)
    st = final.stat()
    ingest_file(run, dst.name, new_rel, Stat(st.st_size, st.st_mtime_ns, st.st_ino))


def _remove(run: _Run, removes: tuple[Key, ...]) -> None:
    by_project: dict[str, list[str]] = {}
    for project, rel in removes:
        if not os.path.lexists(run.source.root / project / rel):  # proven gone right now
            by_project.setdefault(project, []).append(rel)
    for project, rels in by_project.items():
        rows = File.select(File.rel_path).where(
            (File.source == run.source.name) & (File.project == project) & File.rel_path.in_(rels)
        )
        still = [r.rel_path for r in rows]
        if still:
            count = record_removed(
                run.lib, run.ref(project), still, reason="missing on disk", update_index=False
            )
            run.result.count(project, "removed", count)
            run.touched.add(project)


def _write_indexes(run: _Run, projects: set[str]) -> None:
    for project in sorted(projects):
        ref = run.ref(project)
        if project == ROOT or not ref.path.is_dir():
            continue
        try:
            read_index(ref.index_path)
        except CorruptFile as exc:
            run.error(project, "index.json", f"{exc.detail}; kept in _manifest/ and rewritten")
        try:
            ensure_layout(ref)
            with run.lib.catalog.write():
                project_row(ref)
            write_index(run.lib.settings, ref)
        except OSError as exc:
            run.error(project, "index.json", exc)


def _renames(run: _Run, moves: tuple[Move, ...]) -> None:
    """Record renames done on disk; a project folder renamed away is not brought back."""
    gone = {m.src_project for m in moves if m.src_project != ROOT}
    gone = {p for p in gone if not run.ref(p).path.is_dir()}
    for move in moves:
        if record_moved(
            run.lib,
            run.ref(move.src_project),
            move.src_rel,
            run.ref(move.dst_project),
            move.dst_rel,
            reason="renamed on disk",
            update_index=False,
        ):
            run.result.count(move.dst_project, "renamed")
            run.touched.update({move.src_project, move.dst_project})
    for project in gone:  # record_moved journals to the old folder too: do not recreate it
        _unjournal(run.ref(project))
        run.touched.discard(project)


def _unjournal(ref: ProjectRef) -> None:
    """Remove the journal-only folder a move record re-created where a project folder was."""
    journal_path = ref.path / FILES_JOURNAL
    with contextlib.suppress(OSError):
        if {p.name for p in ref.path.iterdir()} == {MANIFEST_DIR} and [
            p.name for p in journal_path.parent.iterdir()
        ] == [journal_path.name]:
            journal_path.unlink()
            journal_path.parent.rmdir()
            ref.path.rmdir()


def execute(
    lib: Library,
    source: Source,
    plan: Plan,
    *,
    adopt: frozenset[str] = frozenset(),
    tracker: SettleTracker | None = None,
    cancel: threading.Event | None = None,
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
    run = _Run(lib, source, tracker, result)
    for project in plan.listed:
        if project != ROOT:
            result.project(project)["skipped_unsupported"] = plan.unsupported_by_project.get(
                project, 0
            )
    for project in sorted(adopt):
        _adopt(run, project)
    for move in plan.relocations:
        relocate_file(run, move)
    _renames(run, plan.renames)
    for project, rel, stat in plan.ingest:
        if cancel is not None and cancel.is_set():
            result.settling += 1  # picked up again by the next pass
            continue
        ingest_file(run, project, rel, stat)
    _remove(run, plan.removes)
    _write_indexes(run, run.touched | set(plan.missing_index))
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
