"""Browser fixtures: one real server and one headless Debian Chromium per module, a fresh tab per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.browser import Tab, chromium, new_tab
from tests.support.server import LiveServer, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("browser")
    with serving(base / "projects", base / "state") as live:
        yield live


@pytest.fixture
def browser() -> Iterator[Any]:
    """Per test: Playwright's event loop starts executor threads that only stop with it."""
    with chromium() as launched:
        yield launched


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
