"""Property tests of the pure reconcile planner (no disk, no catalog)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.watch.plan import (
    Plan,
    ProjectListing,
    Row,
    Seen,
    SourceListing,
    Stat,
    offline_reason,
    plan_source,
    settled,
)

P = "P1-A"
names = st.sampled_from([f"ingest/originals/c{i}.mov" for i in range(12)])
stats = st.builds(
    Stat,
    st.integers(0, 4),
    st.integers(0, 3),
    st.integers(1, 50),
)
catalogs = st.dictionaries(names, stats, max_size=10)
listings = st.dictionaries(names, stats, max_size=10)


def _rows(catalog: dict[str, Stat]) -> dict[str, dict[str, Row]]:
    return {P: {rel: tuple(s) for rel, s in catalog.items()}} if catalog else {}


def _listing(files: dict[str, Stat], top: bool = True) -> SourceListing:
    return SourceListing(
        reachable=True,
        top_names=frozenset({P}) if top else frozenset(),
        projects={P: ProjectListing(originals=files)},
        loose={},
    )


def _apply(catalog: dict[str, Stat], plan: Plan) -> dict[str, Stat]:
    """The catalog state the executor would leave (paths -> stat)."""
    state = dict(catalog)
    for move in plan.renames:
        state.pop(move.src_rel)
        state[move.dst_rel] = move.stat
    for _, rel, stat in plan.ingest:
        state[rel] = stat
    for _, rel in plan.removes:
        state.pop(rel, None)
    return state


def _plan(catalog: dict[str, Stat], files: dict[str, Stat], window: float = 0.0) -> Plan:
    totals = {P: len(catalog)} if catalog else {}
    return plan_source(_listing(files), _rows(catalog), totals, {}, 100.0, window)


@settings(max_examples=300)
@given(catalogs, listings)
def test_applying_the_plan_makes_the_catalog_match_the_listing(catalog, files) -> None:
    plan = _plan(catalog, files)
    assert plan.offline is None
    assert _apply(catalog, plan) == files


@given(catalogs, listings)
def test_unchanged_files_are_never_hashed(catalog, files) -> None:
    plan = _plan(catalog, files)
    same = {rel for rel, s in files.items() if catalog.get(rel) == s}
    assert not same & {rel for _, rel, _ in plan.ingest}
    assert plan.unchanged == len(same)


@given(catalogs, listings)
def test_missing_files_are_removed_or_renamed_never_kept(catalog, files) -> None:
    plan = _plan(catalog, files)
    gone = set(catalog) - set(files)
    accounted = {rel for _, rel in plan.removes} | {m.src_rel for m in plan.renames}
    assert accounted == gone


@given(catalogs, listings)
def test_a_rename_keeps_inode_size_and_mtime(catalog, files) -> None:
    plan = _plan(catalog, files)
    for move in plan.renames:
        assert catalog[move.src_rel] == files[move.dst_rel] == move.stat
        assert move.src_rel not in files and move.dst_rel not in catalog


def test_rename_is_detected_by_inode() -> None:
    stat = Stat(10, 5, 77)
    plan = _plan({"ingest/originals/a.mov": stat}, {"ingest/originals/b.mov": stat})
    assert [(m.src_rel, m.dst_rel) for m in plan.renames] == [
        ("ingest/originals/a.mov", "ingest/originals/b.mov")
    ]
    assert not plan.ingest and not plan.removes


@given(st.integers(20, 200), st.data())
def test_a_nearly_empty_listing_prunes_nothing(total: int, data: st.DataObject) -> None:
    catalog = {f"ingest/originals/f{i}.mov": Stat(1, 1, i + 1) for i in range(total)}
    keep = data.draw(st.integers(0, (total - 1) // 10))
    files = dict(list(catalog.items())[:keep])
    plan = _plan(catalog, files)
    assert plan.offline is not None
    assert not plan.removes and not plan.ingest and not plan.renames


def test_an_unreachable_root_is_offline() -> None:
    listing = SourceListing(reachable=False, error="gone")
    assert offline_reason(listing, {}, {P: 3}) == "gone"
    empty = SourceListing(reachable=True)
    assert offline_reason(empty, {}, {P: 3}) is not None  # root lists nothing at all


def test_unlisted_directories_are_never_pruned() -> None:
    catalog = {"ingest/originals/sub/a.mov": Stat(1, 1, 1), "ingest/originals/b.mov": Stat(1, 1, 2)}
    listing = SourceListing(
        reachable=True,
        top_names=frozenset({P}),
        projects={P: ProjectListing(unlisted=("ingest/originals/sub",))},
    )
    plan = plan_source(listing, _rows(catalog), {P: 2}, {}, 0.0, 0.0)
    assert plan.removes == ((P, "ingest/originals/b.mov"),)


def test_settling_needs_the_same_size_and_mtime_for_the_window() -> None:
    stat = Stat(10, 5, 1)
    ok, seen = settled(None, stat, now=1.0, window=0.5)
    assert not ok and seen == Seen(10, 5, 1.0)
    assert settled(seen, stat, now=1.4, window=0.5)[0] is False
    assert settled(seen, stat, now=1.5, window=0.5)[0] is True
    # Same size, new mtime (a pre-sized file still being written): the clock restarts.
    ok, again = settled(seen, Stat(10, 6, 1), now=2.0, window=0.5)
    assert not ok and again.since == 2.0


def test_new_files_settle_before_ingest_and_strays_before_relocation() -> None:
    listing = SourceListing(
        reachable=True,
        top_names=frozenset({P, "x.mov"}),
        projects={P: ProjectListing(outside={"clip.mov": Stat(1, 1, 9)})},
        loose={"x.mov": Stat(2, 2, 8)},
    )
    first = plan_source(listing, {}, {}, {}, 10.0, 1.0)
    assert not first.relocations and len(first.settling) == 2
    later = plan_source(listing, {}, {}, first.seen, 11.0, 1.0)
    targets = sorted((m.dst_project, m.dst_rel) for m in later.relocations)
    assert targets == [
        (P, "ingest/originals/clip.mov"),
        ("Unsorted-Loose", "ingest/originals/x.mov"),
    ]


def test_a_missing_file_is_held_while_a_same_size_copy_settles() -> None:
    catalog = {"ingest/originals/a.mov": Stat(100, 1, 1)}
    files = {"ingest/originals/b.mov": Stat(100, 9, 2)}
    plan = plan_source(_listing(files), _rows(catalog), {P: 1}, {}, 0.0, 5.0)
    assert plan.held == ((P, "ingest/originals/a.mov"),) and not plan.removes


@given(catalogs, st.booleans())
def test_a_listing_just_as_catalogued_plans_nothing_and_counts_every_file(catalog, plain) -> None:
    """The common pass (nothing changed) in any form a listing holds its stats in."""
    files = {rel: tuple(s) if plain else s for rel, s in catalog.items()}
    plan = _plan(catalog, files)
    assert plan.unchanged == len(catalog) and plan.offline is None
    assert not (plan.ingest or plan.removes or plan.renames or plan.settling or plan.held)


@given(catalogs, listings)
def test_a_listing_of_plain_tuples_plans_as_one_of_stats(catalog, files) -> None:
    plain = {rel: tuple(s) for rel, s in files.items()}
    assert _plan(catalog, plain) == _plan(catalog, files)
