"""The pre-upload check's pure parts: the decision over what the catalog and the disk say, the
request's items checked, and capture times compared (property tests where the rule is general)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.catalog.precheck import Held
from daemon.errors import InvalidInput, PayloadTooLarge
from daemon.ingest.moments import Moment, agrees, parse_moment
from daemon.ingest.precheck import (
    MAX_ITEMS,
    Seen,
    Wanted,
    decide,
    decide_all,
    needed,
    parse_items,
    state_of,
)

NAMES = ("IMG_0001.MOV", "IMG_0002.MOV", "IMG_0003.HEIC")
SIZES = (1000, 2000)
SHAS = ("a" * 64, "b" * 64, "c" * 64)
WHEN = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
STATES = ("live", "gone", "changed")


def held(
    name: str = "IMG_0001.MOV",
    size: int = 1000,
    sha: str = "a" * 64,
    captured: datetime | None = WHEN,
    folder: str = "ingest/originals",
) -> Held:
    stamp_at = captured.isoformat().replace("+00:00", "Z") if captured else None
    return Held(
        f"{folder}/{name}",
        size,
        7,
        8,
        9,
        sha.replace("a", "1").replace("b", "2").replace("c", "3"),
        sha,
        stamp_at,
        "quicktime" if captured else None,
    )


def wanted(
    name: str = "IMG_0001.MOV",
    size: int = 1000,
    sha: str | None = None,
    captured: object = None,
) -> Wanted:
    item: dict[str, object] = {"name": name, "size": size}
    if sha is not None:
        item["sha256"] = sha
    if captured is not None:
        item["captured_at"] = captured
    return parse_items([item])[0]


helds = st.builds(
    held,
    st.sampled_from(NAMES),
    st.sampled_from(SIZES),
    st.sampled_from(SHAS),
    st.sampled_from((WHEN, WHEN + timedelta(hours=1), None)),
    st.sampled_from(("ingest/originals", "ingest/originals/2024")),
)
seens = st.builds(Seen, helds, st.sampled_from(STATES))


def rows(strategy: st.SearchStrategy[Seen] = seens) -> st.SearchStrategy[list[Seen]]:
    """A project's files as the catalog holds them: one row per path."""
    return st.lists(strategy, max_size=12, unique_by=lambda s: s.held.rel_path)


wanteds = st.builds(
    wanted,
    st.sampled_from((*NAMES, "notes.txt")),
    st.sampled_from((0, *SIZES)),
    st.none() | st.sampled_from(SHAS),
    st.none() | st.sampled_from(("2024-05-01T12:30:00+02:00", "2024-05-01 10:30:00", 1714559400)),
)


# -- properties of the decision ----------------------------------------------------------------


@given(st.lists(wanteds, max_size=8), rows())
def test_every_item_is_answered_in_order(items: list[Wanted], seen: list[Seen]) -> None:
    answers = decide_all(items, seen)
    assert [a.name for a in answers] == [i.name for i in items]


@given(st.lists(wanteds, max_size=8), rows())
def test_a_skip_always_names_a_live_copy_of_that_size(
    items: list[Wanted], seen: list[Seen]
) -> None:
    """Never "skip" on a copy that is gone or changed: the bytes must be there."""
    for item, answer in zip(items, decide_all(items, seen), strict=True):
        if answer.decision != "skip" or answer.reason in ("empty", "unsupported"):
            continue
        backing = [s for s in seen if s.held.rel_path == answer.path and s.state == "live"]
        assert backing, (item, answer)
        assert any(s.held.size == item.size for s in backing)
        if item.sha256 is not None:
            assert any(s.held.sha256 == item.sha256 for s in backing)


@given(wanteds, rows())
def test_a_live_copy_of_the_sha256_is_always_skipped(item: Wanted, seen: list[Seen]) -> None:
    answer = decide_all([item], seen)[0]
    live = any(
        s.state == "live" and s.held.sha256 == item.sha256 and s.held.size == item.size
        for s in seen
    )
    if item.sha256 is not None and item.stored_name is not None and item.size:
        assert (answer.reason == "same_content") == live


@given(st.lists(wanteds, max_size=8), rows())
def test_the_files_looked_at_on_disk_are_all_the_decision_needs(
    items: list[Wanted], seen: list[Seen]
) -> None:
    """Only the files ``needed`` picks are lstat-ed: leaving the others out changes no answer;
    and the answers are those of ``decide`` over every file, item by item."""
    picked = needed(items, [s.held for s in seen])
    assert decide_all(items, [s for s in seen if s.held in picked]) == decide_all(items, seen)
    one_by_one = [
        decide(
            item,
            [s for s in seen if s.held.sha256 == item.sha256],
            [s for s in seen if s.held.size == item.size],
        )
        for item in items
    ]
    assert decide_all(items, seen) == one_by_one


@given(wanteds, rows(seens.filter(lambda s: s.state != "live")))
def test_nothing_live_means_upload(item: Wanted, seen: list[Seen]) -> None:
    answer = decide_all([item], seen)[0]
    if item.stored_name is not None and item.size:
        assert answer.decision == "upload"


# -- the rules, one example each ---------------------------------------------------------------


def test_same_content_live_is_skipped_with_its_path() -> None:
    answer = decide(wanted(sha="A" * 64), [Seen(held(name="renamed.MOV"), "live")], [])
    assert answer.body() == {
        "name": "IMG_0001.MOV",
        "decision": "skip",
        "reason": "same_content",
        "path": "ingest/originals/renamed.MOV",
    }


def test_same_content_only_gone_is_uploaded_again() -> None:
    answer = decide(wanted(sha="a" * 64), [Seen(held(), "gone")], [])
    assert (answer.decision, answer.reason) == ("upload", "missing_on_disk")


def test_same_content_changed_on_disk_is_uploaded() -> None:
    answer = decide(wanted(sha="a" * 64), [Seen(held(), "changed")], [])
    assert (answer.decision, answer.reason) == ("upload", "changed_on_disk")


def test_same_name_and_size_with_other_sha256_is_uploaded() -> None:
    sized = [Seen(held(sha="b" * 64), "live")]
    answer = decide(wanted(sha="a" * 64), [], sized)
    assert (answer.decision, answer.reason) == ("upload", "different_content")


def test_name_and_size_without_a_time_is_skipped() -> None:
    answer = decide(wanted(), [], [Seen(held(), "live")])
    assert (answer.decision, answer.reason) == ("skip", "same_name_size")


@pytest.mark.parametrize(
    "captured",
    [
        "2024-05-01T12:30:00+02:00",
        "2024-05-01T10:30:01Z",
        "2024-05-01T10:30:00.400+00:00",
        "2024:05:01 12:30:00",  # EXIF, a wall clock in an unknown zone (here UTC+2)
        "2024-05-01 03:30:00",  # a wall clock seven hours behind
        1714559400,
        1714559400000,  # milliseconds
        "1714559400",
    ],
)
def test_name_size_and_capture_time_in_any_form_are_skipped(captured: object) -> None:
    answer = decide(wanted(captured=captured), [], [Seen(held(), "live")])
    assert (answer.decision, answer.reason) == ("skip", "same_name_size_time")


def test_another_capture_time_is_uploaded() -> None:
    answer = decide(wanted(captured="2024-05-01T10:37:00Z"), [], [Seen(held(), "live")])
    assert answer.body() == {
        "name": "IMG_0001.MOV",
        "decision": "upload",
        "reason": "capture_time_differs",
        "path": "ingest/originals/IMG_0001.MOV",
    }


def _modified(value: str) -> Wanted:
    return parse_items([{"name": "IMG_0001.MOV", "size": 1000, "modified_at": value}])[0]


def test_a_browser_modified_time_confirms_but_never_costs_an_upload() -> None:
    """The page sends File.lastModified as modified_at: agreeing, it confirms the match;
    disagreeing (a file copied or exported later), name and size still decide."""
    live = [Seen(held(), "live")]
    agreeing = decide(_modified("2024-05-01T10:30:00Z"), [], live)
    assert (agreeing.decision, agreeing.reason) == ("skip", "same_name_size_time")
    later = decide(_modified("2025-01-09T08:00:00Z"), [], live)
    assert (later.decision, later.reason) == ("skip", "same_name_size")


def test_a_capture_time_the_catalog_does_not_know_leaves_name_and_size_to_decide() -> None:
    answer = decide(wanted(captured=1714559400), [], [Seen(held(captured=None), "live")])
    assert (answer.decision, answer.reason) == ("skip", "same_name_size")


def test_a_file_renamed_on_the_server_is_found_by_size_and_capture_time() -> None:
    renamed = Seen(held(name="interview-take-1.MOV"), "live")
    answer = decide(wanted(captured="2024-05-01T12:30:00+02:00"), [], [renamed])
    assert answer.body()["reason"] == "same_size_time"
    assert answer.path == "ingest/originals/interview-take-1.MOV"


def test_a_renamed_file_without_a_capture_time_is_uploaded() -> None:
    renamed = Seen(held(name="interview-take-1.MOV"), "live")
    answer = decide(wanted(), [], [renamed])
    assert (answer.decision, answer.reason) == ("upload", "new")


def test_a_catalogued_file_gone_from_disk_is_uploaded() -> None:
    answer = decide(wanted(), [], [Seen(held(), "gone")])
    assert answer.body() == {
        "name": "IMG_0001.MOV",
        "decision": "upload",
        "reason": "missing_on_disk",
        "path": "ingest/originals/IMG_0001.MOV",
    }


def test_empty_and_unsupported_files_are_not_sent() -> None:
    assert decide(wanted(size=0), [], []).reason == "empty"
    refused = decide(wanted(name="notes.txt"), [], [])
    assert (refused.decision, refused.reason) == ("skip", "unsupported")
    assert refused.detail == "'notes.txt' is not a supported media file"


def test_liveness_is_the_recorded_stamp() -> None:
    row = held()
    assert state_of(row, (1000, 7, 8, 9)) == "live"
    assert state_of(row, (1000, 7, 8, 10)) == "changed"  # ctime moved: rewritten in place
    assert state_of(row, None) == "gone"
    unproven = Held(*[*row.__dict__.values()][:4], None, *[*row.__dict__.values()][5:])
    assert state_of(unproven, (1000, 7, 8, 9)) == "changed"


# -- the request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"files": []}, 'send {"items": [{"name": "IMG_0001.MOV", "size": 123456}, ...]}'),
        ([1], "items[0] must be an object {name, size, sha256?, captured_at?}"),
        ([{"size": 1}], "items[0].name must be a non-empty string"),
        ([{"name": "a.mov", "size": "12"}], "items[0].size must be a whole number of bytes"),
        ([{"name": "a.mov", "size": True}], "items[0].size must be a whole number of bytes"),
        ([{"name": "a.mov", "size": -1}], "items[0].size must be a whole number of bytes"),
        ([{"name": "a.mov", "size": 1, "sha256": "xyz"}], "items[0].sha256 must be 64"),
        ([{"name": "a.mov", "size": 1, "captured_at": "yesterday"}], "items[0].captured_at is"),
    ],
)
def test_bad_items_are_refused_naming_the_field(body: object, detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_items(body)
    assert caught.value.detail.startswith(detail)
    assert type(caught.value) is InvalidInput


def test_more_than_the_cap_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        parse_items([{"name": "a.mov", "size": 1}] * (MAX_ITEMS + 1))
    assert caught.value.detail == (
        "10001 items in one check; at most 10000: send the rest in another"
    )


def test_items_come_wrapped_or_bare() -> None:
    item = {"name": "a.mov", "size": 1, "sha256": "AB" * 32}
    assert parse_items({"items": [item]}) == parse_items([item])
    assert parse_items([item])[0].sha256 == "ab" * 32


# -- capture times -----------------------------------------------------------------------------

offsets = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timedelta(minutes=15 * q))
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@given(instants, offsets)
def test_an_instant_agrees_with_itself_in_any_zone(instant: datetime, offset: timedelta) -> None:
    shown = instant.astimezone(timezone(offset))
    assert agrees(Moment(shown), instant)
    assert agrees(parse_moment(shown.isoformat()) or Moment(shown), instant)


@given(instants, offsets)
def test_a_wall_clock_agrees_whatever_its_zone(instant: datetime, offset: timedelta) -> None:
    wall = instant.astimezone(timezone(offset)).replace(tzinfo=None)
    assert agrees(Moment(wall), instant)


@given(instants, st.integers(min_value=3, max_value=897))
def test_a_wall_clock_off_the_quarter_hours_does_not_agree(instant: datetime, off: int) -> None:
    wall = (instant + timedelta(seconds=off)).replace(tzinfo=None)
    assert not agrees(Moment(wall), instant)


def test_an_instant_a_minute_off_does_not_agree() -> None:
    assert not agrees(Moment(WHEN + timedelta(minutes=1)), WHEN)
    assert not agrees(Moment(WHEN + timedelta(hours=1)), WHEN)  # strict: a true instant
    assert agrees(Moment(WHEN + timedelta(hours=1)), WHEN, any_zone=True)


@pytest.mark.parametrize("value", [True, None, [], "2024-13-01T00:00:00Z", "soon", 1e300])
def test_what_is_no_time(value: object) -> None:
    assert parse_moment(value) is None
