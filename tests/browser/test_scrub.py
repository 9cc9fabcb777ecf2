"""Scrub strips and browser previews in a real headless Chromium: frames while the pointer moves
across a video card, a filmstrip in the viewer, and an HEVC clip played from its H.264 preview."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import make_video
from tests.support.api import create_project, upload
from tests.support.browser import Tab
from tests.support.server import LiveServer, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Only the tests change the files here: no watcher."""
    base = tmp_path_factory.mktemp("scrub")
    with serving(base / "projects", base / "state", args=["--no-watch"]) as live:
        yield live


def scrub_state(tab: Tab) -> str | None:
    value: str | None = tab.page.eval_on_selector(
        "#grid .card[data-kind=video]", "card => card.dataset.scrub ?? null"
    )
    return value


def test_hovering_a_video_card_shows_its_frames(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Scrub Hover")
    clip = make_video(tmp_path / "walk.mp4", size=(64, 48), seconds=5, fps=10)
    sha256 = upload(api, project, clip)["sha256"]
    tab.open(project)
    page = tab.page
    button = page.locator("#grid .card[data-kind=video] button.open")
    button.wait_for()
    box = button.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "document.querySelector('#grid .card[data-kind=video]').dataset.scrub === '0'"
    )
    frame: dict[str, Any] = page.eval_on_selector(
        "#grid .card .scrub-frame",
        """f => ({hidden: f.hidden, image: getComputedStyle(f).backgroundImage,
                 width: f.getBoundingClientRect().width})""",
    )
    assert not frame["hidden"] and f"/scrub/{project}/{sha256}.jpg" in frame["image"]
    assert frame["width"] >= box["width"] - 1  # covers the card's picture
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "document.querySelector('#grid .card[data-kind=video]').dataset.scrub === '2'"
    )
    position = page.eval_on_selector("#grid .card .scrub-frame", "f => f.style.backgroundPosition")
    assert position.startswith("-")  # the third tile, right of the first in the sprite
    tab.shot("scrub-hover", full_page=False)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 40)  # off the card
    page.wait_for_function(
        "document.querySelector('#grid .card[data-kind=video]').dataset.scrub === undefined"
    )
    sprites = [s for url, s, _ in tab.responses if f"/scrub/{project}/{sha256}.jpg" in url]
    assert sprites and all(status == 200 for status in sprites)
    tab.assert_clean()


def test_hevc_plays_from_its_preview_with_a_filmstrip(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Scrub HEVC")
    clip = make_video(tmp_path / "phone.mov", codec="hevc", size=(64, 48), seconds=4, fps=10)
    sha256 = upload(api, project, clip)["sha256"]
    tab.open(project)
    page = tab.page
    hevc_probe = page.evaluate(
        "document.createElement('video').canPlayType('video/mp4; codecs=\"hvc1.1.6.L120.90\"')"
    )
    assert hevc_probe != "probably"  # Debian's Chromium: this clip needs the preview
    page.click("#grid .card[data-kind=video] button.open")
    page.wait_for_selector("#viewer[open] #viewer-stage video[data-preview=ready]")
    assert "Playing a preview" in (page.text_content("#viewer-note") or "")
    played: dict[str, Any] = page.evaluate(
        """async () => {
            const v = document.querySelector('#viewer-stage video');
            if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, {once: true}));
            return {width: v.videoWidth, height: v.videoHeight, duration: v.duration,
                    src: v.currentSrc, error: v.error && v.error.code};
        }"""
    )
    assert played["error"] is None
    assert (played["width"], played["height"]) == (64, 48)
    assert 3.8 <= played["duration"] <= 4.2
    assert f"/previews/{project}/{sha256}.mp4" in played["src"]
    ranged = [s for url, s, _ in tab.responses if f"/previews/{project}/{sha256}.mp4" in url]
    assert 206 in ranged, ranged
    buttons = page.locator("#viewer-stage .filmstrip button")
    buttons.first.wait_for()
    assert buttons.count() == 2  # one tile every 2 s of a 4 s clip
    buttons.last.click()
    page.wait_for_function(
        "Math.abs(document.querySelector('#viewer-stage video').currentTime - 2) < 0.2"
    )
    tab.shot("preview-viewer", full_page=False)
    page.click("#viewer-close")
    tab.assert_clean()
