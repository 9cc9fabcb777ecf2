"""One real `media-sync serve --no-watch` for the whole contract module (tests that leave the
root in a state others must not see take ``quiet_server``, a server of their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import LiveServer, serving

LIMIT_MB = 1  # small, so a 413 costs two mebibytes


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Shared by the tests that only add their own project (each uses a name of its own)."""
    base = tmp_path_factory.mktemp("contract")
    env = {
        "MEDIA_SYNC_MAX_UPLOAD_MB": str(LIMIT_MB),
        # the tests register extra sources in their own tmp_path folders
        "MEDIA_SYNC_SOURCE_PARENTS": str(tmp_path_factory.getbasetemp()),
    }
    with serving(base / "projects", base / "state", args=["--no-watch"], env=env) as live:
        yield live
