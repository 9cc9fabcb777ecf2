"""Property and example tests for the pure Range / conditional-request functions in ingress.ranges."""

from __future__ import annotations

from email.utils import formatdate
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingress.ranges import (
    UNSATISFIABLE,
    ByteRange,
    Plan,
    ascii_fallback,
    content_disposition,
    if_range_matches,
    lower_headers,
    make_etag,
    none_match,
    parse_entity_tags,
    parse_http_date,
    parse_range,
    plan_response,
    validators_for,
)

sizes = st.integers(min_value=0, max_value=10**13)
positions = st.integers(min_value=0, max_value=10**14)
MTIME_NS = 1_700_000_000_123_456_789
VALIDATORS = validators_for(1000, MTIME_NS, 42)


@given(size=sizes, first=positions, last=positions)
def test_closed_range_is_a_slice_inside_the_file(size: int, first: int, last: int) -> None:
    start, end = min(first, last), max(first, last)
    got = parse_range(f"bytes={start}-{end}", size)
    if start >= size:
        assert got is UNSATISFIABLE
        return
    assert isinstance(got, ByteRange)
    assert (got.start, got.end) == (start, min(end, size - 1))
    assert 0 <= got.start <= got.end < size
    assert got.length == min(end, size - 1) - start + 1
    assert got.content_range(size) == f"bytes {got.start}-{got.end}/{size}"


@given(size=sizes, start=positions)
def test_open_range_runs_to_the_end(size: int, start: int) -> None:
    got = parse_range(f"bytes={start}-", size)
    if start >= size:
        assert got is UNSATISFIABLE
    else:
        assert got == ByteRange(start, size - 1)


@given(size=sizes, suffix=positions)
def test_suffix_range_is_the_last_bytes(size: int, suffix: int) -> None:
    got = parse_range(f"bytes=-{suffix}", size)
    if suffix == 0 or size == 0:
        assert got is UNSATISFIABLE
        return
    assert isinstance(got, ByteRange)
    assert got.end == size - 1
    assert got.length == min(suffix, size)


@given(size=sizes, first=positions, last=positions)
def test_backwards_range_is_ignored(size: int, first: int, last: int) -> None:
    if first > last:
        assert parse_range(f"bytes={first}-{last}", size) is None


@given(size=sizes, specs=st.lists(st.tuples(positions, positions), min_size=2, max_size=5))
def test_several_ranges_are_ignored(size: int, specs: list[tuple[int, int]]) -> None:
    header = "bytes=" + ", ".join(f"{a}-{b}" for a, b in specs)
    assert parse_range(header, size) is None


range_ish = st.text(alphabet="bytesBYTES=-,0123456789 \t٣x+_", max_size=40)


@given(header=st.one_of(st.text(max_size=60), range_ish), size=sizes)
def test_any_header_never_raises_and_stays_inside(header: str, size: int) -> None:
    got = parse_range(header, size)
    assert got is None or got is UNSATISFIABLE or isinstance(got, ByteRange)
    if isinstance(got, ByteRange):
        assert 0 <= got.start <= got.end < size


@pytest.mark.parametrize(
    "header",
    [
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=1_0-20",
        "bytes=٣-5",
        "bytes=-",
        "bytes=",
        "items=0-1",
        "bytes 0-1",
        "bytes=a-b",
        "bytes=0-1,2-3",
    ],
)
def test_malformed_or_multiple_ranges_mean_whole_file(header: str) -> None:
    assert parse_range(header, 100) is None


def test_range_parsing_details() -> None:
    assert parse_range("BYTES = 5-9 , ", 100) == ByteRange(5, 9)
    assert parse_range("bytes=0-0", 1) == ByteRange(0, 0)
    assert parse_range("bytes=0-", 0) is UNSATISFIABLE
    assert parse_range("bytes=-0", 10) is UNSATISFIABLE
    huge = "9" * 5000
    assert parse_range(f"bytes=0-{huge}", 10) == ByteRange(0, 9)
    assert parse_range(f"bytes={huge}-", 10) is UNSATISFIABLE
    assert parse_range(f"bytes=-{huge}", 10) == ByteRange(0, 9)
    assert parse_range("bytes=" + "0" * 5000 + "3-4", 10) == ByteRange(3, 4)


@given(size=sizes, mtime=st.integers(0, 2**62), inode=st.integers(0, 2**63))
def test_etag_is_strong_quoted_and_changes_with_each_part(
    size: int, mtime: int, inode: int
) -> None:
    etag = make_etag(size, mtime, inode)
    assert etag.startswith('"') and etag.endswith('"') and '"' not in etag[1:-1]
    assert etag != make_etag(size + 1, mtime, inode)
    assert etag != make_etag(size, mtime + 1, inode)
    assert etag != make_etag(size, mtime, inode + 1)
    assert parse_entity_tags(etag) == [(False, etag)]


@given(st.text(max_size=60))
def test_validator_parsers_never_raise(text: str) -> None:
    parse_entity_tags(text)
    parse_http_date(text)
    none_match(text, VALIDATORS.etag)
    if_range_matches(text, VALIDATORS)
    plan_response({"if-none-match": text, "range": text, "if-range": text}, 1000, VALIDATORS)
    plan_response({"if-modified-since": text}, 1000, VALIDATORS)


def test_if_none_match_weak_comparison_and_lists() -> None:
    etag = VALIDATORS.etag
    assert none_match(etag, etag)
    assert none_match(f'"other", W/{etag}', etag)
    assert none_match("*", etag)
    assert not none_match('"other"', etag)
    assert not none_match(etag[1:-1], etag)  # unquoted is malformed


def test_if_range_needs_a_strong_match_or_the_exact_date() -> None:
    assert if_range_matches(VALIDATORS.etag, VALIDATORS)
    assert not if_range_matches(f"W/{VALIDATORS.etag}", VALIDATORS)
    assert not if_range_matches('"other"', VALIDATORS)
    assert if_range_matches(VALIDATORS.last_modified, VALIDATORS)
    assert not if_range_matches(formatdate(VALIDATORS.mtime_s - 1, usegmt=True), VALIDATORS)
    assert not if_range_matches("yesterday", VALIDATORS)


def test_http_dates_in_all_three_formats() -> None:
    expected = 784111777
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == expected
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == expected
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == expected
    assert parse_http_date("not a date") is None


def test_plan_orders_conditions_as_rfc_9110_says() -> None:
    etag, date = VALIDATORS.etag, VALIDATORS.last_modified
    old = formatdate(VALIDATORS.mtime_s - 3600, usegmt=True)
    assert plan_response({}, 1000, VALIDATORS) == Plan(200, 0, 1000)
    assert plan_response({"if-none-match": etag}, 1000, VALIDATORS).status == 304
    # If-None-Match present and not matching: If-Modified-Since is ignored.
    assert plan_response({"if-none-match": '"x"', "if-modified-since": date}, 1000, VALIDATORS) == (
        Plan(200, 0, 1000)
    )
    assert plan_response({"if-modified-since": date}, 1000, VALIDATORS).status == 304
    assert plan_response({"if-modified-since": old}, 1000, VALIDATORS).status == 200
    ranged = {"range": "bytes=10-19"}
    assert plan_response(ranged, 1000, VALIDATORS) == Plan(206, 10, 10, "bytes 10-19/1000")
    assert plan_response({**ranged, "if-range": etag}, 1000, VALIDATORS).status == 206
    assert plan_response({**ranged, "if-range": '"x"'}, 1000, VALIDATORS) == Plan(200, 0, 1000)
    assert plan_response({"range": "bytes=1000-"}, 1000, VALIDATORS) == (
        Plan(416, content_range="bytes */1000")
    )
    assert plan_response({"range": "bytes=1000-", "if-range": old}, 1000, VALIDATORS).status == 200


def test_lower_headers_joins_repeated_fields() -> None:
    joined = lower_headers([("If-None-Match", '"a"'), ("if-none-match", '"b"'), ("Range", "x")])
    assert joined == {"if-none-match": '"a", "b"', "range": "x"}


@given(st.text(max_size=40))
def test_content_disposition_is_ascii_and_round_trips(name: str) -> None:
    header = content_disposition(name)
    header.encode("ascii")
    fallback = ascii_fallback(name)
    assert fallback and all(0x20 <= ord(ch) < 0x7F and ch not in '"\\' for ch in fallback)
    assert header.startswith(f'attachment; filename="{fallback}"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert all(ch.isalnum() or ch in "%!#$&+-.^_`|~" for ch in encoded)
    assert unquote(encoded, errors="strict") == name.encode("utf-8", "replace").decode()


def test_content_disposition_for_a_non_ascii_name() -> None:
    assert content_disposition("Füße clip 🎬.mov") == (
        'attachment; filename="Fu_e clip _.mov"; '
        "filename*=UTF-8''F%C3%BC%C3%9Fe%20clip%20%F0%9F%8E%AC.mov"
    )
    assert ascii_fallback('a"b\\c\r\n') == "a_b_c__"
