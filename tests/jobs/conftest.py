"""Fixtures for the Resolve queue tests: a real project with real files, and small helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from ingress.app import create_app
from tests.support.api import create_project
from tests.support.env import settings_for
from tests.support.postgres import ENGINES

CLIPS = ("clip-a.mp4", "clip-b.mov", "still.jpg")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """These tests run on both catalog engines, sqlite and PostgreSQL."""
    return str(request.param)


def project_with_clips(http: httpx.Client, root: Path, name: str = "Foo") -> str:
    """Create a project through the API and put real bytes into its originals (``CLIPS``)."""
    folder = create_project(http, name)
    originals = root / folder / "ingest" / "originals"
    for index, clip in enumerate(CLIPS):
        (originals / clip).write_bytes(f"{folder}:{clip}".encode() * (index + 1))
    return folder


def open_body(project: str, *clips: str, **extra: Any) -> dict[str, Any]:
    """The body of `POST /api/resolve/open` for `clips` (default: the first) of `project`."""
    paths = [f"ingest/originals/{clip}" for clip in (clips or CLIPS[:1])]
    return {"project": project, "media_rel_paths": paths, "mode": "import", **extra}


def opened(response: httpx.Response, *, created: bool = True) -> dict[str, Any]:
    """The job of a `POST /api/resolve/open` answer, after checking the original's envelope:
    200 `{ok: true, job_id, created, job, instructions}`."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["ok"] is True and body["created"] is created
    job: dict[str, Any] = body["job"]
    assert body["job_id"] == job["id"]
    assert body["instructions"]
    return job


def acted(response: httpx.Response) -> dict[str, Any]:
    """The job of a 200 queue-action answer (`{ok: true, ...job}`), without the `ok` flag."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body.pop("ok") is True
    return body


@pytest.fixture
def project(client: TestClient[Any], roots: tuple[Path, Path]) -> str:
    return project_with_clips(client, roots[0])


@pytest.fixture
def short_lease_client(roots: tuple[Path, Path]) -> Iterator[TestClient[Any]]:
    """A client whose claims last 0.5 s and whose jobs get two attempts."""
    settings = settings_for(
        *roots, MEDIA_SYNC_RESOLVE_LEASE_SECONDS="0.5", MEDIA_SYNC_RESOLVE_MAX_ATTEMPTS="2"
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client
