"""Helpers for the media-management tests: projects, real uploads, on-disk journals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from daemon.catalog import File
from tests.factories import make_jpeg, make_video


def new_project(client: TestClient[Any], name: str) -> str:
    response = client.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    project: str = response.json()["name"]
    return project


def upload(client: TestClient[Any], project: str, path: Path) -> dict[str, Any]:
    response = client.post(
        f"/api/projects/{project}/upload", files={"file": (path.name, path.read_bytes())}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def jpeg(tmp_path: Path, name: str, variant: int = 0) -> Path:
    return make_jpeg(tmp_path / "src" / str(variant) / name, variant=variant)


def video(tmp_path: Path, name: str, variant: int = 0) -> Path:
    return make_video(tmp_path / "src" / f"v{variant}" / name, variant=variant)


def rows(source: str, project: str) -> dict[str, File]:
    query = File.select().where((File.source == source) & (File.project == project))
    return {row.rel_path: row for row in query}


def index_entries(folder: Path) -> dict[str, dict[str, Any]]:
    document = json.loads((folder / "index.json").read_text())
    return {entry["relative_path"]: entry for entry in document["files"]}


def jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events(folder: Path) -> list[dict[str, Any]]:
    return jsonl(folder / "_manifest" / "events.jsonl")
