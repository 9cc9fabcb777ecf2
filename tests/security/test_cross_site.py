"""Another web page cannot change media-sync: cross-site writes are 403, non-JSON bodies to JSON
endpoints are 415, and GET /reindex moves nothing when an `<img>` on another site asks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import jpeg_bytes, make_jpeg
from tests.security.conftest import BACKGROUND
from tests.support.api import assert_error, create_project
from tests.support.files import tree
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

EVIL = "http://evil.example"
# What browsers send with a form post from another site: both headers, or only one of them
# (Origin alone: Safari before 16.4; Sec-Fetch-Site alone would be a browser hiding Origin).
BROWSERS = {
    "chrome": {"Origin": EVIL, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
    "origin-only": {"Origin": EVIL},
    "fetch-site-only": {"Sec-Fetch-Site": "cross-site"},
    "same-site": {"Origin": "http://printer.lan:80", "Sec-Fetch-Site": "same-site"},
    "null-origin": {"Origin": "null"},
}


@pytest.fixture(scope="module")
def setup(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A project with a photo, a registered second source, a loose file at the root."""
    tmp = tmp_path_factory.mktemp("media")
    extra = server.root.parent / "extra"
    (extra / "P1-Archive" / "ingest" / "originals").mkdir(parents=True)
    with server.client() as client:
        project = create_project(client, "Target")
        photo = make_jpeg(tmp / "a.jpg", variant=1)
        put = client.put(f"/api/projects/{project}/files/a.jpg", content=photo.read_bytes())
        assert put.status_code == 200, put.text
        added = client.post("/api/sources", json={"name": "extra", "root": str(extra)})
        assert added.status_code == 201, added.text
    make_jpeg(server.root / "loose.jpg", variant=2)
    return {"project": project, "evil_jpeg": jpeg_bytes(variant=3)}


def attacks(project: str, evil_jpeg: bytes) -> dict[str, dict[str, Any]]:
    """What a hostile page can send with a plain HTML form or a no-cors fetch."""
    text = {"Content-Type": "text/plain"}
    return {
        "upload": {
            "method": "POST",
            "url": f"/api/projects/{project}/upload",
            "files": {"file": ("evil.jpg", evil_jpeg, "image/jpeg")},
        },
        "raw-upload": {
            "method": "PUT",
            "url": f"/api/projects/{project}/files/evil.jpg",
            "content": evil_jpeg,
        },
        "create-project": {
            "method": "POST",
            "url": "/api/projects",
            "content": b'{"name": "Pwned", "x": "="}',
            "headers": text,
        },
        "register-source": {
            "method": "POST",
            "url": "/api/sources",
            "data": {"name": "etc", "root": "/etc"},
        },
        "toggle": {"method": "POST", "url": "/api/sources/extra/toggle?enabled=false"},
        "auto-organize": {"method": "POST", "url": "/api/projects/auto-organize"},
        "resolve-open": {
            "method": "POST",
            "url": "/api/resolve/open",
            "content": json.dumps(
                {"project": project, "media_rel_paths": ["ingest/originals/a.jpg"]}
            ).encode(),
            "headers": text,
        },
        "sync-album": {
            "method": "POST",
            "url": f"/api/projects/{project}/sync-album",
            "content": b'{"album_name": "x"}',
            "headers": {"Content-Type": "application/json"},
        },
    }


def state_of(server: LiveServer) -> tuple[Any, ...]:
    with server.client() as client:
        sources = [(s["name"], s["enabled"]) for s in client.get("/api/sources").json()]
        jobs = client.get("/api/resolve/jobs").json()
    return tree(server.root, BACKGROUND), tree(server.root.parent / "extra"), sources, jobs


@pytest.mark.parametrize("browser", sorted(BROWSERS))
def test_cross_site_writes_are_403_and_change_nothing(
    server: LiveServer, setup: dict[str, Any], browser: str
) -> None:
    before = state_of(server)
    with server.client() as client:
        for name, spec in attacks(setup["project"], setup["evil_jpeg"]).items():
            spec = dict(spec)
            headers = {**spec.pop("headers", {}), **BROWSERS[browser]}
            answer = client.request(spec.pop("method"), spec.pop("url"), headers=headers, **spec)
            body = assert_error(answer, 403, "CrossSiteRequest")
            assert "MEDIA_SYNC_CORS_ORIGINS" in str(body["detail"]), name
    assert state_of(server) == before
    assert (server.root / "loose.jpg").is_file()


def test_text_plain_and_form_bodies_to_json_endpoints_are_415(
    server: LiveServer, setup: dict[str, Any]
) -> None:
    """No Origin at all (curl, a script): still no JSON from a form or text/plain body."""
    before = state_of(server)
    project = setup["project"]
    with server.client() as client:
        for url, content, kind in [
            ("/api/projects", b'{"name": "Pwned"}', "text/plain"),
            ("/api/projects", b"name=Pwned", "application/x-www-form-urlencoded"),
            ("/api/sources", b'{"name": "etc", "root": "/etc"}', "text/plain;charset=UTF-8"),
            ("/api/resolve/open", b'{"project": "x"}', "text/plain"),
            (f"/api/projects/{project}/sync-album", b"{}", "text/plain"),
            (f"/api/projects/{project}/media/delete", b'{"relative_paths": []}', None),
        ]:
            headers = {"Content-Type": kind} if kind else {}
            answer = client.post(url, content=content, headers=headers)
            body = assert_error(answer, 415, "UnsupportedMediaType")
            assert "application/json" in str(body["detail"])
    assert state_of(server) == before


def test_the_page_curl_and_shortcut_still_write(server: LiveServer, setup: dict[str, Any]) -> None:
    project = setup["project"]
    page = {"Origin": server.url, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    with server.client() as client:
        made = client.post("/api/projects", json={"name": "From Page"}, headers=page)
        assert made.status_code == 201, made.text
        assert (server.root / made.json()["name"]).is_dir()
        by_curl = client.post("/api/projects", json={"name": "From Curl"})
        assert by_curl.status_code == 201, by_curl.text
        typed = {**page, "Sec-Fetch-Site": "none"}  # a URL typed or bookmarked
        assert client.post("/reindex", headers=typed).status_code == 200
        shortcut = client.post(  # the Shortcut's "Request Body: Form": multipart, no Origin
            f"/api/projects/{project}/upload",
            files={"file": ("shortcut.jpg", jpeg_bytes(variant=4), "image/jpeg")},
        )
        assert shortcut.status_code == 200 and shortcut.json()["status"] == "stored"
        page_upload = client.post(
            f"/api/projects/{project}/upload",
            files={"file": ("page.jpg", jpeg_bytes(variant=5), "image/jpeg")},
            headers=page,
        )
        assert page_upload.status_code == 200, page_upload.text
        raw = client.put(
            f"/api/projects/{project}/files/raw.jpg",
            content=jpeg_bytes(variant=6),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert raw.status_code == 200, raw.text
        album = client.post(f"/api/projects/{project}/sync-album", json={"album_name": "Trip"})
        assert album.status_code == 200, album.text
        empty = client.post("/api/sources/extra/toggle?enabled=true", headers=page)
        assert empty.status_code == 200, empty.text  # no body: no Content-Type needed
    originals = server.root / project / "ingest" / "originals"
    assert {"shortcut.jpg", "page.jpg", "raw.jpg"} <= {p.name for p in originals.iterdir()}


def test_a_cross_site_get_reindex_moves_nothing_and_curl_still_can(server: LiveServer) -> None:
    with server.client() as client:
        project = create_project(client, "Strays")
    stray = make_jpeg(server.root / project / "dropped.jpg", variant=7)
    image = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"}
    old_browser = {"Referer": f"{EVIL}/cats.html"}
    with server.client() as client:
        for headers in (image, old_browser):
            for url in ("/reindex", f"/api/projects/{project}/reindex"):
                for method in ("GET", "POST"):
                    answer = client.request(method, url, headers=headers)
                    assert_error(answer, 403, "CrossSiteRequest")
            assert stray.is_file(), "a refused reindex moved the stray file"
        reads = client.get("/api/projects", headers=image)  # reading is not a state change
        assert reads.status_code == 200
        plain = client.get("/reindex")  # the spec's curl user
        assert plain.status_code == 200, plain.text
        assert plain.json()["relocated"] == 1
    assert not stray.exists()
    assert (server.root / project / "ingest" / "originals" / "dropped.jpg").is_file()
