"""Gathering a decision's facts: the catalog rows of some arrivals' bytes, proven on disk, in a view.

Twice per batch: first outside any write transaction (``prove_rows``: a copy whose stamp moved
is re-hashed, which can take minutes), then inside it (``View.load``: nothing is hashed; a copy
counts LIVE only while it still carries the stamp it was proven or recorded at, GONE only when
it was missing both times). The view then keeps itself current as the batch's decisions are
applied, so the tenth drop of a batch sees what the first nine did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daemon.catalog import Catalog, intake
from daemon.catalog.intake import FileFacts
from daemon.catalog.values import Origin
from daemon.ingest.decide import (
    Arrival,
    Decision,
    Drop,
    Facts,
    Known,
    Place,
    Rename,
    Transfer,
    Verdict,
)
from daemon.ingest.liveness import GONE, Proof, Stamp, current_stamp, prove
from daemon.tags import load_tags

StampAt = Callable[[Place], Stamp | None]  # the current stamp of a place (None: no file)
Roots = Mapping[str, Path]  # source name -> root


def stamps_under(roots: Roots) -> StampAt:
    """Current stamps of places under the sources' roots (lstat: a symlink is no copy)."""

    def stamp_at(place: Place) -> Stamp | None:
        source, project, rel_path = place
        return current_stamp(roots[source] / project / rel_path)

    return stamp_at


@dataclass
class Proofs:
    """Copies proven outside the write transaction."""

    proven: dict[Place, Stamp] = field(default_factory=dict)  # holds its bytes at that stamp
    gone: set[Place] = field(default_factory=set)
    changed: dict[Place, Proof] = field(default_factory=dict)  # holds other bytes now


def _place(row: FileFacts | Known) -> Place:
    return row.source, row.project, row.rel_path


def leaving(arrival: Arrival) -> Place | None:
    """The place a move leaves."""
    if isinstance(arrival, Rename | Transfer):
        return arrival.src_source, arrival.src_project, arrival.src_rel
    return None


def arriving(arrival: Arrival) -> Place | None:
    """The place a drop or a rename arrives at (an upload's or a transfer's is not known yet)."""
    if isinstance(arrival, Drop | Rename):
        return arrival.source, arrival.project, arrival.rel_path
    return None


def _bytes_of(arrival: Arrival, at: Mapping[Place, FileFacts]) -> str | None:
    if isinstance(arrival, Rename):
        row = at.get((arrival.src_source, arrival.src_project, arrival.src_rel))
        return row.blake3 if row is not None else None
    return arrival.blake3


def read(catalog: Catalog, arrivals: Sequence[Arrival]) -> tuple[list[FileFacts], list[FileFacts]]:
    """The rows at the places the arrivals come from or go to, and every row of their sources
    holding their bytes."""
    places = {p for a in arrivals for p in (leaving(a), arriving(a)) if p is not None}
    by_source: dict[str, set[tuple[str, str]]] = {}
    for source, project, rel in places:
        by_source.setdefault(source, set()).add((project, rel))
    at = [row for s, wanted in by_source.items() for row in intake.rows_at(catalog, s, wanted)]
    rows = {_place(row): row for row in at}
    contents: dict[str, set[str]] = {}
    for arrival in arrivals:
        blake3 = _bytes_of(arrival, rows)
        if blake3 is not None:
            contents.setdefault(arrival.source, set()).add(blake3)
    holding = [
        row for s, blake3s in contents.items() for row in intake.rows_holding(catalog, s, blake3s)
    ]
    return at, holding


def wanted(arrivals: Iterable[Arrival], at: Iterable[FileFacts]) -> set[tuple[str, str, str]]:
    """The (source, project, blake3) whose live copies could make an arrival a duplicate."""
    rows = {_place(row): row for row in at}
    found = set()
    for arrival in arrivals:
        blake3 = _bytes_of(arrival, rows)
        if blake3 is not None:
            found.add((arrival.source, arrival.project, blake3))
    return found


def prove_rows(
    rows: Iterable[FileFacts], pairs: set[tuple[str, str, str]], roots: Roots, stamp_at: StampAt
) -> Proofs:
    """Outside the write transaction: per wanted (source, project, blake3), copies are proven
    until one holds the bytes (re-hashed when its stamp moved); every other row is only
    looked at (is its file there?)."""
    proofs = Proofs()
    settled: set[tuple[str, str, str]] = set()
    for row in rows:
        place = _place(row)
        now = stamp_at(place)
        if now is None:
            proofs.gone.add(place)
            continue
        pair = (row.source, row.project, row.blake3)
        if pair not in pairs or pair in settled:
            continue
        if now == row.stamp:
            proofs.proven[place] = now
            settled.add(pair)
            continue
        proof = prove(roots[row.source] / row.project / row.rel_path, row.stamp, row.blake3)
        if proof.live and proof.stamp is not None:
            proofs.proven[place] = proof.stamp
            settled.add(pair)
        elif proof.verdict == GONE:
            proofs.gone.add(place)
        else:
            proofs.changed[place] = proof
    return proofs


def known(row: FileFacts, verdict: Verdict) -> Known:
    """A row as the decision sees it."""
    return Known(
        row.source,
        row.project,
        row.rel_path,
        row.blake3,
        verdict,
        row.uploaded_at,
        tuple(load_tags(row.tags)),
        Origin(row.origin),
        row.duplicate_of,
        row.stamp,
    )


class View:
    """The rows a batch decides on, with verdicts, kept current as decisions are applied."""

    def __init__(self) -> None:
        self.by_place: dict[Place, Known] = {}
        self.by_content: dict[str, dict[Place, Known]] = {}
        self.restamps: list[tuple[Place, Stamp]] = []  # proven at a stamp not yet recorded

    @classmethod
    def load(
        cls,
        at: Iterable[FileFacts],
        holding: Iterable[FileFacts],
        proofs: Proofs,
        stamp_at: StampAt,
    ) -> View:
        """Inside the write transaction, from rows read in it: verdicts by stamp only."""
        view = cls()
        for row in at:
            view._add(known(row, Verdict.UNPROVEN))
        for row in holding:
            view._add(known(row, view._verdict(row, proofs, stamp_at)))
        return view

    def _verdict(self, row: FileFacts, proofs: Proofs, stamp_at: StampAt) -> Verdict:
        place = _place(row)
        now = stamp_at(place)
        if now is None:
            return Verdict.GONE if place in proofs.gone else Verdict.UNPROVEN
        if place in proofs.changed:
            return Verdict.CHANGED
        if now == row.stamp:
            return Verdict.LIVE
        if now == proofs.proven.get(place):
            self.restamps.append((place, now))
            return Verdict.LIVE
        return Verdict.UNPROVEN

    def _add(self, row: Known) -> None:
        place = _place(row)
        self.forget(place)
        self.by_place[place] = row
        self.by_content.setdefault(row.blake3, {})[place] = row

    def forget(self, place: Place) -> None:
        """A row dropped by the batch."""
        old = self.by_place.pop(place, None)
        if old is not None:
            self.by_content.get(old.blake3, {}).pop(place, None)

    def facts(self, arrival: Arrival) -> Facts:
        """What the view says about ``arrival`` now."""
        left = leaving(arrival)
        moving = self.by_place.get(left) if left is not None else None
        if isinstance(arrival, Rename):
            blake3 = moving.blake3 if moving is not None else None
        else:
            blake3 = arrival.blake3
        held = self.by_content.get(blake3, {}) if blake3 is not None else {}
        copies = tuple(row for row in held.values() if row.source == arrival.source)
        at = arriving(arrival)
        return Facts(copies, self.by_place.get(at) if at is not None else None, moving)

    def applied(self, decision: Decision, placed: Known) -> None:
        """Record in the view the row ``decision`` put at its place (and carried away from
        where it was)."""
        if decision.carry is not None:
            self.forget(_place(decision.carry))
        self._add(placed)
