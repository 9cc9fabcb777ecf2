"""The pure reconcile planner: catalog rows + a directory listing -> a Plan of actions.

Nothing here touches the disk or the catalog; the executor applies what this decides. A
project key of ``""`` stands for the source root itself (loose files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from daemon.watch.relocate import ROOT, relocation_target

OFFLINE_MIN_FILES = 20
OFFLINE_MIN_PRESENT = 0.10
FD_EXHAUSTED = "too many open files: raise LimitNOFILE or lower MEDIA_SYNC_MAX_CONNECTIONS"


class Stat(NamedTuple):
    """What a listing knows about a file."""

    size: int
    mtime_ns: int
    inode: int


Row = tuple[int, int, int]  # the catalog's (size, mtime_ns, inode) for a file


class Seen(NamedTuple):
    """A settle observation: the (size, mtime_ns) seen since monotonic time ``since``."""

    size: int
    mtime_ns: int
    since: float


Key = tuple[str, str]  # (project, rel_path)


@dataclass(frozen=True)
class ProjectListing:
    """One project folder as listed: media in originals, media elsewhere, what was skipped."""

    originals: Mapping[str, Stat] = field(default_factory=dict)
    outside: Mapping[str, Stat] = field(default_factory=dict)  # media to relocate
    unsupported: int = 0
    unlisted: tuple[str, ...] = ()  # rel dirs that could not be listed ("" = the whole project)
    has_index: bool = True
    exists: bool = True
    exhausted: bool = False  # a listing failed with EMFILE/ENFILE (out of file descriptors)


GONE = ProjectListing(exists=False)


@dataclass(frozen=True)
class SourceListing:
    """A source root as listed for one pass (all projects, or a scoped subset)."""

    reachable: bool
    error: str | None = None
    top_names: frozenset[str] = frozenset()
    projects: Mapping[str, ProjectListing] = field(default_factory=dict)
    loose: Mapping[str, Stat] | None = None  # media directly in the root (None: root not scanned)
    marker: bool = False  # the root's `_sources/` folder is there and listable
    complete: bool = False  # every project folder of the root was listed (a full pass)
    exhausted: bool = False  # the root listing failed with EMFILE/ENFILE

    @property
    def out_of_fds(self) -> bool:
        """Did any listing fail for lack of file descriptors (not a sign of a vanished root)?"""
        return self.exhausted or any(p.exhausted for p in self.projects.values())


@dataclass(frozen=True)
class Move:
    """A file to move (relocate) or a move already done on disk (rename) to record."""

    src_project: str
    src_rel: str
    dst_project: str
    dst_rel: str
    stat: Stat


@dataclass(frozen=True)
class Plan:
    """What one reconcile pass of a source will do."""

    offline: str | None = None  # why pruning is held back this pass (the source is "offline")
    error: str | None = None  # why this pass decided nothing (e.g. out of file descriptors)
    ingest: tuple[tuple[str, str, Stat], ...] = ()
    settling: tuple[Key, ...] = ()
    unchanged: int = 0
    renames: tuple[Move, ...] = ()
    removes: tuple[Key, ...] = ()
    held: tuple[Key, ...] = ()  # missing, but a settling file may be their new copy
    relocations: tuple[Move, ...] = ()
    unrelocated: tuple[Move, ...] = ()  # moves relocation would make, were it on for the source
    withheld: int = 0  # removes held back because the source is offline
    skipped_unsupported: int = 0
    missing_index: tuple[str, ...] = ()
    seen: Mapping[Key, Seen] = field(default_factory=dict)
    listed: tuple[str, ...] = ()  # the project folders this pass looked at
    unsupported_by_project: Mapping[str, int] = field(default_factory=dict)


def _unreachable(listing: SourceListing, totals: Mapping[str, int]) -> str | None:
    """A root that is gone or lists nothing at all while the catalog holds files there."""
    if not listing.reachable:
        return listing.error or "root is unreachable"
    if sum(totals.values()) and not listing.top_names:
        return "root lists empty while the catalog holds files there"
    return None


def _present(
    listing: SourceListing, rows: Mapping[str, Mapping[str, Row]], totals: Mapping[str, int]
) -> int:
    """Catalogued files listed at their own path (an unscanned project folder counts whole)."""
    present = 0
    for project, count in totals.items():
        scanned = listing.projects.get(project)
        if scanned is None:
            present += count if project in listing.top_names else 0
        else:
            present += len(rows.get(project, {}).keys() & scanned.originals.keys())
    return present


def _moved(listing: SourceListing, rows: Mapping[str, Mapping[str, Row]]) -> int:
    """Catalogued files gone from their path but listed elsewhere with the same (size, mtime,
    inode): a renamed or moved folder, not a vanished root."""
    listed: set[Stat] = set((listing.loose or {}).values())
    for each in listing.projects.values():
        listed.update(each.originals.values(), each.outside.values())
    moved = 0
    for project, project_rows in rows.items():
        scanned = listing.projects.get(project)
        if scanned is None and project in listing.top_names:
            continue  # counted whole by _present
        here = scanned.originals if scanned is not None else {}
        moved += sum(1 for rel, row in project_rows.items() if rel not in here and row in listed)
    return moved


def offline_reason(
    listing: SourceListing,
    rows: Mapping[str, Mapping[str, Row]],
    totals: Mapping[str, int],
    unchanged: int = 0,
) -> str | None:
    """Why the listing cannot be trusted to prove files gone, or None when it can.

    A root is trusted when it lists at least 10% of the catalogued files (files found renamed
    count), or when it is plainly healthy: listable, its `_sources/` readable, files present.
    ``unchanged``: files the pass found just as catalogued (a lower bound of those present)."""
    hard = _unreachable(listing, totals)
    if hard is not None:
        return hard
    total = sum(totals.values())
    if total < OFFLINE_MIN_FILES or unchanged >= OFFLINE_MIN_PRESENT * total:
        return None
    present = _present(listing, rows, totals)
    if present >= OFFLINE_MIN_PRESENT * total:
        return None
    present += _moved(listing, rows)
    if present >= OFFLINE_MIN_PRESENT * total or (present and listing.marker):
        return None
    return f"only {present} of {total} catalogued files are listed; not pruning"


def settled(seen: Seen | None, stat: Stat, now: float, window: float) -> tuple[bool, Seen]:
    """Has the file kept its size and mtime for ``window`` seconds? Returns the new observation."""
    if seen is None or (seen.size, seen.mtime_ns) != (stat.size, stat.mtime_ns):
        fresh = Seen(stat.size, stat.mtime_ns, now)
        return window <= 0, fresh
    return now - seen.since >= window, seen


def under(rel: str, dirs: tuple[str, ...]) -> bool:
    """Is ``rel`` inside one of ``dirs`` ("" is everything)?"""
    return any(d == "" or rel == d or rel.startswith(d + "/") for d in dirs)


def plan_source(
    listing: SourceListing,
    rows: Mapping[str, Mapping[str, Row]],
    totals: Mapping[str, int],
    seen: Mapping[Key, Seen],
    now: float,
    window: float,
    *,
    relocate: bool = True,
) -> Plan:
    """Decide a pass: ``rows`` holds the catalog rows of every scanned project (and only them),
    ``totals`` the row count of every project of the source, ``seen`` earlier observations.

    Out of file descriptors: decide nothing (an error, not offline). A root that is gone or
    lists empty: offline, nothing to do. A partial listing: offline, so nothing is pruned, but
    drops, renames and relocations still go ahead (the guard never blinds the watcher)."""
    if listing.out_of_fds:
        return Plan(error=FD_EXHAUSTED, seen=dict(seen))
    hard = _unreachable(listing, totals)
    if hard is not None:
        return Plan(offline=hard, seen=dict(seen))
    plan = _decide(listing, rows, seen, now, window, relocate)
    offline = offline_reason(listing, rows, totals, plan.unchanged)
    if offline is None:
        return plan
    return replace(plan, offline=offline, removes=(), withheld=len(plan.removes), missing_index=())


def _decide(
    listing: SourceListing,
    rows: Mapping[str, Mapping[str, Row]],
    seen: Mapping[Key, Seen],
    now: float,
    window: float,
    relocate: bool,
) -> Plan:
    """The pass itself: settle, ingest, relocate (or count the moves), renames and removes."""
    new_seen: dict[Key, Seen] = {}
    ingest: list[tuple[str, str, Stat]] = []
    settling: list[Key] = []
    relocations: list[Move] = []
    unrelocated: list[Move] = []
    new_files: dict[tuple[int, int, int], Key] = {}
    unchanged = unsupported = 0
    missing_index = []
    listed: list[str] = []
    unsupported_by_project: dict[str, int] = {}
    same: set[str] = set()  # projects listed exactly as catalogued: nothing is missing there

    def observe(key: Key, stat: Stat) -> bool:
        ok, obs = settled(seen.get(key), stat, now, window)
        if not ok:
            new_seen[key] = obs
            settling.append(key)
        return ok

    def stray(project: str, rel: str, listed_stat: Stat) -> None:
        stat = Stat(*listed_stat)
        if not relocate:  # relocation is off for this source: only count what it would move
            unrelocated.append(Move(project, rel, *relocation_target(project, rel), stat))
        elif observe((project, rel), stat):
            relocations.append(Move(project, rel, *relocation_target(project, rel), stat))

    for project in sorted(listing.projects):
        scanned = listing.projects[project]
        project_rows = rows.get(project, {})
        unsupported += scanned.unsupported
        if scanned.unsupported:
            unsupported_by_project[project] = scanned.unsupported
        if scanned.exists:
            listed.append(project)
        if scanned.exists and not scanned.has_index and not scanned.unlisted:
            missing_index.append(project)
        if scanned.originals == project_rows:  # unchanged: one comparison in C, nothing else
            unchanged += len(project_rows)
            differ: set[tuple[str, Stat]] = set()
            same.add(project)
        else:  # set operations in C: only new or changed files reach the Python loop
            differ = scanned.originals.items() - project_rows.items()
            unchanged += len(scanned.originals) - len(differ)
        for rel, listed_stat in sorted(differ):
            stat = Stat(*listed_stat)  # a listing may hold plain (size, mtime_ns, inode) tuples
            if rel not in project_rows:
                new_files.setdefault((stat.inode, stat.size, stat.mtime_ns), (project, rel))
            if observe((project, rel), stat):
                ingest.append((project, rel, stat))
        for rel, stat in scanned.outside.items():
            stray(project, rel, stat)
    for rel, stat in (listing.loose or {}).items():
        stray(ROOT, rel, stat)

    renames, removes, held = _missing(listing, rows, new_files, new_seen, same)
    renamed = {(m.dst_project, m.dst_rel) for m in renames}
    return Plan(
        ingest=tuple(i for i in ingest if (i[0], i[1]) not in renamed),
        settling=tuple(k for k in settling if k not in renamed),
        unchanged=unchanged,
        renames=tuple(renames),
        removes=tuple(removes),
        held=tuple(held),
        relocations=tuple(relocations),
        unrelocated=tuple(unrelocated),
        skipped_unsupported=unsupported,
        missing_index=tuple(missing_index),
        seen={k: v for k, v in new_seen.items() if k not in renamed},
        listed=tuple(listed),
        unsupported_by_project=unsupported_by_project,
    )


def _missing(
    listing: SourceListing,
    rows: Mapping[str, Mapping[str, Row]],
    new_files: dict[tuple[int, int, int], Key],
    new_seen: Mapping[Key, Seen],
    same: set[str],
) -> tuple[list[Move], list[Key], list[Key]]:
    """Rows no longer listed: a rename (same inode, size and mtime), held, or removed
    (``same``: projects listed exactly as catalogued, skipped)."""
    renames: list[Move] = []
    removes: list[Key] = []
    held: list[Key] = []
    settling_sizes = {obs.size for obs in new_seen.values()}
    for project in sorted(rows.keys() - same):
        scanned = listing.projects.get(project)
        if scanned is None and listing.complete and project not in listing.top_names:
            scanned = GONE if project != ROOT else None  # a full pass: the folder is gone
        if scanned is None:
            continue
        project_rows = rows[project]
        for rel in sorted(project_rows.keys() - scanned.originals.keys()):
            if under(rel, scanned.unlisted):
                continue
            size, mtime_ns, inode = project_rows[rel]
            target = new_files.pop((inode, size, mtime_ns), None)
            if target is not None:
                stat = Stat(size, mtime_ns, inode)
                renames.append(Move(project, rel, target[0], target[1], stat))
            elif size in settling_sizes:
                held.append((project, rel))
            else:
                removes.append((project, rel))
    return renames, removes, held
