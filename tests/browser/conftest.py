"""Browser fixtures: one real server and one headless Debian Chromium per module, a fresh tab per test."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.server import REPO, LiveServer, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"


@dataclass
class Tab:
    """A page with what it logged: console errors, page errors, and the HTTP answers it got."""

    page: Any
    server: LiveServer
    errors: list[str] = field(default_factory=list)
    responses: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)

    def open(self, project: str = "") -> None:
        self.page.goto(self.server.url + "/" + (f"#project={project}" if project else ""))
        self.page.wait_for_function("document.getElementById('live-text').textContent === 'live'")

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if full_page:
            self.page.evaluate("window.scrollTo(0, 0)")  # sticky bars render in place
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def broken_thumbnails(self) -> list[str]:
        return [
            f"{status} {url}"
            for url, status, _ in self.responses
            if "/thumbnails/" in url and status >= 400
        ]

    def server_errors(self) -> list[str]:
        return [f"{status} {url}" for url, status, _ in self.responses if status >= 500]

    def assert_clean(self) -> None:
        """No console errors and no 5xx answers: a failing server fails the test, never xfails it."""
        assert not self.server_errors(), f"server errors: {self.server_errors()}"
        assert not self.broken_thumbnails(), f"broken thumbnails: {self.broken_thumbnails()}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("browser")
    root = base / "projects"
    root.mkdir()
    live = start_server(root, base / "state")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's event loop starts executor threads that only stop with it."""
    from playwright import sync_api  # a dev dependency: missing it is a failure, not a skip

    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run installs it)"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def new_tab(browser: Any, server: LiveServer, **context_args: Any) -> Iterator[Tab]:
    context = browser.new_context(accept_downloads=True, **context_args)
    page = context.new_page()
    page.set_default_timeout(15_000)
    tab = Tab(page, server)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))
    page.on("response", lambda r: tab.responses.append((r.url, r.status, r.headers)))
    try:
        yield tab
    finally:
        context.close()  # closes the EventSource before the module's server stops


@pytest.fixture
def tab(browser: Any, server: LiveServer) -> Iterator[Tab]:
    yield from new_tab(browser, server, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone(browser: Any, server: LiveServer) -> Iterator[Tab]:
    yield from new_tab(
        browser,
        server,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
    )


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


# ---- real media made by code ----


def jpeg_bytes(
    size: tuple[int, int] = (320, 200),
    color: tuple[int, int, int] = (200, 40, 40),
    noise: bool = False,
) -> bytes:
    """A real JPEG; with noise=True it is large (about 1 MB at 800x800) and unique."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def write_jpeg(path: Path, **kwargs: Any) -> Path:
    path.write_bytes(jpeg_bytes(**kwargs))
    return path


def write_video(path: Path, seconds: int = 3, fps: int = 10) -> Path:
    """A small H.264 MP4 (Debian's Chromium plays it) made with PyAV's bundled libx264."""
    import av

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(seconds * fps):
            image = Image.new("RGB", (160, 120), (i * 7 % 256, 90, 200 - i * 3 % 200))
            frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def create_project(api: httpx.Client, name: str) -> str:
    answer = api.post("/api/projects", json={"name": name})
    assert answer.status_code == 201, answer.text  # 201 for created and for an existing name
    project: str = answer.json()["name"]
    return project


def upload(api: httpx.Client, project: str, path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        answer = api.post(f"/api/projects/{project}/upload", files={"file": (path.name, handle)})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def listing(api: httpx.Client, project: str, **params: str) -> list[dict[str, Any]]:
    """Every media item of a project (no limit: the server answers them all)."""
    answer = api.get(f"/api/projects/{project}/media", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["media"]
    return items


def copy_into(server: LiveServer, project: str, source: Path) -> Path:
    """Put a file on the share the way a person would: written elsewhere, then moved in."""
    target = server.root / project / "ingest" / "originals" / source.name
    shutil.move(str(source), str(target))
    return target
