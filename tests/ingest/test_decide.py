"""Property tests of the one ingest decision (pure: arrivals and facts in, a Decision out)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.catalog.values import Origin
from daemon.ingest.decide import (
    Arrival,
    Decision,
    Drop,
    Facts,
    Hint,
    Kind,
    Known,
    Rename,
    Transfer,
    Upload,
    Verdict,
    decide,
)

SOURCES = ("primary", "other")
PROJECTS = ("P1-A", "P2-B")
RELS = tuple(f"ingest/originals/c{i}.mov" for i in range(5))
BYTES = ("x" * 64, "y" * 64)
STAMP = (10, 1, 2, 3)

times = st.sampled_from(("2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-02-03T04:05:06Z"))
tag_sets = st.lists(st.sampled_from(("a", "b", "interview")), unique=True).map(tuple)
origins = st.sampled_from(tuple(Origin))
verdicts = st.sampled_from(tuple(Verdict))


def knowns(source: str, blake3: st.SearchStrategy[str]) -> st.SearchStrategy[Known]:
    return st.builds(
        Known,
        st.just(source),
        st.sampled_from(PROJECTS),
        st.sampled_from(RELS),
        blake3,
        verdicts,
        times,
        tag_sets,
        origins,
        st.none() | st.sampled_from(RELS),
        st.none() | st.just(STAMP),
    )


def _place(known: Known) -> tuple[str, str, str]:
    return known.source, known.project, known.rel_path


@st.composite
def copies_of(draw: st.DrawFn, source: str, blake3: str) -> tuple[Known, ...]:
    """Rows of ``blake3`` in ``source``, one per place (as the catalog holds them)."""
    rows = draw(st.lists(knowns(source, st.just(blake3)), max_size=6))
    unique = {_place(row): row for row in rows}
    return tuple(unique.values())


@st.composite
def uploads(draw: st.DrawFn) -> tuple[Arrival, Facts]:
    source, blake3 = draw(st.sampled_from(SOURCES)), draw(st.sampled_from(BYTES))
    arrival = Upload(source, draw(st.sampled_from(PROJECTS)), "clip.mov", blake3)
    return arrival, Facts(draw(copies_of(source, blake3)))


@st.composite
def drops(draw: st.DrawFn) -> tuple[Arrival, Facts]:
    source, blake3 = draw(st.sampled_from(SOURCES)), draw(st.sampled_from(BYTES))
    project, rel = draw(st.sampled_from(PROJECTS)), draw(st.sampled_from(RELS))
    hint = draw(st.none() | st.builds(Hint, st.none() | times, st.none() | tag_sets))
    arrival = Drop(source, project, rel, blake3, STAMP, draw(origins), hint)
    copies = tuple(
        c for c in draw(copies_of(source, blake3)) if c.rel_path != rel or c.project != project
    )
    here = draw(st.none() | knowns(source, st.sampled_from(BYTES)))
    if here is not None:
        here = Known(source, project, rel, *_tail(here))
        if here.blake3 == blake3:
            copies = (*copies, here)  # a row of the same bytes at the path is one of them
    return arrival, Facts(copies, here)


def _tail(known: Known) -> tuple[object, ...]:
    return (
        known.blake3,
        known.verdict,
        known.uploaded_at,
        known.tags,
        known.origin,
        known.duplicate_of,
        known.stamp,
    )


@st.composite
def renames(draw: st.DrawFn) -> tuple[Arrival, Facts]:
    source, blake3 = draw(st.sampled_from(SOURCES)), draw(st.sampled_from(BYTES))
    project, rel = draw(st.sampled_from(PROJECTS)), draw(st.sampled_from(RELS))
    src_project, src_rel = draw(st.sampled_from(PROJECTS)), draw(st.sampled_from(RELS))
    arrival = Rename(source, project, rel, source, src_project, src_rel)
    moving = draw(st.none() | knowns(source, st.just(blake3)))
    if moving is not None:
        moving = Known(source, src_project, src_rel, *_tail(moving))
    copies = draw(copies_of(source, blake3))
    here = draw(st.none() | knowns(source, st.sampled_from(BYTES)))
    if here is not None:
        here = Known(source, project, rel, *_tail(here))
    return arrival, Facts(copies, here, moving)


@st.composite
def transfers(draw: st.DrawFn) -> tuple[Arrival, Facts]:
    source, src_source = draw(st.sampled_from(SOURCES)), draw(st.sampled_from(SOURCES))
    blake3 = draw(st.sampled_from(BYTES))
    src_project, src_rel = draw(st.sampled_from(PROJECTS)), draw(st.sampled_from(RELS))
    arrival = Transfer(
        source, draw(st.sampled_from(PROJECTS)), src_source, src_project, src_rel, blake3
    )
    moving = draw(st.none() | knowns(src_source, st.just(blake3)))
    if moving is not None:
        moving = Known(src_source, src_project, src_rel, *_tail(moving))
    return arrival, Facts(draw(copies_of(source, blake3)), None, moving)


arrivals = st.one_of(uploads(), drops(), renames(), transfers())

ALLOWED = {
    Upload: {Kind.NEW, Kind.DUPLICATE, Kind.RESTORED},
    Drop: {Kind.NEW, Kind.DUPLICATE, Kind.MOVED, Kind.UNCHANGED},
    Rename: {Kind.RENAMED, Kind.UNCHANGED},
    Transfer: {Kind.NEW, Kind.DUPLICATE, Kind.MOVED},
}


def _own(arrival: Arrival) -> set[tuple[str, str, str]]:
    """The places an arrival itself occupies or leaves (never a copy of itself)."""
    places = set()
    if isinstance(arrival, Drop | Rename):
        places.add((arrival.source, arrival.project, arrival.rel_path))
    if isinstance(arrival, Rename | Transfer):
        places.add((arrival.src_source, arrival.src_project, arrival.src_rel))
    return places


def _live_elsewhere(arrival: Arrival, facts: Facts) -> list[Known]:
    return [
        c
        for c in facts.copies
        if (c.source, c.project) == (arrival.source, arrival.project)
        and c.verdict is Verdict.LIVE
        and _place(c) not in _own(arrival)
    ]


@given(arrivals)
def test_every_arrival_gets_a_decision_of_its_kind(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    assert isinstance(decision, Decision)
    assert decision.kind in ALLOWED[type(arrival)]
    assert decision.project == arrival.project


@given(arrivals)
def test_a_duplicate_names_a_copy_proven_live_in_the_project(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    live = _live_elsewhere(arrival, facts)
    if decision.duplicate_of is not None:
        assert decision.duplicate_of in {c.rel_path for c in live}
    if not live:  # gone, changed or unproven copies never make one
        assert decision.kind is not Kind.DUPLICATE and decision.duplicate_of is None
    elif isinstance(arrival, Upload | Transfer):
        assert decision.kind is Kind.DUPLICATE


@given(arrivals)
def test_a_carried_identity_keeps_its_history(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    if decision.kind in (Kind.RESTORED, Kind.MOVED, Kind.RENAMED) and decision.carry is not None:
        carried = decision.carry
        assert (decision.uploaded_at, decision.tags, decision.origin) == (
            carried.uploaded_at,
            carried.tags,
            carried.origin,
        )
    if decision.kind in (Kind.RESTORED, Kind.RENAMED) or (
        decision.kind is Kind.MOVED and isinstance(arrival, Drop)
    ):
        assert decision.carry is not None


@given(st.one_of(uploads(), drops()))
def test_only_a_row_whose_file_is_gone_is_carried_by_content(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    if decision.carry is not None:
        assert decision.carry.verdict is Verdict.GONE
        assert decision.carry.source == arrival.source
    gone = [c for c in facts.copies if c.verdict is Verdict.GONE and _place(c) not in _own(arrival)]
    if isinstance(arrival, Upload):
        expected = Kind.RESTORED if gone and not _live_elsewhere(arrival, facts) else None
        assert expected is None or decision.kind is expected


@given(arrivals)
def test_only_gone_rows_of_the_project_are_forgotten(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    for row in decision.forget:
        assert row.verdict is Verdict.GONE and row in facts.copies
        assert (row.source, row.project) == (arrival.source, arrival.project)
        assert row != decision.carry and _place(row) not in _own(arrival)


@given(drops())
def test_a_drop_is_unchanged_exactly_when_its_path_holds_its_bytes(
    case: tuple[Arrival, Facts],
) -> None:
    arrival, facts = case
    assert isinstance(arrival, Drop)
    decision = decide(arrival, facts)
    same = facts.here is not None and facts.here.blake3 == arrival.blake3
    assert (decision.kind is Kind.UNCHANGED) == same
    if decision.kind in (Kind.NEW, Kind.DUPLICATE):
        source = facts.here or arrival.hint or Hint()
        assert decision.uploaded_at == source.uploaded_at
        assert decision.tags == source.tags
        assert decision.rel_path == arrival.rel_path


@given(renames())
def test_a_rename_carries_the_row_it_left_or_nothing(case: tuple[Arrival, Facts]) -> None:
    arrival, facts = case
    decision = decide(arrival, facts)
    assert (decision.kind is Kind.RENAMED) == (facts.moving is not None)
    assert decision.carry == facts.moving


def test_a_reupload_of_a_hand_moved_clip_is_restored_with_its_history() -> None:
    gone = Known(
        "primary", "P1-A", RELS[0], BYTES[0], Verdict.GONE, "2023-05-06T07:08:09Z", ("kept",)
    )
    decision = decide(Upload("primary", "P1-A", "clip.mov", BYTES[0]), Facts((gone,)))
    assert decision.kind is Kind.RESTORED and decision.carry == gone
    assert (decision.uploaded_at, decision.tags) == ("2023-05-06T07:08:09Z", ("kept",))
    assert decision.forget == ()


def test_a_dropped_copy_of_live_bytes_is_flagged_not_skipped() -> None:
    live = Known("primary", "P1-A", RELS[0], BYTES[0], Verdict.LIVE, "2024-01-01T00:00:00Z")
    gone = Known("primary", "P1-A", RELS[2], BYTES[0], Verdict.GONE, "2024-01-01T00:00:00Z")
    drop = Drop("primary", "P1-A", RELS[1], BYTES[0], STAMP)
    assert decide(drop, Facts((live,))).kind is Kind.DUPLICATE
    assert decide(drop, Facts((live,))).duplicate_of == RELS[0]
    moved = decide(drop, Facts((live, gone)))  # a missed move of the gone one, still a copy
    assert (moved.kind, moved.carry, moved.duplicate_of) == (Kind.MOVED, gone, RELS[0])
    unproven = Known("primary", "P1-A", RELS[0], BYTES[0], Verdict.UNPROVEN, "x")
    assert decide(drop, Facts((unproven,))).kind is Kind.NEW
