"""Numbers beyond 2^63 in ids, offsets, limits, `since` and `Last-Event-ID` are a 400, never a
500 (sqlite's integers are 64-bit: before, the overflow escaped as an internal error)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import LiveServer, serving

pytestmark = pytest.mark.e2e

TOO_BIG = str(2**63)
HUGE = "9" * 100
ENORMOUS = "9" * 5000  # more digits than Python's int() parses by default
LARGEST = str(2**63 - 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("numbers")
    with serving(base / "projects", base / "state", args=["--no-watch"]) as live:
        yield live


def requests_with(number: str) -> list[tuple[str, str, dict[str, Any]]]:
    jobs = "/api/resolve/jobs"
    return [
        ("GET", f"{jobs}/{number}", {}),
        ("POST", f"{jobs}/{number}/cancel", {}),
        ("POST", f"{jobs}/{number}/heartbeat", {"json": {"claimed_by": "a"}}),
        ("POST", f"{jobs}/{number}/complete", {"json": {}}),
        ("POST", f"{jobs}/{number}/fail", {"json": {"error": "x"}}),
        ("POST", f"{jobs}/{number}/release", {"json": {}}),
        ("GET", jobs, {"params": {"offset": number}}),
        ("GET", jobs, {"params": {"limit": number}}),
        ("POST", f"{jobs}/next", {"params": {"limit": number}}),
        ("GET", "/api/events", {"params": {"since": number}}),
        ("GET", "/api/events", {"headers": {"Last-Event-ID": number}}),
    ]


@pytest.mark.parametrize("number", [TOO_BIG, HUGE], ids=["2^63", "100-digits"])
def test_numbers_beyond_64_bits_are_400(server: LiveServer, number: str) -> None:
    with server.client() as http:
        for method, path, kwargs in requests_with(number):
            response = http.request(method, path, **kwargs)
            assert response.status_code == 400, (method, path[:60], kwargs, response.text)
            body = response.json()
            assert body["status_code"] == 400 and body["detail"], body
    assert "Traceback" not in server.log()


def test_numbers_too_long_to_parse_are_refused(server: LiveServer) -> None:
    """A path segment that is no int at all matches no route (404); elsewhere it is a 400."""
    with server.client() as http:
        for method, path, kwargs in requests_with(ENORMOUS):
            response = http.request(method, path, **kwargs)
            expected = 404 if ENORMOUS in path else 400
            assert response.status_code == expected, (method, path[:60], response.text)
    assert "Traceback" not in server.log()


def test_the_largest_64_bit_number_is_an_ordinary_answer(server: LiveServer) -> None:
    with server.client() as http:
        assert http.get(f"/api/resolve/jobs/{LARGEST}").status_code == 404
        assert http.post(f"/api/resolve/jobs/{LARGEST}/cancel").status_code == 404
        listing = http.get("/api/resolve/jobs", params={"offset": LARGEST, "limit": LARGEST})
        assert listing.status_code == 200
        assert listing.json()["jobs"] == []
        claimed = http.post("/api/resolve/jobs/next", params={"limit": LARGEST})
        assert claimed.status_code == 200 and claimed.json() == {"jobs": []}
        with http.stream("GET", "/api/events", params={"since": LARGEST}) as events:
            assert events.status_code == 200
        resumed = {"Last-Event-ID": "000" + LARGEST}
        with http.stream("GET", "/api/events", headers=resumed) as events:
            assert events.status_code == 200
