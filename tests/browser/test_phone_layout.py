"""The page on a phone (390x844, an iPhone 12-15) in a real Chromium: upload on the first screen,
diagnostics behind the status badge, the last used project remembered, the new-project hint."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_jpeg
from tests.support.api import create_project, upload
from tests.support.browser import Tab, new_tab
from tests.support.server import LiveServer
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser

SCREEN = {"width": 390, "height": 844}
DIAGNOSTICS = ("#status-facts", "#lan-url", "#status-sources", "#source-list", "#help-snippets")


@pytest.fixture
def phone3x(browser: Any, server: LiveServer) -> Iterator[Tab]:
    """An iPhone 12-15 sized touch screen at its real pixel density."""
    yield from new_tab(
        browser,
        server,
        viewport=SCREEN,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
    )


def _box(tab: Tab, selector: str) -> dict[str, float]:
    box: dict[str, float] | None = tab.page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box


def _on_first_screen(tab: Tab, selector: str) -> None:
    box = _box(tab, selector)
    assert box["width"] > 0 and box["height"] > 0, (selector, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"], (selector, box)


def _chosen(tab: Tab) -> str:
    value: str = tab.page.eval_on_selector("#project-select", "s => s.value")
    return value


def test_first_screen_is_upload_and_diagnostics_wait_behind_the_badge(
    phone3x: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    older = create_project(api, "Phone Busy")
    time.sleep(1.1)  # activity times have seconds precision
    newer = create_project(api, "Phone Empty")  # the highest number, and empty
    time.sleep(1.1)
    upload(api, older, make_jpeg(tmp_path / "busy.jpg", variant=4))  # the newest activity
    phone3x.open()  # a fresh browser: nothing remembered, no project in the URL
    page = phone3x.page
    page.wait_for_function("document.getElementById('project-select').value !== ''")
    assert _chosen(phone3x) == older, (
        f"opened on {_chosen(phone3x)}, not {older} ({newer} is empty)"
    )
    page.wait_for_selector("#grid .card[data-path$='busy.jpg']")
    assert page.evaluate("window.scrollY") == 0
    _on_first_screen(phone3x, "#project-select")
    _on_first_screen(phone3x, "#upload-button")
    assert _box(phone3x, "#upload-button")["height"] >= 44  # a thumb-sized target
    # the explorer comes next, before the project list and Resolve
    assert _box(phone3x, "#explorer")["y"] > _box(phone3x, "#upload-button")["y"]
    assert _box(phone3x, "#projects")["y"] > _box(phone3x, "#explorer")["y"]
    assert _box(phone3x, "#resolve")["y"] > _box(phone3x, "#explorer")["y"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone3x.shot("phone-first-screen", full_page=False)

    for selector in DIAGNOSTICS:
        assert not page.is_visible(selector), f"{selector} shows before the badge is tapped"
    page.tap("#status-badge")
    page.wait_for_selector("#status-sheet[open]")
    for selector in ("#status-facts", "#lan-url", "#status-sources"):
        page.wait_for_selector(selector, state="visible")
    page.wait_for_function("document.getElementById('lan-url').textContent.startsWith('http')")
    assert "Version" in (page.text_content("#status-facts") or "")
    assert page.get_attribute("#status-badge", "aria-expanded") == "true"
    phone3x.shot("phone-status-sheet", full_page=False)
    page.tap("#status-close")
    page.wait_for_selector("#status-sheet", state="hidden")
    for selector in DIAGNOSTICS:
        assert not page.is_visible(selector)
    phone3x.assert_clean()


def test_the_last_used_project_is_remembered_across_a_reload(
    phone3x: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    first = create_project(api, "Phone Remember One")
    second = create_project(api, "Phone Remember Two")
    time.sleep(1.1)
    upload(api, second, make_jpeg(tmp_path / "recent.jpg", variant=5))  # the most recent activity
    phone3x.open()
    page = phone3x.page
    page.wait_for_function(f"document.getElementById('project-select').value === '{second}'")
    page.select_option("#project-select", first)
    page.wait_for_function(f"location.hash === '#project={first}'")
    page.goto(phone3x.server.url + "/")  # no project in the URL: only localStorage knows
    page.wait_for_function("document.getElementById('live-text').textContent === 'live'")
    page.wait_for_function("document.getElementById('project-select').value !== ''")
    assert _chosen(phone3x) == first
    assert page.text_content("#current-project") == first
    page.reload()
    page.wait_for_function("document.getElementById('project-select').value !== ''")
    assert _chosen(phone3x) == first
    phone3x.assert_clean()


def _hint(tab: Tab) -> tuple[bool, str, str]:
    page = tab.page
    return (
        page.is_visible("#name-hint"),
        page.text_content("#rule-example-out") or "",
        page.text_content("#name-exists") or "",
    )


def test_new_project_hint_says_exists_only_for_an_existing_name(
    phone3x: Tab, api: httpx.Client
) -> None:
    existing = create_project(api, "Café Night")  # typed below in a Mac's decomposed spelling
    names = [p["name"] for p in api.get("/api/projects").json()]
    numbers = [int(m.group(1)) for n in names if (m := re.match(r"P(\d+)-", n))]
    phone3x.open(existing)
    page = phone3x.page
    page.tap("#new-project")
    page.wait_for_function("document.activeElement === document.getElementById('new-name')")
    assert _hint(phone3x) == (False, "", "")  # nothing before typing
    page.fill("#new-name", "Beach Day 2026")
    assert _hint(phone3x) == (True, f"P{max(numbers) + 1}-Beach-Day-2026", "")
    page.fill("#new-name", "  cafe\u0301   NIGHT ")  # NFD, other case, extra spaces
    visible, name, exists = _hint(phone3x)
    assert (visible, name) == (True, existing) and "already exists" in exists
    page.fill("#new-name", existing)
    assert "already exists" in _hint(phone3x)[2]
    page.fill("#new-name", "Café Nights")
    assert _hint(phone3x)[2] == ""
    page.fill("#new-name", "")
    assert _hint(phone3x) == (False, "", "")
    phone3x.assert_clean()


def test_upload_through_the_first_screen_button_lands_on_disk(
    phone3x: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Phone Upload")
    photo = make_jpeg(tmp_path / "from-phone.jpg", variant=6)
    phone3x.open(project)
    page = phone3x.page
    _on_first_screen(phone3x, "#upload-button")
    with page.expect_file_chooser() as chooser:
        page.tap("#upload-button")
    chooser.value.set_files(str(photo))
    page.wait_for_selector("#upload-list li[data-name='from-phone.jpg'][data-status=stored]")
    _on_first_screen(phone3x, "#upload-list li[data-name='from-phone.jpg'] progress")
    landed = phone3x.server.root / project / "ingest" / "originals" / "from-phone.jpg"
    assert landed.read_bytes() == photo.read_bytes()
    page.wait_for_selector("#grid .card[data-path$='from-phone.jpg']")
    phone3x.shot("phone-after-upload", full_page=False)
    phone3x.assert_clean()


def test_a_folder_that_is_not_a_project_is_adopted_after_a_dry_run(
    phone3x: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    made = tmp_path / "Holiday Clips"
    made.mkdir()
    for i in range(2):
        make_jpeg(made / f"beach-{i}.jpg", variant=20 + i)
    folder = phone3x.server.root / "Holiday Clips"
    shutil.move(made, folder)  # a folder copied onto the share by hand, not named P{n}-...
    phone3x.open()
    page = phone3x.page
    page.wait_for_selector("#unadopted-banner", state="visible")
    banner = page.text_content("#unadopted-banner-text") or ""
    assert banner == "2 media files in folder Holiday Clips are not in any project.", banner
    _on_first_screen(phone3x, "#upload-button")  # the banner is small
    page.tap("#unadopted-review")
    row = "#folder-list li[data-folder='Holiday Clips']"
    page.wait_for_selector(row, state="visible")
    page.tap(f"{row} button:has-text('Adopt as project')")
    preview = page.wait_for_selector(f"{row} [data-preview]")
    project = preview.get_attribute("data-preview") or ""
    assert re.fullmatch(r"P\d+-Holiday-Clips", project), project
    assert preview.text_content() == f"will become {project}, 2 files"
    assert folder.is_dir() and not (phone3x.server.root / project).exists()  # a dry run
    phone3x.shot("phone-adopt-preview", full_page=False)
    page.tap(f"{row} button.primary")
    page.wait_for_function(
        "t => document.getElementById('folder-message').textContent.startsWith(t)",
        arg=f"Adopted Holiday Clips as {project}",
    )
    assert page.is_visible("#folder-message")
    assert not folder.exists()
    assert sorted(p.name for p in (phone3x.server.root / project).rglob("beach-*.jpg")) == [
        "beach-0.jpg",
        "beach-1.jpg",
    ]
    page.wait_for_selector("#unadopted-banner", state="hidden")
    page.tap("#status-close")
    page.wait_for_function(f"document.getElementById('project-select').value === '{project}'")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 2")
    phone3x.assert_clean()


def _steps_once(api: httpx.Client, project: str, sha256: str, done: str) -> list[dict[str, Any]]:
    """The file's timeline from the server once it has the step ``done`` (thumbnail: made or
    failed), so the viewer opened next has nothing more to wait for."""

    def ready() -> list[dict[str, Any]]:
        answer = api.get(f"/api/projects/{project}/media/{sha256}/timeline")
        assert answer.status_code == 200, answer.text
        steps: list[dict[str, Any]] = answer.json()["steps"]
        return steps if any(s["step"] == done for s in steps) else []

    return wait_until(ready, 30, what=f"the {done} step of {sha256[:12]}")


def _shown_steps(tab: Tab, count: int) -> list[dict[str, Any]]:
    tab.page.wait_for_function(
        "n => document.querySelectorAll('#viewer-timeline li').length === n", arg=count
    )
    shown: list[dict[str, Any]] = tab.page.eval_on_selector_all(
        "#viewer-timeline li",
        """items => items.map(li => ({
            step: li.dataset.step, ok: li.dataset.ok === 'true', text: li.textContent,
            color: getComputedStyle(li).color, failed: li.classList.contains('failed')}))""",
    )
    return shown


def test_the_viewer_shows_the_ingest_timeline_with_failures_in_red(
    phone3x: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Phone Timeline")
    good = upload(api, project, make_jpeg(tmp_path / "steps.jpg", variant=7))
    (tmp_path / "broken.jpg").write_bytes(bytes(range(256)) * 16)  # named .jpg, not a JPEG
    broken = upload(api, project, tmp_path / "broken.jpg")
    expected = _steps_once(api, project, good["sha256"], "thumbnail")
    phone3x.open(project)
    page = phone3x.page
    page.tap("#grid .card[data-path$='steps.jpg'] button.open")
    page.wait_for_selector("#viewer[open]")
    shown = _shown_steps(phone3x, len(expected))
    assert [s["step"] for s in shown] == [s["step"] for s in expected]
    assert shown[0]["step"] == "arrived" and "upload from 127.0.0.1" in shown[0]["text"]
    assert "stored" in [s["step"] for s in shown]
    assert all(s["ok"] and not s["failed"] for s in shown), shown
    phone3x.shot("phone-viewer-timeline", full_page=False)
    page.tap("#viewer-close")

    failing = [s for s in _steps_once(api, project, broken["sha256"], "thumbnail") if not s["ok"]]
    assert failing, "a file no decoder reads has a failed step"
    page.tap("#grid .card[data-path$='broken.jpg'] button.open")
    page.wait_for_selector("#viewer[open]")
    red = page.eval_on_selector(
        "body",
        "b => { const p = document.createElement('p'); p.className = 'bad'; b.append(p);"
        " const c = getComputedStyle(p).color; p.remove(); return c; }",
    )
    page.wait_for_selector("#viewer-timeline li.failed")
    shown = [
        s
        for s in _shown_steps(
            phone3x, page.eval_on_selector_all("#viewer-timeline li", "l => l.length")
        )
        if s["failed"]
    ]
    assert [s["step"] for s in shown] == [s["step"] for s in failing]
    assert all(s["color"] == red for s in shown), (shown, red)
    assert all(f["detail"] in s["text"] for s, f in zip(shown, failing, strict=True))
    # clean but for the broken file's own thumbnail, which cannot exist (its card shows the icon)
    assert not phone3x.server_errors(), phone3x.server_errors()
    assert all(broken["sha256"] in url for url in phone3x.broken_thumbnails())
    assert all("404" in error for error in phone3x.errors), phone3x.errors
