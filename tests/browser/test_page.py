"""The adapter page in a real headless Chromium against a real server: what a person does with it."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_jpeg, make_video, noise
from tests.support.api import create_project, listing, upload
from tests.support.browser import Tab
from tests.support.server import LiveServer

pytestmark = pytest.mark.browser


def sync_api_error() -> type[Exception]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    return PlaywrightTimeout


FINISHED = "document.querySelectorAll('#upload-list li[data-status=stored], #upload-list li[data-status=duplicate]').length === 2"


def _next_name(api: httpx.Client, label: str) -> str:
    numbers = [
        int(m.group(1))
        for p in api.get("/api/projects").json()
        if (m := re.match(r"P(\d+)-", p["name"]))
    ]
    return f"P{max(numbers, default=0) + 1}-{label}"


def _thumbnail_state(tab: Tab, selector: str) -> str:
    """Wait until the card's thumbnail settled: 'ok' (drawn) or 'missing' (kind icon shown)."""
    tab.page.wait_for_function(
        "s => { const c = document.querySelector(s); return c && c.dataset.thumb; }", arg=selector
    )
    state: str = tab.page.eval_on_selector(selector, "c => c.dataset.thumb")
    return state


def _copy_into(server: LiveServer, project: str, source: Path) -> Path:
    """Put a file on the share the way a person would: written elsewhere, then moved in."""
    target = server.root / project / "ingest" / "originals" / source.name
    shutil.move(str(source), str(target))
    return target


def _require_thumbnail(tab: Tab, selector: str) -> None:
    """The card shows its thumbnail; a server that made none fails the test too."""
    if _thumbnail_state(tab, selector) == "ok":
        return
    broken = tab.broken_thumbnails()
    assert not broken, f"the server made no thumbnail: {broken[-1]}"
    raise AssertionError("the server made the thumbnail but the page shows the kind icon")


def test_create_project_upload_stored_and_duplicate_with_progress(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    expected = _next_name(api, "Browser-Upload")
    tab.open()
    page = tab.page
    # /api/sources (a JSON list) fills the source picker and the sources panel.
    page.wait_for_selector("#source-select option[value=primary]", state="attached")
    assert "primary" in (page.text_content("#source-list") or "")
    assert page.is_hidden("#registry-error")  # /health.registry_error is null
    page.fill("#new-name", "Browser Upload")
    assert page.text_content("#rule-example-out") == expected  # the P{n}- rule, next to the input
    page.click("#create-form button[type=submit]")
    page.wait_for_selector(f"#project-list button[data-project='{expected}'][aria-current=true]")
    assert f"#project={expected}" in page.url
    assert page.evaluate("localStorage.getItem('media-sync.selection')").count(expected) == 1
    assert page.text_content("#create-message") == f"Created {expected}."

    first = make_jpeg(tmp_path / "first.jpg", image=noise((900, 900)), quality=95)  # ~1 MB
    content = first.read_bytes()
    (tmp_path / "second.jpg").write_bytes(content)  # the same footage under another name
    (tmp_path / "notes.txt").write_text("not media")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_500_000},
    )
    page.set_input_files(
        "#file-input",
        [str(tmp_path / "first.jpg"), str(tmp_path / "second.jpg"), str(tmp_path / "notes.txt")],
    )
    # the text of the row that shows its time left (two files are sent at once: read that one)
    progress = page.wait_for_function(
        "[...document.querySelectorAll('#upload-list li[data-status=sending] .small')]"
        ".map(d => d.textContent).find(t => / left$/.test(t))"
    ).json_value()
    assert re.search(r"of .* · .*/s · \d+:\d\d left", progress), progress
    tab.shot("upload-progress")
    page.wait_for_function(FINISHED, timeout=30_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    rows = page.eval_on_selector_all(
        "#upload-list li.upload",
        "rs => rs.map(r => [r.dataset.name, r.dataset.status, r.querySelector('progress').value, r.textContent])",
    )
    statuses = {name: status for name, status, _, _ in rows}
    assert sorted([statuses["first.jpg"], statuses["second.jpg"]]) == ["duplicate", "stored"]
    assert statuses["notes.txt"] == "refused"
    assert all(value == 100 for name, _, value, _ in rows if name != "notes.txt")
    refused = next(text for name, _, _, text in rows if name == "notes.txt")
    assert "not a supported media type (.txt)" in refused

    # The grid holds the one stored file (the duplicate stored nothing), with its thumbnail.
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 1")
    tab.shot("explorer-after-upload")
    _require_thumbnail(tab, "#grid .card")
    width = page.eval_on_selector("#grid .card img", "i => i.naturalWidth")
    assert width > 0
    thumbs = [status for url, status, _ in tab.responses if "/thumbnails/" in url]
    assert thumbs and all(status == 200 for status in thumbs)
    tab.assert_clean()


def test_video_plays_seeks_with_range_and_downloads(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Browser Video")
    clip = make_video(tmp_path / "clip.mp4", size=(160, 120), seconds=3)
    upload(api, project, clip)
    tab.open(project)
    page = tab.page
    page.click("#grid .card[data-kind=video] button.open")
    page.wait_for_selector("#viewer[open] #viewer-stage video")
    result: dict[str, Any] = page.evaluate(
        """async () => {
            const v = document.querySelector('#viewer-stage video');
            v.muted = true;
            if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, {once: true}));
            const seeked = new Promise(r => v.addEventListener('seeked', r, {once: true}));
            v.currentTime = 1.5;
            await seeked;
            const after = v.currentTime;
            await v.play();
            await new Promise(r => setTimeout(r, 400));
            v.pause();
            return {after, playing: v.currentTime, duration: v.duration, error: v.error && v.error.code};
        }"""
    )
    assert result["error"] is None
    assert 2.9 <= result["duration"] <= 3.2
    assert abs(result["after"] - 1.5) < 0.15
    assert result["playing"] > result["after"]
    ranged = [
        s
        for url, s, _ in tab.responses
        if "/media/" in url and "clip.mp4" in url and "/download/" not in url
    ]
    assert 206 in ranged, ranged
    assert "SHA-256" in (page.text_content("#viewer-meta") or "")

    with page.expect_download() as pending:
        page.click("#viewer-download")
    download = pending.value
    assert download.suggested_filename == "clip.mp4"
    assert Path(download.path()).read_bytes() == clip.read_bytes()
    href = page.get_attribute("#viewer-download", "href") or ""
    assert "/download/" in href
    with api.stream("GET", href) as answer:  # the same URL outside the browser: an attachment
        assert answer.headers["content-disposition"].startswith("attachment")
    tab.shot("viewer-video", full_page=False)
    # Metadata arrives from the server's workers; the open viewer picks it up from live events.
    try:
        page.wait_for_function(
            "/h264/.test(document.getElementById('viewer-meta').textContent)", timeout=10_000
        )
    except sync_api_error() as exc:
        with tab.server.client() as client:
            item = listing(client, project)[0]
        assert item.get("video_codec") == "h264", (
            f"the server extracted no video metadata: {item.get('meta_status')}"
        )
        raise AssertionError("the server has the metadata but the viewer does not show it") from exc
    meta = page.text_content("#viewer-meta") or ""
    assert "160 × 120" in meta and "Duration" in meta
    page.click("#viewer-close")
    assert not page.is_visible("#viewer")
    tab.assert_clean()


def test_file_written_to_the_share_appears_live(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Browser Live")
    upload(api, project, make_jpeg(tmp_path / "already.jpg", variant=1))
    tab.open(project)
    page = tab.page
    page.wait_for_selector("#grid .card[data-path$='already.jpg']")
    assert page.text_content("#live-text") == "live"
    loads = len([u for u, _, _ in tab.responses if "/media?" in u])
    _copy_into(tab.server, project, make_jpeg(tmp_path / "dropped.jpg", variant=2))
    started = time.monotonic()
    page.wait_for_selector("#grid .card[data-path$='dropped.jpg']", timeout=20_000)
    seconds = time.monotonic() - started
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
    assert len([u for u, _, _ in tab.responses if "/media?" in u]) > loads
    print(f"file on disk -> card in the grid: {seconds:.2f} s")
    tab.shot("live-arrival")
    _require_thumbnail(tab, "#grid .card[data-path$='dropped.jpg']")
    tab.assert_clean()


def test_open_in_resolve_queues_a_job_the_panel_shows_and_cancels(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Browser Resolve")
    body = upload(api, project, make_jpeg(tmp_path / "grade.jpg", variant=3))
    tab.open(project)
    page = tab.page
    box = "#grid .card[data-path$='grade.jpg'] input[type=checkbox]"
    page.focus(box)
    page.keyboard.press("Space")  # keyboard reachable
    assert page.text_content("#selection-count") == "1 selected"
    page.click("#open-resolve")
    page.check("#resolve-form input[name=target][value=__new__]")
    page.fill("#resolve-new-name", "Grade Day")
    page.check("#resolve-form input[name=mode][value=import]")
    page.click("#resolve-submit")
    page.wait_for_function("/queued/.test(document.getElementById('resolve-message').textContent)")
    jobs = api.get("/api/resolve/jobs").json()["jobs"]
    (job,) = [j for j in jobs if j["project"] == project]  # `project` names the media's project
    assert job["media_rel_paths"] == [body["path"]]
    assert job["mode"] == "import"
    row = f"#job-list li[data-job='{job['id']}']"
    page.wait_for_selector(f"{row}[data-status=pending]")
    assert "Grade Day" in (page.text_content(row) or "")
    tab.shot("resolve-job")
    page.click(f"{row} button")
    page.wait_for_selector(f"#job-list li[data-job='{job['id']}'][data-status=canceled]")
    assert api.get(f"/api/resolve/jobs/{job['id']}").json()["status"] == "canceled"
    tab.assert_clean()


def test_phone_width_has_no_horizontal_scroll(
    phone: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Browser Phone With A Rather Long Project Name")
    for i in range(3):
        upload(api, project, make_jpeg(tmp_path / f"phone-{i}.jpg", variant=i + 1))
    phone.open(project)
    page = phone.page
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 3")
    fits = "document.documentElement.scrollWidth <= window.innerWidth"
    assert page.evaluate(fits), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    phone.shot("phone")
    page.click("#grid .card button.open")
    page.wait_for_selector("#viewer[open] #viewer-stage img")
    assert page.evaluate(fits)
    phone.shot("phone-viewer", full_page=False)
    phone.assert_clean()
