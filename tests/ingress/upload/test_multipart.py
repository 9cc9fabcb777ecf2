"""The incremental multipart parser: chunking never changes the result; bad bodies are InvalidInput."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.errors import InvalidInput
from ingress.multipart import Event, MultipartParser, PartData, PartEnd, PartStart

BOUNDARY = b"boundaryXYZ"
Part = tuple[str, str | None, bytes]

names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
# Data salted with boundary-like sequences that are not the delimiter itself.
tricky = st.sampled_from(
    [b"\r\n--boundar", b"\r\n--", b"--boundaryXY", b"\r\n-", b"\r", b"\n--boundaryXYz"]
)
datas = st.lists(st.one_of(st.binary(max_size=64), tricky), max_size=6).map(b"".join)
parts_strategy = st.lists(
    st.tuples(names, st.one_of(st.none(), names.map(lambda n: n + ".mov")), datas),
    min_size=1,
    max_size=4,
)


def encode(parts: list[Part], boundary: bytes = BOUNDARY) -> bytes:
    body = b"preamble to ignore\r\n"
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += b"--" + boundary + b"\r\n"
        body += f"Content-Disposition: {disposition}\r\n".encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def collect(events: list[Event]) -> list[Part]:
    parts: list[Part] = []
    current: tuple[str, str | None] | None = None
    data = b""
    for event in events:
        if isinstance(event, PartStart):
            assert current is None
            current, data = (event.name, event.filename), b""
        elif isinstance(event, PartData):
            assert current is not None
            data += event.data
        elif isinstance(event, PartEnd):
            assert current is not None
            parts.append((*current, data))
            current = None
    assert current is None
    return parts


def parse(chunks: list[bytes]) -> list[Part]:
    parser = MultipartParser(BOUNDARY)
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    parser.close()
    return collect(events)


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in pairwise(edges)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=parts_strategy, cuts=st.lists(st.integers(min_value=0), max_size=40))
def test_chunking_never_changes_the_parts(parts: list[Part], cuts: list[int]) -> None:
    body = encode(parts)
    whole = parse([body])
    assert whole == parts
    assert parse(split(body, cuts)) == whole


@settings(max_examples=50, deadline=None)
@given(parts=parts_strategy)
def test_byte_at_a_time(parts: list[Part]) -> None:
    body = encode(parts)
    assert parse([body[i : i + 1] for i in range(len(body))]) == parts


def test_boundary_like_data_survives() -> None:
    data = b"head\r\n--boundar\r\n--boundaryXY\r\n--boundaryXZ\r\n--\r\n--boundaryXY"
    assert parse([encode([("file", "a.mov", data)])]) == [("file", "a.mov", data)]


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_garbage_raises_only_invalid_input(body: bytes, cuts: list[int]) -> None:
    try:
        parse(split(b"--" + BOUNDARY + body, cuts))
    except InvalidInput:
        pass


@settings(max_examples=200, deadline=None)
@given(parts=parts_strategy, cut=st.integers(min_value=0), junk=st.binary(max_size=20))
def test_mangled_bodies_raise_only_invalid_input(parts: list[Part], cut: int, junk: bytes) -> None:
    body = encode(parts)
    position = cut % len(body)
    mangled = body[:position] + junk + body[position + len(junk) :]
    try:
        parse([mangled])
    except InvalidInput:
        pass


def test_truncated_body_is_invalid_input() -> None:
    body = encode([("file", "a.mov", b"data" * 10)])
    for end in (0, 10, len(body) // 2, len(body) - 3):
        with pytest.raises(InvalidInput):
            parse([body[:end]])


def test_header_without_colon_is_invalid_input() -> None:
    body = b"--" + BOUNDARY + b"\r\nno colon here\r\n\r\ndata\r\n--" + BOUNDARY + b"--\r\n"
    with pytest.raises(InvalidInput):
        parse([body])


def fixed_chunks(body: bytes, sizes: list[int]) -> list[bytes]:
    chunks, at, i = [], 0, 0
    while at < len(body):
        size = sizes[i % len(sizes)]
        chunks.append(body[at : at + size])
        at, i = at + size, i + 1
    return chunks


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            names, names.map(lambda n: n + ".mov"), st.lists(datas, max_size=8).map(b"".join)
        ),
        min_size=1,
        max_size=3,
    ),
    sizes=st.lists(st.integers(min_value=14, max_value=120), min_size=1, max_size=8),
)
def test_chunks_longer_than_the_delimiter_pass_through_intact(
    parts: list[Part], sizes: list[int]
) -> None:
    """Chunks around the delimiter's length exercise the no-copy path and its fallbacks."""
    body = encode(parts)
    assert parse(fixed_chunks(body, sizes)) == parts


def test_mid_part_chunks_are_views_not_copies() -> None:
    parser = MultipartParser(BOUNDARY)
    head = (
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="file"; filename="a.mov"\r\n\r\n'
    )
    assert [type(e) for e in parser.feed(head)] == [PartStart]
    chunk = bytes(range(256)) * 1024
    events = parser.feed(chunk)
    assert all(isinstance(e, PartData) for e in events)
    views = [e.data for e in events if isinstance(e, PartData) and isinstance(e.data, memoryview)]
    assert views and views[-1].obj is chunk  # the big piece is a window on the fed bytes
    events += parser.feed(chunk)
    events += parser.feed(b"\r\n--" + BOUNDARY + b"--\r\n")
    parser.close()
    assert collect([PartStart("file", "a.mov", None), *events]) == [
        ("file", "a.mov", chunk + chunk)
    ]
