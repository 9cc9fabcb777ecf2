"""DNS rebinding: a request naming a foreign `Host` is 421 and nothing echoes that name back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingress.hosts import machine_names
from tests.support.api import ERROR_FIELDS, assert_error, create_project
from tests.support.rawhttp import Answer, connect, read_answer, send_all
from tests.support.server import LiveServer, serving

pytestmark = pytest.mark.e2e


def raw_request(server: LiveServer, request: bytes) -> Answer:
    """Send request bytes as they are (httpx always adds one Host) and read the answer."""
    with connect(server.port) as sock:
        assert send_all(sock, request)
        return read_answer(sock)


def test_a_rebound_name_is_421_saying_what_to_set(server: LiveServer) -> None:
    with server.client() as client:
        create_project(client, "Private")
        for host in (
            "evil.example",
            "evil.example:8787",
            "EVIL.example.",
            "127.0.0.1.evil.example",
        ):
            for method, url in [("GET", "/api/projects"), ("GET", "/health"), ("POST", "/reindex")]:
                answer = client.request(method, url, headers={"Host": host})
                body = assert_error(answer, 421, "MisdirectedRequest")
                assert "MEDIA_SYNC_ALLOWED_HOSTS" in str(body["detail"])
                assert "Private" not in answer.text


def test_ip_local_and_machine_names_are_answered(server: LiveServer) -> None:
    port = server.port
    hosts = [
        f"127.0.0.1:{port}",
        "127.0.0.1",
        f"192.168.0.25:{port}",  # the LAN address a phone uses (any IP literal)
        f"[::1]:{port}",
        f"localhost:{port}",
        "LOCALHOST",
        f"media.localhost:{port}",
        f"nas.local:{port}",
        *(f"{name}:{port}" for name in sorted(machine_names())),
    ]
    with server.client() as client:
        for host in hosts:
            answer = client.get("/api/projects", headers={"Host": host})
            assert answer.status_code == 200, (host, answer.text)
        listed = client.get("/api/projects", headers={"Host": f"nas.local:{port}"}).json()
    assert listed and all(p["upload_url"].startswith(f"http://nas.local:{port}/") for p in listed)


def test_malformed_or_missing_host_is_400(server: LiveServer) -> None:
    with server.client() as client:
        for host in ("bad host", "a:b", "[::1", "[not-ip]:80", "a_b:99999x"):
            answer = client.get("/api/projects", headers={"Host": host})
            assert answer.status_code == 400, (host, answer.text)  # Litestar refuses some first
            assert set(answer.json()) == ERROR_FIELDS
    missing = raw_request(server, b"GET /api/projects HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert missing.status == 400, missing
    twice = b"GET /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n"
    doubled = raw_request(server, twice + b"Connection: close\r\n\r\n")
    assert doubled.status == 400, doubled


@pytest.fixture(scope="module")
def named_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "MEDIA_SYNC_ALLOWED_HOSTS": "media.example, *.home.arpa",
        "MEDIA_SYNC_PUBLIC_URL": "http://nas.example:8787",
    }
    base = tmp_path_factory.mktemp("named")
    with serving(base / "projects", base / "state", args=["--no-watch"], env=env) as live:
        yield live


def test_configured_names_work_and_urls_come_from_the_public_url(named_server: LiveServer) -> None:
    with named_server.client() as client:
        create_project(client, "Shared")
        for host in ("media.example", "MEDIA.example:8787", "nas.example:8787", "box.home.arpa"):
            answer = client.get("/api/projects", headers={"Host": host})
            assert answer.status_code == 200, (host, answer.text)
            urls = [p["upload_url"] for p in answer.json()]
            assert urls and all(u.startswith("http://nas.example:8787/") for u in urls), urls
        assert client.get("/api/projects", headers={"Host": "other.example"}).status_code == 421
