"""One real `media-sync serve --no-watch` for the whole contract module, plus fresh ones on demand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer, serving

LIMIT_MB = 1  # small, so a 413 costs two mebibytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Shared by the tests that only add their own project (each uses a name of its own)."""
    base = tmp_path_factory.mktemp("contract")
    root = base / "projects"
    root.mkdir()
    env = {
        "MEDIA_SYNC_MAX_UPLOAD_MB": str(LIMIT_MB),
        # the tests register extra sources in their own tmp_path folders
        "MEDIA_SYNC_SOURCE_PARENTS": str(tmp_path_factory.getbasetemp()),
    }
    with serving(root, base / "state", args=["--no-watch"], env=env) as live:
        yield live


@pytest.fixture
def fresh(roots: tuple[Path, Path]) -> Iterator[LiveServer]:
    """A server of its own, for tests that leave the root in a state others must not see."""
    with serving(*roots, args=["--no-watch"]) as live:
        yield live
