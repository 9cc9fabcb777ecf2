"""The page's resumable uploads in a real headless Chromium against a real server: the pre-check
skips what the project has, tus-js-client (vendored) resumes after dropped connections and after
a reload, and the rows show percent, speed and time left."""

from __future__ import annotations

import base64
import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_jpeg, noise
from tests.support.api import create_project, listing, upload
from tests.support.browser import Tab, new_tab
from tests.support.server import REPO, LiveServer, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser

KIB = 1024
MIB = 1024 * KIB
CHUNK = 256 * KIB  # small PATCHes keep the tests fast and give them many offsets to cut at
VENDOR = REPO / "web" / "vendor" / "tus-js-client"
THROTTLED = {
    "offline": False,
    "latency": 0,
    "downloadThroughput": -1,
    "uploadThroughput": 1_000_000,
}
OPEN = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
CREATION = re.compile(r"/api/projects/[^/]+/uploads(\?|$)")
UPLOAD_URL = re.compile(r"/api/projects/[^/]+/uploads/[^/?]+")


@dataclass
class Wire:
    """Every request the page made: (method, url, headers)."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def creations(self, since: int = 0) -> list[dict[str, str]]:
        return [h for m, u, h in self.requests[since:] if m == "POST" and CREATION.search(u)]

    def calls(self, method: str, since: int = 0) -> list[dict[str, str]]:
        return [h for m, u, h in self.requests[since:] if m == method and UPLOAD_URL.search(u)]

    def urls(self, method: str) -> list[str]:
        return [u for m, u, _ in self.requests if m == method and UPLOAD_URL.search(u)]

    def multipart(self) -> list[str]:
        return [u for m, u, _ in self.requests if m == "POST" and re.search(r"/upload(\?|$)", u)]


def media(path: Path, size: int, seed: int) -> Path:
    """A real JPEG padded after its end marker with random bytes to exactly ``size`` bytes."""
    make_jpeg(path, image=noise((64, 64), seed=seed))
    data = path.read_bytes()
    path.write_bytes(data + random.Random(seed).randbytes(size - len(data)))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filenames(creations: list[dict[str, str]]) -> list[str]:
    """The `filename` each creation request named in its Upload-Metadata."""
    names = []
    for headers in creations:
        pairs = dict(p.split(" ", 1) for p in headers["upload-metadata"].split(","))
        names.append(base64.b64decode(pairs["filename"]).decode())
    return names


def open_page(tab: Tab, project: str, source: str = "") -> Wire:
    """The page on ``project`` with small PATCHes, recording every request."""
    wire = Wire()
    tab.page.add_init_script(f"window.MEDIA_SYNC_UPLOAD_CHUNK = {CHUNK}")
    tab.page.on("request", lambda r: wire.requests.append((r.method, r.url, dict(r.headers))))
    if source:
        tab.page.goto(f"{tab.server.url}/#project={project}&source={source}")
    else:
        tab.page.goto(f"{tab.server.url}/#project={project}")
    tab.page.wait_for_function("document.getElementById('live-text').textContent === 'live'")
    tab.page.wait_for_function(
        f"document.getElementById('upload-project').textContent === {project!r}"
    )
    return wire


def row(name: str) -> str:
    return f"#upload-list li.upload[data-name='{name}']"


def wait_status(tab: Tab, name: str, status: str, timeout: float = 30_000) -> None:
    tab.page.wait_for_selector(f"{row(name)}[data-status={status}]", timeout=timeout)


def throttle(tab: Tab) -> Any:
    cdp = tab.page.context.new_cdp_session(tab.page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", THROTTLED)
    return cdp


def stored_bytes(server: LiveServer, project: str, tab: Tab, name: str) -> str:
    """The sha256 of the file the row says the server stored."""
    path = tab.page.get_attribute(row(name), "data-path")
    assert path, f"{name}: no path on its row"
    return sha256(server.root / project / path)


def test_the_vendored_client_is_pinned_and_served(server: LiveServer, api: httpx.Client) -> None:
    readme = (VENDOR / "README.md").read_text()
    assert readme.startswith("# tus-js-client 4.3.1 (vendored)")
    pinned = re.search(r"`tus\.min\.js` sha256: `([0-9a-f]{64})`", readme)
    assert pinned is not None
    script = (VENDOR / "tus.min.js").read_bytes()
    assert hashlib.sha256(script).hexdigest() == pinned.group(1)
    assert "Copyright (c) 2015 tus - Resumable File Uploads" in (VENDOR / "LICENSE").read_text()
    served = api.get("/public/vendor/tus-js-client/tus.min.js")
    assert served.status_code == 200
    assert served.content == script
    assert "javascript" in served.headers["content-type"]
    index = (REPO / "web" / "index.html").read_text()
    assert '<script defer src="/public/vendor/tus-js-client/tus.min.js"></script>' in index


def test_precheck_skips_files_the_project_has(tab: Tab, api: httpx.Client, tmp_path: Path) -> None:
    project = create_project(api, "Resumable Precheck")
    have = media(tmp_path / "have.jpg", 1 * MIB, seed=1)
    fresh = media(tmp_path / "fresh.jpg", 1 * MIB, seed=2)
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(b"")
    upload(api, project, have)
    wire = open_page(tab, project)
    tab.page.set_input_files("#file-input", [str(have), str(fresh), str(blank)])
    wait_status(tab, "fresh.jpg", "stored")
    wait_status(tab, "have.jpg", "skipped")
    wait_status(tab, "blank.jpg", "refused")
    assert "already there as ingest/originals/have.jpg" in (
        tab.page.text_content(row("have.jpg")) or ""
    )
    refused = tab.page.text_content(f"{row('blank.jpg')} .small")
    assert refused == "not sent: a 0-byte file is never stored"  # the server's reason
    # no upload was created for have.jpg (nor blank.jpg): one pre-check asked about all three
    assert filenames(wire.creations()) == ["fresh.jpg"]
    assert wire.multipart() == []
    checks = [u for m, u, _ in wire.requests if m == "POST" and u.endswith("/upload-check")]
    assert len(checks) == 1
    tab.shot("resumable-precheck")
    assert sorted(item["name"] for item in listing(api, project)) == ["fresh.jpg", "have.jpg"]
    assert stored_bytes(tab.server, project, tab, "fresh.jpg") == sha256(fresh)
    tab.assert_clean()


def test_dropped_connections_resume_the_same_upload(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Resumable Drops")
    clip = media(tmp_path / "drop.jpg", 3 * MIB, seed=3)
    wire = open_page(tab, project)
    dropped: list[int] = []

    def drop(route: Any) -> None:
        request = route.request
        offset = int(request.headers.get("upload-offset", "-1"))
        if request.method == "PATCH" and offset >= MIB and len(dropped) < 2:
            dropped.append(offset)
            route.abort("connectionreset")
        else:
            route.continue_()

    tab.page.route(UPLOAD_URL, drop)
    tab.page.set_input_files("#file-input", str(clip))
    wait_status(tab, "drop.jpg", "stored")
    assert dropped == [MIB, MIB]  # cut twice at the same offset, then it got through
    assert len(wire.creations()) == 1  # one upload, resumed: never created again
    offsets = [int(h["upload-offset"]) for h in wire.calls("PATCH")]
    assert sorted(set(offsets)) == list(range(0, 3 * MIB, CHUNK))
    assert len(wire.calls("HEAD")) == 2  # "where were we?" after each cut
    assert stored_bytes(tab.server, project, tab, "drop.jpg") == sha256(clip)
    assert [e for e in tab.errors if "ERR_CONNECTION_RESET" not in e] == []
    assert not tab.server_errors()


def test_going_offline_pauses_and_coming_back_resumes(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Resumable Offline")
    clip = media(tmp_path / "offline.jpg", 3 * MIB, seed=5)
    wire = open_page(tab, project)
    cdp = throttle(tab)
    tab.page.set_input_files("#file-input", str(clip))
    tab.page.wait_for_function(
        f"Number(document.querySelector({row('offline.jpg')!r}).dataset.offset) >= {MIB}"
    )
    cdp.send("Network.emulateNetworkConditions", {**THROTTLED, "offline": True})
    wait_status(tab, "offline.jpg", "waiting")
    assert tab.page.evaluate("navigator.onLine") is False
    back = len(wire.requests)
    cdp.send("Network.emulateNetworkConditions", OPEN)
    wait_status(tab, "offline.jpg", "stored")
    assert len(wire.creations()) == 1
    assert int(wire.calls("PATCH", since=back)[0]["upload-offset"]) >= MIB  # not from zero
    assert stored_bytes(tab.server, project, tab, "offline.jpg") == sha256(clip)
    assert not tab.server_errors()


def test_a_reload_mid_upload_resumes_from_the_stored_offset(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Resumable Reload")
    clip = media(tmp_path / "reload.jpg", 4 * MIB, seed=4)
    wire = open_page(tab, project)
    throttle(tab)
    page = tab.page
    page.set_input_files("#file-input", str(clip))
    page.wait_for_function(
        f"Number(document.querySelector({row('reload.jpg')!r}).dataset.offset) >= {MIB}"
    )
    page.reload()
    before = len(wire.requests)
    page.wait_for_function("document.getElementById('live-text').textContent === 'live'")
    note = page.text_content("#upload-resume-note") or ""  # the page remembers the upload
    assert page.is_visible("#upload-resume-note") and "reload.jpg (4.0 MB, " in note, note
    page.set_input_files("#file-input", str(clip))  # the person picks the same file again
    page.wait_for_function(
        f"/resum(ing|ed) at \\d+%/.test(document.querySelector({row('reload.jpg')!r}).textContent)"
    )
    shown = page.text_content(row("reload.jpg")) or ""
    tab.shot("resumable-resumed")
    wait_status(tab, "reload.jpg", "stored")
    assert wire.creations(since=before) == []  # the same upload, not a new one
    assert len(wire.creations()) == 1
    first = wire.calls("PATCH", since=before)[0]
    assert int(first["upload-offset"]) >= MIB
    resumed = int(page.get_attribute(row("reload.jpg"), "data-resumed-at") or "0")
    assert resumed == int(first["upload-offset"]) * 100 // (4 * MIB)
    assert f"at {resumed}%" in shown
    assert stored_bytes(tab.server, project, tab, "reload.jpg") == sha256(clip)
    assert not tab.server_errors()


def test_progress_shows_percent_speed_and_time_left(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Resumable Progress")
    clip = media(tmp_path / "slow.jpg", 3 * MIB, seed=6)
    open_page(tab, project)
    throttle(tab)
    page = tab.page
    page.set_input_files("#file-input", str(clip))
    detail = f"{row('slow.jpg')}[data-status=sending] .small"
    page.wait_for_function(f"/ left$/.test(document.querySelector({detail!r})?.textContent || '')")
    text = page.text_content(detail) or ""
    tag = page.text_content(f"{row('slow.jpg')} .tag") or ""
    assert re.fullmatch(r"[\d.]+ [KM]?B of 3\.0 MB · [\d.]+ [KM]?B/s · \d+:\d\d left", text), text
    assert re.fullmatch(r"\d{1,2}%", tag), tag
    tab.shot("resumable-progress")
    wait_status(tab, "slow.jpg", "stored")
    assert page.eval_on_selector(f"{row('slow.jpg')} progress", "p => p.value") == 100
    tab.assert_clean()


def test_without_tus_the_page_falls_back_to_the_plain_upload(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Resumable Fallback")
    photo = media(tmp_path / "plain.jpg", 1 * MIB, seed=7)
    tab.page.route(
        CREATION,
        lambda route: (
            route.fulfill(status=404, body="")
            if route.request.method == "OPTIONS"
            else route.continue_()
        ),
    )
    wire = open_page(tab, project)
    tab.page.set_input_files("#file-input", str(photo))
    wait_status(tab, "plain.jpg", "stored")
    assert wire.creations() == []
    assert len(wire.multipart()) == 1
    assert stored_bytes(tab.server, project, tab, "plain.jpg") == sha256(photo)
    assert not tab.server_errors()


def test_cancel_terminates_the_partial_upload(tab: Tab, api: httpx.Client, tmp_path: Path) -> None:
    project = create_project(api, "Resumable Cancel")
    clip = media(tmp_path / "cancel.jpg", 3 * MIB, seed=8)
    wire = open_page(tab, project)
    throttle(tab)
    page = tab.page
    page.set_input_files("#file-input", str(clip))
    page.wait_for_function(
        f"Number(document.querySelector({row('cancel.jpg')!r}).dataset.offset) >= {MIB // 2}"
    )
    page.click(f"{row('cancel.jpg')} button[aria-label='Cancel upload of cancel.jpg']")
    wait_status(tab, "cancel.jpg", "canceled")
    (url,) = set(wire.urls("PATCH"))
    wait_until(lambda: set(wire.urls("DELETE")) == {url}, 10, what="the tus termination request")
    page.wait_for_function(
        f"document.querySelector({row('cancel.jpg')!r}).textContent.endsWith('the partial upload was removed')",
        timeout=30_000,
    )
    assert api.get(url).status_code == 404
    assert listing(api, project) == []
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []
    assert not tab.server_errors()


def test_an_upload_to_another_source_stays_in_it(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    root = tab.server.root.parent / "archive-root"  # sources live beside the primary root
    root.mkdir()
    spec = {"name": "archive", "root": str(root), "type": "local", "enabled": True}
    added = api.post("/api/sources", json=spec)
    assert added.status_code == 201, added.text
    made = api.post("/api/projects", params={"source": "archive"}, json={"name": "Elsewhere"})
    assert made.status_code == 201, made.text
    project = made.json()["name"]
    clip = media(tmp_path / "away.jpg", 1 * MIB, seed=9)
    wire = open_page(tab, project, source="archive")
    tab.page.set_input_files("#file-input", str(clip))
    wait_status(tab, "away.jpg", "stored")
    creations = [u for m, u, _ in wire.requests if m == "POST" and CREATION.search(u)]
    assert [u.split("?", 1)[1] for u in creations] == ["source=archive"]
    patches = wire.urls("PATCH")
    assert patches and all(u.endswith("?source=archive") for u in patches)
    path = tab.page.get_attribute(row("away.jpg"), "data-path")
    assert path and sha256(root / project / path) == sha256(clip)
    assert not (tab.server.root / project).exists()
    tab.assert_clean()


def test_behind_a_token_the_login_cookie_carries_the_upload(browser: Any, tmp_path: Path) -> None:
    token = "write-token-resumable-0123456789"
    env = {"MEDIA_SYNC_API_TOKEN": token}
    with serving(tmp_path / "projects", tmp_path / "state", args=["--no-watch"], env=env) as live:
        with live.client(headers={"Authorization": f"Bearer {token}"}) as client:
            project = create_project(client, "Behind Login")
        for tab in new_tab(browser, live, viewport={"width": 1280, "height": 900}):
            tab.page.add_init_script(f"window.MEDIA_SYNC_UPLOAD_CHUNK = {CHUNK}")
            tab.page.goto(f"{live.url}/#project={project}")
            tab.page.fill("#login-token", token)
            tab.page.click("#login-submit")
            tab.page.wait_for_function(
                "document.getElementById('live-text').textContent === 'live'"
            )
            clip = media(tmp_path / "locked.jpg", 1 * MIB, seed=10)
            tab.page.set_input_files("#file-input", str(clip))
            wait_status(tab, "locked.jpg", "stored")
            statuses = {(u.split("?")[0].rsplit("/", 1)[-1], s) for u, s, _ in tab.responses}
            assert ("uploads", 201) in statuses  # created through tus with the cookie
            assert stored_bytes(live, project, tab, "locked.jpg") == sha256(clip)
            tab.errors[:] = [e for e in tab.errors if "401" not in e]  # before the login
            tab.assert_clean()
