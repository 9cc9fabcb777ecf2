"""The optional token: Bearer, the page's login cookie or `?token=`; a read token only reads."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ingress.tokens import COOKIE
from tests.factories import jpeg_bytes
from tests.security.conftest import API_TOKEN, BACKGROUND, BEARER, READ_TOKEN
from tests.support.api import assert_error, create_project
from tests.support.files import tree
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

READER = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="module")
def project(token_server: LiveServer) -> str:
    with token_server.client(headers=BEARER) as client:
        return create_project(client, "Locked")


def unauthorized(answer: httpx.Response) -> None:
    body = assert_error(answer, 401, "Unauthorized")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in str(body["detail"])


def test_no_token_or_a_wrong_one_is_401(token_server: LiveServer, project: str) -> None:
    before = tree(token_server.root, BACKGROUND)
    wrong = [
        {},
        {"Authorization": "Bearer not-the-token-at-all"},
        {"Authorization": f"Bearer {API_TOKEN}x"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Cookie": f"{COOKIE}={API_TOKEN}"},  # the cookie holds a derived value, not the token
    ]
    with token_server.client() as client:
        for headers in wrong:
            for method, url in [
                ("GET", "/api/projects"),
                ("GET", "/health"),
                ("GET", f"/api/projects/{project}/media"),
                ("GET", "/api/events"),
                ("POST", "/api/projects"),
                ("GET", "/reindex"),
            ]:
                unauthorized(client.request(method, url, headers=headers))
        unauthorized(client.get("/api/projects?token=wrong-token-0123456789"))
    assert tree(token_server.root, BACKGROUND) == before


def test_bearer_query_token_and_open_paths(token_server: LiveServer, project: str) -> None:
    with token_server.client() as client:
        assert client.get("/api/projects", headers=BEARER).status_code == 200
        by_query = client.get(f"/api/projects/{project}/media?token={API_TOKEN}&kind=image")
        assert by_query.status_code == 200, by_query.text
        shortcut = client.post(  # the iPhone Shortcut: ?token= on the upload URL
            f"/api/projects/{project}/upload?token={API_TOKEN}",
            files={"file": ("phone.jpg", jpeg_bytes(variant=11), "image/jpeg")},
        )
        assert shortcut.status_code == 200 and shortcut.json()["status"] == "stored"
        assert API_TOKEN not in shortcut.text  # the token is never echoed into URLs
        for url in ("/healthz", "/", "/public/index.html", "/public/js/login.js", "/api/login"):
            assert client.get(url).status_code == 200, url
        assert client.get("/api/login").json() == {
            "token_required": True,
            "access": "none",
            "instructions": 'Log in: POST /api/login with {"token": "..."}.',
        }
    assert (token_server.root / project / "ingest" / "originals" / "phone.jpg").is_file()


def test_login_cookie_then_logout(token_server: LiveServer, project: str) -> None:
    with token_server.client() as client:
        assert_error(
            client.post("/api/login", json={"token": "nope-nope-nope-nope"}),
            401,
            "NotAuthorizedException",
        )
        assert (
            client.post(
                "/api/login", content=API_TOKEN, headers={"Content-Type": "text/plain"}
            ).status_code
            == 415
        )
        login = client.post("/api/login", json={"token": API_TOKEN})
        assert login.status_code == 200 and login.json()["access"] == "write", login.text
        set_cookie = login.headers["set-cookie"]
        assert set_cookie.startswith(f"{COOKIE}=") and API_TOKEN not in set_cookie
        assert "HttpOnly" in set_cookie and "samesite=strict" in set_cookie.lower(), set_cookie
        assert client.get("/api/projects").status_code == 200  # the cookie rides along
        made = client.post("/api/projects", json={"name": "By Cookie"})
        assert made.status_code == 201, made.text
        assert client.get("/api/login").json()["access"] == "write"
        out = client.post("/api/logout")
        assert out.status_code == 200 and "Max-Age=0" in out.headers["set-cookie"]
        unauthorized(client.get("/api/projects"))


def test_the_read_token_reads_but_cannot_write(token_server: LiveServer, project: str) -> None:
    photo = jpeg_bytes(variant=13)
    with token_server.client(headers=BEARER) as writer:
        put = writer.put(f"/api/projects/{project}/files/w.jpg", content=photo)
        assert put.status_code == 200, put.text
    before = tree(token_server.root, BACKGROUND)
    with token_server.client(headers=READER) as client:
        assert client.get("/api/projects").status_code == 200
        assert client.get(f"/api/projects/{project}/media").status_code == 200
        stream = f"/media/{project}/ingest/originals/w.jpg"
        assert client.head(stream).status_code == 200
        assert client.get(stream).content == photo
        writes: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/api/projects", {"json": {"name": "Nope"}}),
            (
                "POST",
                f"/api/projects/{project}/upload",
                {"files": {"file": ("r.jpg", jpeg_bytes(variant=12))}},
            ),
            ("PUT", f"/api/projects/{project}/files/r.jpg", {"content": b"x"}),
            ("POST", "/api/projects/auto-organize", {}),
            ("GET", "/reindex", {}),
            ("GET", f"/api/projects/{project}/reindex", {}),
        ]
        for method, url, kwargs in writes:
            body = assert_error(client.request(method, url, **kwargs), 403, "ReadOnlyToken")
            assert "read-only" in str(body["detail"])
    with token_server.client() as browser:
        login = browser.post("/api/login", json={"token": READ_TOKEN})
        assert login.status_code == 200 and login.json()["access"] == "read"
        assert browser.get("/api/projects").status_code == 200
        assert_error(browser.post("/api/projects", json={"name": "Nope"}), 403, "ReadOnlyToken")
    assert tree(token_server.root, BACKGROUND) == before


def test_without_a_token_setting_nothing_changes_for_the_lan(server: LiveServer) -> None:
    with server.client() as client:
        assert client.get("/api/projects").status_code == 200
        assert client.get("/api/login").json()["token_required"] is False
        made = client.post("/api/projects", json={"name": "Open LAN"})
        assert made.status_code == 201 and "set-cookie" not in made.headers
