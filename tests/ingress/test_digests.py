"""The sha256 an upload's headers announce (X-Content-SHA256, RFC 9530 Repr-Digest and
Content-Digest): read in any form a client may write it, refused when malformed."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.errors import InvalidInput
from ingress.digests import announced_sha256, sha256_of_field

digests = st.binary(min_size=32, max_size=32)
others = st.lists(
    st.tuples(st.sampled_from(["sha-512", "md5", "unixsum"]), st.binary(min_size=1, max_size=64)),
    max_size=3,
)


def member(algorithm: str, raw: bytes) -> str:
    return f"{algorithm}=:{base64.b64encode(raw).decode()}:"


@given(digests, others, st.integers(min_value=0, max_value=3), st.sampled_from([",", ", ", " ,"]))
def test_the_sha256_member_is_found_among_others(
    raw: bytes, rest: list[tuple[str, bytes]], at: int, comma: str
) -> None:
    members = [member(a, r) for a, r in rest]
    members.insert(min(at, len(members)), member("sha-256", raw))
    assert sha256_of_field("Repr-Digest", comma.join(members)) == raw.hex()


@given(others)
def test_a_field_without_sha256_announces_nothing(rest: list[tuple[str, bytes]]) -> None:
    value = ", ".join(member(a, r) for a, r in rest)
    assert announced_sha256({"repr-digest": value}) is None


def test_content_digest_counts_only_where_the_content_is_the_file() -> None:
    headers = {"content-digest": member("sha-256", b"\x01" * 32)}
    assert announced_sha256(headers) is None  # a multipart body is not the file
    assert announced_sha256(headers, content_digest=True) == "01" * 32


def test_agreeing_headers_are_one_digest() -> None:
    headers = {"x-content-sha256": "AB" * 32, "repr-digest": member("sha-256", b"\xab" * 32)}
    assert announced_sha256(headers) == "ab" * 32


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"x-content-sha256": "ab" * 31}, "X-Content-SHA256 must be 64 hexadecimal digits"),
        ({"repr-digest": "sha-256=:!!:"}, "Repr-Digest: write sha-256 as sha-256=:<base64>:"),
        ({"repr-digest": member("sha-256", b"x" * 31)}, "Repr-Digest: sha-256 must be the 32"),
        (
            {"repr-digest": member("sha-256", b"x" * 32) + "," + member("sha-256", b"y" * 32)},
            "Repr-Digest names two different sha-256 digests",
        ),
    ],
)
def test_malformed_digests_are_refused(headers: dict[str, str], detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        announced_sha256(headers)
    assert caught.value.detail.startswith(detail)
