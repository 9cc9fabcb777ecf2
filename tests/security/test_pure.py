"""The guard's pure parts: Host parsing never fails other than as a 400, `?token=` is taken out
of the query and nothing else, and same-origin matching ignores only default ports."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from ingress.guard import same_origin
from ingress.hosts import BadHost, split_host
from ingress.tokens import take_query_token

PARAM = st.text("abcdefgh_=&+%é ", min_size=0, max_size=8)


@given(st.text(max_size=60))
def test_any_host_header_splits_or_is_bad(value: str) -> None:
    try:
        host = split_host(value)
    except BadHost:
        return
    assert ":" not in host or host.count(":") > 1  # only an IPv6 literal keeps colons
    assert host == host.lower()


@given(st.lists(st.tuples(PARAM, PARAM), max_size=5), st.text(min_size=1, max_size=30))
def test_the_query_token_is_taken_and_the_rest_kept(
    params: list[tuple[str, str]], token: str
) -> None:
    others = [(k, v) for k, v in params if k != "token"]
    query = urlencode([*others[:1], ("token", token), *others[1:]]).encode()
    found, rest = take_query_token(query)
    assert found == token
    assert rest == urlencode(others).encode()


def test_same_origin_cases() -> None:
    assert same_origin("http://192.168.0.25:8787", "192.168.0.25:8787")
    assert same_origin("https://media.example", "media.example:443")
    assert same_origin("http://[::1]:8787", "[::1]:8787")
    assert same_origin("HTTP://Media.Example", "media.example")
    assert not same_origin("http://evil.example", "192.168.0.25:8787")
    assert not same_origin("http://192.168.0.25:9999", "192.168.0.25:8787")
    assert not same_origin("null", "192.168.0.25:8787")
    assert not same_origin("file://", "192.168.0.25:8787")
