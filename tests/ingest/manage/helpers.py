"""Helpers for the media-management tests: source media in the test's own folder, catalog rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.catalog import files
from daemon.catalog.files import FileRecord
from tests.factories import make_jpeg, make_video


def jpeg(tmp_path: Path, name: str, variant: int = 0) -> Path:
    return make_jpeg(tmp_path / "src" / str(variant) / name, variant=variant)


def video(tmp_path: Path, name: str, variant: int = 0) -> Path:
    return make_video(tmp_path / "src" / f"v{variant}" / name, variant=variant)


def rows(client: TestClient[Any], source: str, project: str) -> dict[str, FileRecord]:
    """The catalog's files of a project, read through the app's own catalog."""
    return files.in_project(client.app.state.library.catalog, source, project)
