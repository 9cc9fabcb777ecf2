"""Debian's Chromium driven by Playwright: launching it, and a tab that records what went wrong."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.server import REPO, LiveServer

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


@contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    """A headless Chromium (Playwright's browser object), closed at the end of the block."""
    from playwright import sync_api  # a dev dependency: missing it is a failure, not a skip

    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run installs it)"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


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


def new_tab(browser: Any, server: LiveServer, **context_args: Any) -> Iterator[Tab]:
    """A fresh browser context with one page on ``server``; a generator, for fixtures."""
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
