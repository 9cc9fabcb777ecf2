"""The one ingest decision, pure: an arrival plus what the catalog knows of its bytes -> what to record.

Four arrivals reach it: an HTTP upload (bytes hashed, a wanted name; resumable uploads finish
as one too), a drop the watcher found at a path, a move done on disk (found by its inode), and
a move asked for through the API. The facts are plain values gathered beforehand (catalog rows
of the same bytes in the source, each with a liveness verdict proven on disk, the row at the
arrival's path, the row a move carries). Nothing here touches the disk or the catalog.

The policy, in one place:

- A copy counts as a duplicate only when it is proven LIVE (``daemon.ingest.liveness``); a row
  whose file is gone never makes one, whatever bytes it names.
- Catalogued bytes whose file is gone: an upload of them is RESTORED (the gone row's identity,
  its uploaded_at, origin and tags, comes back at the new path); a drop of them is MOVED (a move
  the watcher missed). Other gone rows of the project are forgotten.
- An upload of bytes the project holds live is a DUPLICATE and nothing is written. A drop of
  such bytes is catalogued, flagged DUPLICATE of the earlier copy (both files stay).
- A drop at a path already catalogued with the same bytes is UNCHANGED; with other bytes it
  is NEW bytes for that row, which keeps its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from daemon.catalog.values import Origin

Stamp = tuple[int, int, int, int]  # size, inode, mtime_ns, ctime_ns
Place = tuple[str, str, str]  # (source, project, rel_path)


class Kind(StrEnum):
    """What an arrival turned out to be."""

    NEW = "new"
    DUPLICATE = "duplicate"
    RENAMED = "renamed"  # a move done on disk, its row carried to the new path
    MOVED = "moved"  # a row carried by content: a missed move, or a move asked for
    RESTORED = "restored"  # uploaded bytes whose catalogued file was gone
    UNCHANGED = "unchanged"


class Verdict(StrEnum):
    """What a catalogued copy was found to be on disk."""

    LIVE = "live"  # proven to hold the bytes now
    GONE = "gone"  # no regular file there
    CHANGED = "changed"  # holds other bytes now
    UNPROVEN = "unproven"  # a file is there, not proven either way


@dataclass(frozen=True)
class Known:
    """A catalog row, with the verdict on its file."""

    source: str
    project: str
    rel_path: str
    blake3: str
    verdict: Verdict
    uploaded_at: str
    tags: tuple[str, ...] = ()
    origin: Origin = Origin.DROP
    duplicate_of: str | None = None
    stamp: Stamp | None = None  # as recorded (None: unproven)


@dataclass(frozen=True)
class Hint:
    """History the caller brings for new bytes (index.json, the trash journal)."""

    uploaded_at: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Upload:
    """Uploaded bytes, hashed, waiting in a temp file to be placed under a wanted name."""

    source: str
    project: str
    name: str
    blake3: str


@dataclass(frozen=True)
class Drop:
    """A complete file found at a path, hashed at ``stamp``."""

    source: str
    project: str
    rel_path: str
    blake3: str
    stamp: Stamp
    origin: Origin = Origin.DROP
    hint: Hint | None = None


@dataclass(frozen=True)
class Rename:
    """A file moved on disk (or moved by us) from one place to another."""

    source: str
    project: str
    rel_path: str
    src_source: str
    src_project: str
    src_rel: str


@dataclass(frozen=True)
class Transfer:
    """A move asked for: a catalogued file to go to another project (nothing moved yet)."""

    source: str
    project: str
    src_source: str
    src_project: str
    src_rel: str
    blake3: str


Arrival = Upload | Drop | Rename | Transfer


@dataclass(frozen=True)
class Facts:
    """What the catalog (and the disk, through the verdicts) says about an arrival."""

    copies: tuple[Known, ...] = ()  # rows of the arrival's bytes in its source
    here: Known | None = None  # the row at the arrival's path (a drop, a rename's target)
    moving: Known | None = None  # the row a rename or a transfer carries


@dataclass(frozen=True)
class Decision:
    """What to record. ``rel_path`` None: an upload still to be placed (or a transfer still
    to be moved); ``uploaded_at``/``tags`` None: now / none."""

    kind: Kind
    project: str
    rel_path: str | None
    origin: Origin
    uploaded_at: str | None = None
    tags: tuple[str, ...] | None = None
    duplicate_of: str | None = None
    carry: Known | None = None  # the row whose identity comes here
    replaces: Known | None = None  # the row at the path, taken over
    forget: tuple[Known, ...] = ()  # rows of the project whose file is gone, to drop


def _place(known: Known) -> Place:
    return known.source, known.project, known.rel_path


def _live_copy(facts: Facts, source: str, project: str, besides: set[Place]) -> Known | None:
    """A copy proven live in the project outside ``besides``: an original before a copy itself
    flagged a duplicate, else the oldest."""
    live = [
        c
        for c in facts.copies
        if (c.source, c.project) == (source, project)
        and c.verdict is Verdict.LIVE
        and _place(c) not in besides
    ]
    live.sort(key=lambda c: c.duplicate_of is not None)
    return live[0] if live else None


def _gone(facts: Facts, source: str, project: str, besides: set[Place]) -> list[Known]:
    """Rows of the bytes in the source whose file is gone: the project's first, then the
    oldest upload."""
    gone = [
        c
        for c in facts.copies
        if c.source == source and c.verdict is Verdict.GONE and _place(c) not in besides
    ]
    gone.sort(key=lambda c: (c.project != project, c.uploaded_at, c.project, c.rel_path))
    return gone


def _forget(gone: list[Known], project: str, kept: Known | None) -> tuple[Known, ...]:
    return tuple(c for c in gone if c.project == project and c != kept)


def _duplicate(live: Known, project: str, forget: tuple[Known, ...]) -> Decision:
    """Bytes the project holds live arrive again (upload or transfer): nothing is written but
    the gone rows forgotten; the answer names the live copy."""
    return Decision(
        Kind.DUPLICATE,
        project,
        live.rel_path,
        live.origin,
        live.uploaded_at,
        live.tags,
        duplicate_of=live.rel_path,
        forget=forget,
    )


def _upload(arrival: Upload, facts: Facts) -> Decision:
    source, project = arrival.source, arrival.project
    gone = _gone(facts, source, project, set())
    live = _live_copy(facts, source, project, set())
    if live is not None:
        return _duplicate(live, project, _forget(gone, project, None))
    if gone:
        carried = gone[0]
        return Decision(
            Kind.RESTORED,
            project,
            None,
            carried.origin,
            carried.uploaded_at,
            carried.tags,
            carry=carried,
            forget=_forget(gone, project, carried),
        )
    return Decision(Kind.NEW, project, None, Origin.UPLOAD)


def _drop(arrival: Drop, facts: Facts) -> Decision:
    source, project, here = arrival.source, arrival.project, facts.here
    place = {(source, project, arrival.rel_path)}
    if here is not None and here.blake3 == arrival.blake3:
        return Decision(
            Kind.UNCHANGED,
            project,
            arrival.rel_path,
            here.origin,
            here.uploaded_at,
            here.tags,
            replaces=here,
        )
    live = _live_copy(facts, source, project, place)
    duplicate_of = live.rel_path if live is not None else None
    gone = _gone(facts, source, project, place)
    if gone:  # a move the watcher missed: the gone row's identity comes here
        carried = gone[0]
        return Decision(
            Kind.MOVED,
            project,
            arrival.rel_path,
            carried.origin,
            carried.uploaded_at,
            carried.tags,
            duplicate_of=duplicate_of,
            carry=carried,
            replaces=here,
        )
    hint = arrival.hint or Hint()
    origin, uploaded_at, tags = arrival.origin, hint.uploaded_at, hint.tags
    if here is not None:  # other bytes at a catalogued path: the row keeps its history
        origin, uploaded_at, tags = here.origin, here.uploaded_at, here.tags
    return Decision(
        Kind.DUPLICATE if live is not None else Kind.NEW,
        project,
        arrival.rel_path,
        origin,
        uploaded_at,
        tags,
        duplicate_of=duplicate_of,
        replaces=here,
    )


def _rename(arrival: Rename, facts: Facts) -> Decision:
    moving = facts.moving
    if moving is None:  # nothing catalogued there (any more): nothing to carry
        return Decision(Kind.UNCHANGED, arrival.project, arrival.rel_path, Origin.DROP)
    target = (arrival.source, arrival.project, arrival.rel_path)
    besides = {target, _place(moving)}
    live = _live_copy(facts, arrival.source, arrival.project, besides)
    here = facts.here if facts.here is not None and _place(facts.here) != _place(moving) else None
    return Decision(
        Kind.RENAMED,
        arrival.project,
        arrival.rel_path,
        moving.origin,
        moving.uploaded_at,
        moving.tags,
        duplicate_of=live.rel_path if live is not None else None,
        carry=moving,
        replaces=here,
    )


def _transfer(arrival: Transfer, facts: Facts) -> Decision:
    leaving = {(arrival.src_source, arrival.src_project, arrival.src_rel)}
    source, project = arrival.source, arrival.project
    forget = _forget(_gone(facts, source, project, leaving), project, None)
    live = _live_copy(facts, source, project, leaving)
    if live is not None:
        return _duplicate(live, project, forget)
    moving = facts.moving
    if moving is None:  # not catalogued (any more): the file goes there as new bytes
        return Decision(Kind.NEW, project, None, Origin.DROP, forget=forget)
    return Decision(
        Kind.MOVED,
        project,
        None,
        moving.origin,
        moving.uploaded_at,
        moving.tags,
        carry=moving,
        forget=forget,
    )


def decide(arrival: Arrival, facts: Facts) -> Decision:
    """What ``arrival`` is, given ``facts`` (total: every arrival and facts get a decision)."""
    if isinstance(arrival, Upload):
        return _upload(arrival, facts)
    if isinstance(arrival, Drop):
        return _drop(arrival, facts)
    if isinstance(arrival, Rename):
        return _rename(arrival, facts)
    return _transfer(arrival, facts)
