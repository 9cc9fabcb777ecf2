"""In a real Chromium: the page logs in to a token-protected server, and a page from another
site (served by a small http.server under the name evil.example) cannot change media-sync."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import API_TOKEN, BACKGROUND, BEARER
from tests.support.api import create_project
from tests.support.browser import chromium, new_tab
from tests.support.files import tree
from tests.support.server import LiveServer, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><title>cute cats</title>
<iframe name="sink" id="sink"></iframe>
<form id="create" method="POST" target="sink" enctype="text/plain"
      action="{server}/api/projects"><input name='{{"name": "Pwned", "x": "' value='"}}'></form>
<script>
  const done = [];
  const mark = (what) => {{ done.push(what); document.title = done.sort().join(","); }};
  document.getElementById("sink").addEventListener("load", () => mark("form"));
  const img = new Image();
  img.onload = img.onerror = () => mark("img");
  img.src = "{server}/reindex";
  const body = new FormData();
  body.append("file", new Blob([new Uint8Array([255, 216, 255, 224, 1, 2, 3])]), "evil.jpg");
  fetch("{server}/api/projects/{project}/upload", {{method: "POST", mode: "no-cors", body}})
    .then(() => mark("upload"), () => mark("upload"));
  fetch("{server}/api/sources/extra/toggle?enabled=false", {{method: "POST", mode: "no-cors"}})
    .then(() => mark("toggle"), () => mark("toggle"));
  document.getElementById("create").submit();
</script>"""


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium that resolves evil.example to this machine, as a DNS record of the attacker's
    would."""
    with chromium("--host-resolver-rules=MAP evil.example 127.0.0.1") as launched:
        yield launched


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[int]:
    """A tiny web server on another port: the attacker's site."""
    handler = partial(Quiet, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="attacker-site")
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_the_page_asks_for_the_token_then_lists_projects(
    browser: Any, token_server: LiveServer
) -> None:
    with token_server.client(headers=BEARER) as client:
        project = create_project(client, "Behind Login")
    for tab in new_tab(browser, token_server, viewport={"width": 1280, "height": 900}):
        tab.page.goto(token_server.url + "/")
        tab.page.wait_for_selector("#login-dialog[open]")
        assert tab.page.locator("#project-list .project-btn").count() == 0
        tab.page.fill("#login-token", "not-the-token-0000")
        tab.page.click("#login-submit")
        tab.page.wait_for_function(
            "/not valid/.test(document.getElementById('login-message').textContent)"
        )
        tab.shot("security-login")
        tab.page.fill("#login-token", API_TOKEN)
        tab.page.click("#login-submit")
        tab.page.wait_for_selector(f"#project-list [data-project='{project}']")
        tab.page.wait_for_function("document.getElementById('live-text').textContent === 'live'")
        assert not tab.page.locator("#login-dialog").evaluate("d => d.open")
        assert tab.page.locator("#logout").is_visible()
        # the copy-paste recipes carry the token where this server needs it
        tab.page.wait_for_function(
            "document.getElementById('help-snippets').textContent"
            ".includes('Authorization: Bearer $TOKEN')"
        )
        assert "?token=<token>" in tab.page.locator("#help-snippets").inner_text()
        cookies = tab.page.context.cookies()
        assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
            ("media_sync_session", True, "Strict")
        ]
        assert tab.page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
        tab.errors[:] = [e for e in tab.errors if "401" not in e]  # the bad token's answer
        tab.assert_clean()


def test_a_page_on_another_site_cannot_change_anything(
    browser: Any, server: LiveServer, attacker: int, tmp_path: Path
) -> None:
    with server.client() as client:
        project = create_project(client, "Victim")
        extra = server.root.parent / "extra-browser"
        extra.mkdir()
        added = client.post("/api/sources", json={"name": "extra", "root": str(extra)})
        assert added.status_code == 201, added.text
    stray = server.root / project / "stray.jpg"
    stray.write_bytes(b"\xff\xd8\xff\xe0 not moved")
    page_html = ATTACK.format(server=server.url, project=project)
    (tmp_path / "cats.html").write_text(page_html)
    before = tree(server.root, BACKGROUND)
    seen: list[tuple[str, int]] = []
    for tab in new_tab(browser, server):
        tab.page.on("response", lambda r: seen.append((r.url, r.status)))
        tab.page.goto(f"http://evil.example:{attacker}/cats.html")
        tab.page.wait_for_function("document.title === 'form,img,toggle,upload'")
        wait_until(  # the <img>: its answer is opaque, the server's log says what it did
            lambda: "cross-site GET /reindex" in server.log(),
            what="the refused <img> GET in the log",
            detail=lambda: server.log()[-2000:],
        )
    to_server = sorted((u.removeprefix(server.url), s) for u, s in seen if u.startswith(server.url))
    assert to_server == [
        ("/api/projects", 403),
        (f"/api/projects/{project}/upload", 403),
        ("/api/sources/extra/toggle?enabled=false", 403),
    ], to_server
    assert tree(server.root, BACKGROUND) == before
    assert stray.is_file()
    with server.client() as client:
        sources = {s["name"]: s["enabled"] for s in client.get("/api/sources").json()}
    assert sources["extra"] is True
